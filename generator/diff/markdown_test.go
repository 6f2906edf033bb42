package diff_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/nuvla/nuvlagen/generator/diff"
	"github.com/nuvla/nuvlagen/generator/firewall"
)

// TestMarkdownBudget: a change far over a comment's size (every line of
// every script and README changed, in every site) comes out within the
// budget, with the headline and every risk, a line saying what was left
// out and the command that shows all; the sections go before the tables,
// the text diffs before the sections.
func TestMarkdownBudget(t *testing.T) {
	old := tree(t)
	new := clone(old)
	for p, b := range new {
		if strings.HasSuffix(p, ".sh") || strings.HasSuffix(p, "README.md") {
			new[p] = bytes.ReplaceAll(b, []byte("\n"), []byte(" # changed\n"))
		}
	}
	// Risks: a port open to users on every node of a target, an NFS
	// client gone.
	rules := "example-target/firewall/" + firewall.RulesFile
	tb, err := firewall.ParseRuleTable(new[rules])
	if err != nil {
		t.Fatal(err)
	}
	for i := range tb.Nodes {
		tb.Nodes[i].Rules = append(tb.Nodes[i].Rules, firewall.TableRule{Name: "console", Service: "minio-console", Proto: "tcp",
			Ports: []firewall.Span{{From: 9000, To: 9000}}, From: []firewall.TableSource{{Class: firewall.Users, CIDRs: []string{"0.0.0.0/0"}}}})
	}
	new[rules] = tb.Marshal()
	exports := "example-target/nfs/exports"
	new[exports] = bytes.Replace(new[exports], []byte(" \\\n\t203.0.113.12(ro,sync,no_subtree_check)"), nil, 1)

	r := diff.Compare(old, new)
	if len(r.Risks) != 2 {
		t.Fatalf("risks: %+v", r.Risks)
	}
	var whole bytes.Buffer
	if err := diff.WriteMarkdown(&whole, r, diff.Budget{}); err != nil {
		t.Fatal(err)
	}
	const budget = diff.CommentChars
	if whole.Len() < 3*budget {
		t.Fatalf("the change is %d bytes of Markdown: not huge enough to test the budget", whole.Len())
	}
	var b bytes.Buffer
	if err := diff.WriteMarkdown(&b, r, diff.Budget{Chars: budget, Command: "nuvlagen diff --base 1a2b3c"}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if b.Len() > budget {
		t.Errorf("%d bytes, over the budget of %d", b.Len(), budget)
	}
	for _, rk := range r.Risks {
		if text := strings.ReplaceAll(rk.Text, "_", `\_`); !strings.Contains(out, text) {
			t.Errorf("risk left out: %s", rk.Text)
		}
	}
	if !strings.Contains(out, "_Left out to fit a comment: 28 text diffs (example-host/README.md, example-host/deploy.sh, ") || !strings.Contains(out, "Everything: `nuvlagen diff --base 1a2b3c`._") {
		t.Errorf("no line says what was left out:\n%s", out)
	}
	// Text diffs go first: the firewall's sections and the tables stay.
	if strings.Contains(out, "```diff") && strings.Contains(out, "sections (") {
		t.Errorf("a section left out while a text diff stays")
	}
	if !strings.Contains(out, "<summary>firewall of <code>target-manager-1</code>") || !strings.Contains(out, "| ➕ | firewall of target-manager-1 |") {
		t.Errorf("the firewall's section or the table left out:\n%s", out)
	}
	// A budget nothing fits: everything but the headline and the risks
	// goes, and they stay.
	var tiny bytes.Buffer
	if err := diff.WriteMarkdown(&tiny, r, diff.Budget{Chars: 1}); err != nil {
		t.Fatal(err)
	}
	for _, rk := range r.Risks {
		if text := strings.ReplaceAll(rk.Text, "_", `\_`); !strings.Contains(tiny.String(), text) {
			t.Errorf("budget 1: risk left out: %s", rk.Text)
		}
	}
	if strings.Contains(tiny.String(), "<details>") || strings.Contains(tiny.String(), "|---|") || !strings.HasPrefix(tiny.String(), "## nuvlagen diff: 3 sites") {
		t.Errorf("budget 1: details or tables kept, or no title:\n%s", tiny.String())
	}
	// Within budget already: nothing left out.
	var small bytes.Buffer
	if err := diff.WriteMarkdown(&small, r, diff.Budget{Chars: whole.Len()}); err != nil {
		t.Fatal(err)
	}
	if small.String() != whole.String() {
		t.Errorf("a report within its budget is not written whole")
	}
}

// TestSiteAddedHeadline: a site added or removed whole names its nodes.
func TestSiteAddedHeadline(t *testing.T) {
	all := tree(t)
	without := clone(all)
	for p := range without {
		if strings.HasPrefix(p, "example-target/") {
			delete(without, p)
		}
	}
	for _, c := range []struct {
		old, new map[string][]byte
		want     string
	}{
		{without, all, "nodes target-manager-1, target-worker-1 and target-worker-2 added"},
		{all, without, "nodes target-manager-1, target-worker-1 and target-worker-2 removed"},
	} {
		old, new := c.old, c.new
		r := diff.Compare(old, new)
		var got []string
		for _, s := range r.Sites {
			got = append(got, s.Name+": "+s.Headline())
		}
		if len(got) != 1 || got[0] != "example-target: "+c.want {
			t.Errorf("headlines %q, want example-target: %s", got, c.want)
		}
	}
}
