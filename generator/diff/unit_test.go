package diff

import (
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nuvla/nuvlagen/generator/firewall"
)

func TestCompareVersions(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
		ok   bool
	}{
		{"6.18.0", "6.19.0", -1, true},
		{"v3.3.6", "v3.3.5", 1, true},
		{"2.50.0", "2.50", 0, true},
		{"16-alpine", "15-alpine", 1, true},
		{"16-alpine", "15", 0, false},
		{"latest", "6.18.0", 0, false},
		{"8.11.3.0", "8.11.10.0", -1, true},
	} {
		got, ok := compareVersions(c.a, c.b)
		if got != c.want || ok != c.ok {
			t.Errorf("compareVersions(%q, %q) = %d, %v; want %d, %v", c.a, c.b, got, ok, c.want, c.ok)
		}
	}
}

func TestImageChange(t *testing.T) {
	for _, c := range []struct {
		old, new, want string
		down           bool
	}{
		{"nuvla/api:6.18.0", "nuvla/api:6.19.0", "image nuvla/api 6.18.0 → 6.19.0", false},
		{"nuvla/ui:2.50.0", "nuvla/ui:2.49.3", "image nuvla/ui 2.50.0 → 2.49.3 (downgrade)", true},
		{"registry:5000/x", "registry:5000/x:1", "image registry:5000/x latest → 1", false},
		{"nuvla/job:5.1.4", "r.example.org/nuvla/job:5.1.4", "image nuvla/job:5.1.4 → r.example.org/nuvla/job:5.1.4", false},
		{"a@sha256:00", "a@sha256:11", "image a sha256:00 → sha256:11", false},
	} {
		got, down := imageChange(c.old, c.new)
		if got != c.want || down != c.down {
			t.Errorf("imageChange(%q, %q) = %q, %v; want %q, %v", c.old, c.new, got, down, c.want, c.down)
		}
	}
}

// TestParseExports: exports.Parse reads the file; the differ keys its
// clients by host, with the line's defaults before a client's options.
func TestParseExports(t *testing.T) {
	got, err := parseExports([]byte("# header\n/srv  a(rw,sync) \\\n  b(ro)   # comment\n\"/data\" (ro) c\n/opt -ro,sync d(no_root_squash) e\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := exportTable{"/srv": {"a": "rw,sync", "b": "ro"}, "/data": {"*": "ro", "c": ""}, "/opt": {"d": "ro,sync,no_root_squash", "e": "ro,sync"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	for _, bad := range []string{"srv a(rw)\n", "/srv a(rw\n", "/srv\n"} {
		if _, err := parseExports([]byte(bad)); err == nil {
			t.Errorf("parseExports(%q): no error", bad)
		}
	}
}

// rulesJSON prints a rule table of node n1 with one rule per entry:
// name, proto, ports, class and CIDRs.
func rulesJSON(rules ...firewall.TableRule) []byte {
	return (&firewall.RuleTable{Generated: "test", Site: "s", Nodes: []firewall.TableNode{{Name: "n1", Rules: rules}}}).Marshal()
}

func rule(class string, port int, cidrs ...string) firewall.TableRule {
	return firewall.TableRule{Name: "r", Service: "svc", Proto: "tcp", Ports: []firewall.Span{{From: port, To: port}}, From: []firewall.TableSource{{Class: class, CIDRs: cidrs}}}
}

// TestReadRules: a rule becomes one entry per port and class; rules that
// open the same port to the same class merge their sources.
func TestReadRules(t *testing.T) {
	r := firewall.TableRule{Name: "e", Service: "eph", Proto: "tcp", Ports: []firewall.Span{{From: 22, To: 22}, {From: 32768, To: 60999}},
		From: []firewall.TableSource{{Class: "management", CIDRs: []string{"10.0.0.0/8"}}, {Class: "users", CIDRs: []string{"0.0.0.0/0"}}}}
	got, err := readRules(rulesJSON(r, rule("management", 22, "192.0.2.0/24")))
	if err != nil {
		t.Fatal(err)
	}
	mgmt := map[string]bool{"10.0.0.0/8": true, "192.0.2.0/24": true}
	e, both := map[string]bool{"e": true}, map[string]bool{"e": true, "r": true}
	want := fwTable{"n1": {
		"22/tcp from management":          {Service: "eph", Names: both, Sources: mgmt},
		"22/tcp from users":               {Service: "eph", Names: e, Sources: map[string]bool{"0.0.0.0/0": true}},
		"32768-60999/tcp from management": {Service: "eph", Names: e, Sources: map[string]bool{"10.0.0.0/8": true}},
		"32768-60999/tcp from users":      {Service: "eph", Names: e, Sources: map[string]bool{"0.0.0.0/0": true}},
	}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	// A file in another format is not read as "no rules".
	if _, err := readRules([]byte("| node | port | sources |\n|---|---|---|\n")); err == nil {
		t.Error("a Markdown table: no error")
	}
}

func TestFirewallExposure(t *testing.T) {
	ssh := rule("management", 22, "10.0.0.0/8")
	old := rulesJSON(ssh)
	for _, c := range []struct {
		name  string
		new   []byte
		risks int
	}{
		{"to users", rulesJSON(ssh, rule("users", 9000, "192.0.2.0/24")), 1},
		{"to anywhere", rulesJSON(ssh, rule("cluster", 9000, "0.0.0.0/0")), 1},
		{"management widened to anywhere", rulesJSON(rule("management", 22, "10.0.0.0/8", "0.0.0.0/0")), 1},
		{"management widened", rulesJSON(rule("management", 22, "10.0.0.0/8", "10.1.0.0/16")), 0},
		// More than a /8 is anywhere, however it is split: one change of
		// the class's addresses.
		{"management widened to halves", rulesJSON(rule("management", 22, "10.0.0.0/8", "0.0.0.0/1", "128.0.0.0/1")), 1},
		{"to halves", rulesJSON(ssh, rule("cluster", 9000, "0.0.0.0/1", "128.0.0.0/1")), 1},
		{"to two /8s", rulesJSON(ssh, rule("cluster", 9000, "10.0.0.0/8", "11.0.0.0/8")), 1},
		{"to a /8", rulesJSON(ssh, rule("cluster", 9000, "11.0.0.0/8")), 0},
		{"closed", rulesJSON(), 0},
	} {
		changes, err := diffFirewall("firewall/rules.json", old, c.new)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ch := range changes {
			if ch.Risk == RiskExposure {
				n++
			}
		}
		if n != c.risks || len(changes) == 0 {
			t.Errorf("%s: %d exposure risks in %+v, want %d", c.name, n, changes, c.risks)
		}
	}
}

// TestPortsByRules: with a rule table on both sides, the firewall section
// lists its changes and PORTS.md and rules.json are not listed; without
// rules.json on a side, PORTS.md is text.
func TestPortsByRules(t *testing.T) {
	ports := func(s string) []byte { return []byte("# Firewall\n" + s + "\n") }
	old := map[string][]byte{"s/firewall/PORTS.md": ports("a"), "s/firewall/rules.json": rulesJSON(rule("management", 22, "10.0.0.0/8"))}
	open := rulesJSON(rule("management", 22, "10.0.0.0/8"), rule("users", 9000, "0.0.0.0/0"))
	for _, p := range []string{"b", "a"} {
		r := Compare(old, map[string][]byte{"s/firewall/PORTS.md": ports(p), "s/firewall/rules.json": open})
		fw := r.Sites[0].Firewall
		if f := r.Sites[0].Files; len(f) != 0 || fw == nil || len(fw.Nodes) != 1 || len(fw.Nodes[0].Changes) != 1 || len(r.Risks) != 1 {
			t.Errorf("PORTS.md %s: files %+v, firewall %+v, risks %+v", p, f, fw, r.Risks)
		}
	}
	r := Compare(map[string][]byte{"s/firewall/PORTS.md": ports("a")}, map[string][]byte{"s/firewall/PORTS.md": ports("b"), "s/firewall/rules.json": open})
	f := r.Sites[0].Files
	if len(f) != 2 || f[0].Unified == "" || !strings.Contains(f[0].Note, "old side has no firewall/rules.json") ||
		f[1].Status != Added || len(f[1].Changes) != 1 || f[1].Changes[0].Risk != "" || !strings.Contains(f[1].Note, "not compared") || len(r.Risks) != 0 {
		t.Errorf("an old tree without rules.json: %+v, risks %+v", f, r.Risks)
	}
	r = Compare(map[string][]byte{"s/firewall/PORTS.md": ports("a")}, map[string][]byte{"s/firewall/PORTS.md": ports("b")})
	if f := r.Sites[0].Files; len(f) != 1 || f[0].Unified == "" || !strings.Contains(f[0].Note, "not compared") {
		t.Errorf("two old trees: %+v", f)
	}
}

// table is a rule table of nodes "name:role" with the same rules.
func table(nodes []string, rules ...firewall.TableRule) *firewall.RuleTable {
	t := &firewall.RuleTable{Generated: "Code generated by test", Site: "s"}
	for i, n := range nodes {
		name, role, _ := strings.Cut(n, ":")
		t.Nodes = append(t.Nodes, firewall.TableNode{Name: name, Role: role, Address: fmt.Sprintf("192.0.2.%d", i+1), Rules: rules})
	}
	return t
}

// siteFiles are a site's firewall files printed from a table.
func siteFiles(t *testing.T, tb *firewall.RuleTable) map[string][]byte {
	t.Helper()
	files, err := tb.Backends()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{"s/firewall/rules.json": tb.Marshal(), "s/firewall/PORTS.md": []byte(fmt.Sprint(len(tb.Nodes)))}
	for p, b := range files {
		out["s/"+p] = b
	}
	return out
}

// TestFirewallSection: the firewall section explains the files its
// tables print, and lists any that is not what they print; a node that
// joins with its peers' rules is one line and no risk, a rule its peers
// did not have is a risk.
func TestFirewallSection(t *testing.T) {
	web := rule("users", 443, "0.0.0.0/0")
	ssh := rule("management", 22, "10.0.0.0/8")
	old := siteFiles(t, table([]string{"m:manager", "w1:worker"}, ssh, web))
	new := siteFiles(t, table([]string{"m:manager", "w1:worker", "w2:worker"}, ssh, web))
	r := Compare(old, new)
	fw := r.Sites[0].Firewall
	if fw == nil || len(r.Sites[0].Files) != 0 || len(r.Risks) != 0 || len(fw.Nodes) != 1 || len(fw.Nodes[0].Changes) != 1 ||
		fw.Nodes[0].Changes[0].Text != "node added (worker, 192.0.2.3), with 2 rules, those of w1" || len(fw.Files) != 7 {
		t.Fatalf("a worker joins: files %+v, risks %+v, firewall %+v", r.Sites[0].Files, r.Risks, fw)
	}
	// A backend that is not what its side's table prints is listed.
	edited := maps.Clone(new)
	edited["s/firewall/w1.nft"] = []byte(string(new["s/firewall/w1.nft"]) + "# edited\n")
	edited["s/firewall/w2.nft"] = []byte(string(new["s/firewall/w2.nft"]) + "# edited\n")
	r = Compare(old, edited)
	if f := r.Sites[0].Files; len(f) != 2 || f[0].Path != "firewall/w1.nft" || f[0].Unified == "" || f[1].Path != "firewall/w2.nft" || f[1].Status != Added {
		t.Errorf("edited backends: %+v", f)
	}
	// A rule no worker had before, on the joining one.
	odd := table([]string{"m:manager", "w1:worker", "w2:worker"}, ssh, web)
	odd.Nodes[2].Rules = append(odd.Nodes[2].Rules, rule("users", 9000, "0.0.0.0/0"))
	r = Compare(old, siteFiles(t, odd))
	if len(r.Risks) != 1 || r.Risks[0].Where != "w2" || !strings.Contains(r.Risks[0].Text, "9000/tcp from users") {
		t.Errorf("a joining node with a rule of its own: risks %+v", r.Risks)
	}
	// A worker made a manager gets the managers' rules: no risk.
	mgr := rule("users", 8443, "0.0.0.0/0")
	before := table([]string{"m:manager", "w1:worker"}, ssh, web)
	before.Nodes[0].Rules = append(before.Nodes[0].Rules, mgr)
	after := table([]string{"m:manager", "w1:manager"}, ssh, web, mgr)
	r = Compare(siteFiles(t, before), siteFiles(t, after))
	if len(r.Risks) != 0 || len(r.Sites[0].Firewall.Nodes) != 1 || len(r.Sites[0].Firewall.Nodes[0].Changes) != 2 {
		t.Errorf("a worker promoted: risks %+v, firewall %+v", r.Risks, r.Sites[0].Firewall.Nodes)
	}
	// The same port opened to users on every node: one risk, on both.
	r = Compare(old, siteFiles(t, table([]string{"m:manager", "w1:worker"}, ssh, web, rule("users", 9000, "0.0.0.0/0"))))
	if len(r.Risks) != 1 || r.Risks[0].Where != "m, w1" {
		t.Errorf("a port opened to users everywhere: risks %+v", r.Risks)
	}
	// A management network added: one line for the class, on every node.
	r = Compare(old, siteFiles(t, table([]string{"m:manager", "w1:worker"}, rule("management", 22, "10.0.0.0/8", "172.16.0.0/12"), web)))
	if fw := r.Sites[0].Firewall; len(r.Risks) != 0 || fw == nil || len(fw.Groups) != 1 || len(fw.Nodes) != 0 ||
		fw.Groups[0].Text != "now also from 172.16.0.0/12, on the rules from management of m, w1" {
		t.Errorf("a management network added: risks %+v, firewall %+v", r.Risks, fw)
	}
}

func TestTokens(t *testing.T) {
	s := "traefik-public x-traefik-public traefik-public2 (traefik-public) traefik-public"
	if got := countToken(s, "traefik-public"); got != 3 {
		t.Errorf("countToken = %d, want 3", got)
	}
	want := "edge x-traefik-public traefik-public2 (edge) edge"
	if got := replaceToken(s, "traefik-public", "edge"); got != want {
		t.Errorf("replaceToken = %q, want %q", got, want)
	}
}

const composeWith = `services:
  a:
    image: x:1
    networks: [NET]
    deploy:
      labels:
        traefik.swarm.network: LABEL
networks:
  NET:
    external: true
`

func composeFile(net, label string) []byte {
	return []byte(strings.NewReplacer("NET", net, "LABEL", label).Replace(composeWith))
}

// TestRenames: a network renamed everywhere is one line; one left behind
// is named, with the file it remains in.
func TestRenames(t *testing.T) {
	old := map[string][]byte{"h/stacks/s/docker-compose.yml": composeFile("pub", "pub"), "h/README.md": []byte("`pub`\n")}
	all := map[string][]byte{"h/stacks/s/docker-compose.yml": composeFile("edge", "edge"), "h/README.md": []byte("`edge`\n")}
	r := Compare(old, all)
	if len(r.Sites) != 1 || len(r.Sites[0].Renames) != 1 || len(r.Sites[0].Files) != 0 {
		t.Fatalf("complete rename: %+v", r.Sites)
	}
	if got, want := r.Sites[0].Renames[0].Text(), "network pub renamed to edge in 4 places (2 files); every reference moved"; got != want {
		t.Errorf("rename: %q, want %q", got, want)
	}
	part := map[string][]byte{"h/stacks/s/docker-compose.yml": composeFile("edge", "pub"), "h/README.md": []byte("`edge`\n")}
	r = Compare(old, part)
	if got, want := r.Sites[0].Renames[0].Text(), "network pub renamed to edge in 4 places (2 files); pub still named in stacks/s/docker-compose.yml"; got != want {
		t.Errorf("partial rename: %q, want %q", got, want)
	}
	// The label left behind is a change the rename does not explain.
	if len(r.Sites[0].Files) != 1 || !strings.Contains(r.Sites[0].Files[0].Changes[0].Text, "label traefik.swarm.network: edge → pub") {
		t.Errorf("partial rename details: %+v", r.Sites[0].Files)
	}
}

// TestDiffers: differs ahead of the built-in ones take their files, and
// a panicking differ still shows the file, as text.
func TestDiffers(t *testing.T) {
	differs := append([]differ{
		{Kind: "rules", Match: func(rel string) bool { return strings.HasSuffix(rel, ".nft") }, Diff: func(rel string, old, new []byte) ([]Change, error) {
			return []Change{{Op: OpChange, Text: "rules changed"}}, nil
		}},
		{Kind: "broken", Match: func(rel string) bool { return strings.HasSuffix(rel, ".yaml") }, Diff: func(rel string, old, new []byte) ([]Change, error) {
			panic("boom")
		}},
	}, builtin()...)
	r := compare(differs, map[string][]byte{"s/a.nft": []byte("1"), "s/b.yaml": []byte("a: 1")}, map[string][]byte{"s/a.nft": []byte("2"), "s/b.yaml": []byte("a: 2")})
	f := r.Sites[0].Files
	if f[0].Kind != "rules" || f[0].Changes[0].Text != "rules changed" {
		t.Errorf("differ not used: %+v", f[0])
	}
	if f[1].Kind != "broken" || f[1].Unified == "" || !strings.Contains(f[1].Note, "boom") {
		t.Errorf("panicking differ: %+v", f[1])
	}
}

func TestMarkdownEscaping(t *testing.T) {
	if got, want := mdEscape("Host(`a`) || x_y <b>"), "Host(\\`a\\`) \\|\\| x\\_y &lt;b&gt;"; got != want {
		t.Errorf("mdEscape = %q, want %q", got, want)
	}
	if got := codeFence("a ```` b"); got != "`````" {
		t.Errorf("codeFence = %q", got)
	}
}

// TestMasked: values of secret-looking variables appear in no format.
func TestMasked(t *testing.T) {
	file := func(secret, plain string) []byte {
		return []byte("services:\n  a:\n    image: x:1\n    environment:\n      DB_PASSWORD: " + secret + "\n      API_KEY: " + secret + "\n      PLAIN: " + plain + "\n")
	}
	r := Compare(map[string][]byte{"s/stacks/st/docker-compose.yml": file("s3cr3t-old", "plain-old")},
		map[string][]byte{"s/stacks/st/docker-compose.yml": file("s3cr3t-new", "plain-new")})
	for _, format := range Formats {
		var b strings.Builder
		if err := Write(&b, r, format, false); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if strings.Contains(out, "s3cr3t") {
			t.Errorf("%s output shows a secret value:\n%s", format, out)
		}
		plain, masked := "PLAIN: plain-old → plain-new", "DB_PASSWORD changed (value masked)"
		if format == "markdown" {
			plain, masked = mdEscape(plain), mdEscape(masked)
		}
		if !strings.Contains(out, plain) || !strings.Contains(out, masked) {
			t.Errorf("%s output does not show the variables' changes:\n%s", format, out)
		}
	}
}

// TestYAML: configuration files compare as data, list elements named by
// their name field.
func TestYAML(t *testing.T) {
	old := "# header\nscrape_configs:\n  - job_name: a\n    port: 1\n  - job_name: b\n    port: 2\nx: {k: v, l: w}\n"
	new := "scrape_configs:\n  - job_name: a\n    port: 1\n  - job_name: c\n  - job_name: b\n    port: 3\nx: {l: w, k: v2}\n"
	got, err := diffYAML("p.yaml", []byte(old), []byte(new))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, c := range got {
		lines = append(lines, string(c.Op)+" "+c.Line())
	}
	want := []string{
		"+ scrape_configs[job_name=c]: {\"job_name\":\"c\"}",
		"~ scrape_configs[job_name=b].port: 2 → 3",
		"~ x.k: v → v2",
	}
	if d := cmp.Diff(want, lines); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if got, err := diffYAML("p.yaml", []byte("a: [1, 2]\n# c\n"), []byte("a:\n  - 1\n  - 2\n")); err != nil || len(got) != 0 {
		t.Errorf("formatting only: %v, %v", got, err)
	}
	if _, err := diffYAML("p.yaml", []byte("a: 1\n"), []byte("a: [\n")); err == nil {
		t.Error("invalid YAML: no error")
	}
}

// TestStorageChange: a change of Minio's storage mode, from the image's
// release or, for an image without a release tag, from the FS entry
// point, is a risk; anything else about the image is not.
func TestStorageChange(t *testing.T) {
	const (
		fs     = "minio/minio:RELEASE.2022-10-24T18-35-07Z"
		xl     = "minio/minio:RELEASE.2025-04-22T22-12-26Z"
		digest = "registry.local/minio/minio@sha256:00"
	)
	fsInit := args{"/bin/sh", "-c", `[ -e /data/.minio.sys/format.json ] || { mkdir -p /data/.minio.sys && echo '{"version":"1","format":"fs","fs":{"version":"2"}}' >/data/.minio.sys/format.json; } && exec minio server /data`}
	for _, c := range []struct {
		name       string
		old, new   service
		risk       bool
		wantInText string
	}{
		{"fs to xl", service{Image: fs, Entrypoint: fsInit}, service{Image: xl}, true, "Minio storage fs → xl (image " + xl + "): Minio does not convert the objects on the share, and a release without the FS backend does not start on FS data"},
		{"xl to fs", service{Image: xl}, service{Image: fs, Entrypoint: fsInit}, true, "Minio storage xl → fs"},
		{"first release without FS", service{Image: fs}, service{Image: "minio/minio:RELEASE.2022-10-29T06-21-33Z"}, true, "fs → xl"},
		{"other registry, FS release", service{Image: fs}, service{Image: "quay.io/minio/minio:RELEASE.2022-10-24T18-35-07Z"}, false, ""},
		{"FS release to older FS release", service{Image: fs}, service{Image: "minio/minio:RELEASE.2022-05-26T05-48-41Z"}, false, ""},
		{"xl bump", service{Image: xl}, service{Image: "minio/minio:RELEASE.2025-09-07T16-13-09Z"}, false, ""},
		{"digest, FS entry point dropped", service{Image: digest, Entrypoint: fsInit}, service{Image: digest}, true, "fs → xl"},
		{"digest, FS entry point kept", service{Image: digest, Entrypoint: fsInit}, service{Image: "registry.local/minio/minio@sha256:11", Entrypoint: fsInit}, false, ""},
		{"not Minio", service{Image: "nuvla/api:6.18.0"}, service{Image: "nuvla/api:RELEASE.2025-04-22T22-12-26Z"}, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			text, risk := storageChange(&c.old, &c.new)
			if risk != c.risk || !strings.Contains(text, c.wantInText) {
				t.Errorf("storageChange = %q, %v; want %v with %q", text, risk, c.risk, c.wantInText)
			}
		})
	}
}

// TestRiskLabels: every risk kind has a label in Markdown.
func TestRiskLabels(t *testing.T) {
	for _, k := range riskOrder {
		if riskLabel[k] == "" {
			t.Errorf("risk %s has no label", k)
		}
	}
}

// TestPortsGone: a PORTS.md removed beside a table that stays is listed.
func TestPortsGone(t *testing.T) {
	old := map[string][]byte{"s/firewall/PORTS.md": []byte("# Firewall\n"), "s/firewall/rules.json": rulesJSON(rule("management", 22, "10.0.0.0/8"))}
	r := Compare(old, map[string][]byte{"s/firewall/rules.json": rulesJSON(rule("management", 22, "10.0.0.0/8", "10.1.0.0/16"))})
	if f := r.Sites[0].Files; len(f) != 1 || f[0].Path != "firewall/PORTS.md" || f[0].Status != Removed {
		t.Errorf("files %+v", f)
	}
}
