package firewall_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nuvla/nuvlagen/generator/compose"
	"github.com/nuvla/nuvlagen/generator/diag"
	"github.com/nuvla/nuvlagen/generator/firewall"
	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/generator/site/sitetest"
	"github.com/nuvla/nuvlagen/internal/shellcheck"
)

// An attacker's site file (a pull request to a shared sites repository)
// must not turn values into code. These tests give the model hostile
// names and texts, which it must refuse at the offending key with a
// message a person reads; and give the printers the same values
// directly, which must still print files that parse with the structure
// of a benign rule.

// hostileNames are rule names that broke out of their place before the
// printers quoted them.
var hostileNames = []struct{ name, value string }{
	// A line of its own in <node>.iptables: accept everything.
	{"newline accept-all", "x\n-A NUVLA-INPUT -j ACCEPT"},
	// Out of ufw.sh's single quotes, into a live command substitution.
	{"command substitution", "x'$(touch /tmp/nuvlagen-pwned)'"},
	{"backticks", "x`touch /tmp/nuvlagen-pwned`"},
	// Out of iptables-restore's and nft's double quotes.
	{"double quotes", `x" -j ACCEPT -m comment --comment "y`},
	{"nft statement", "x\" accept; ip saddr 0.0.0.0/0 accept comment \"y"},
	{"backslash", `x\`},
	{"heredoc end", "x\nEOF\necho pwned"},
	{"long", strings.Repeat("a-", 150)},
	{"bidi override", "ssh\u202e-tnemeganam"},
	{"NUL", "x\x00y"},
	{"carriage return", "x\r-A NUVLA-INPUT -j ACCEPT"},
	// More cells in PORTS.md's table, which generator/diff reads.
	{"table cells", "x | 22 | tcp | ssh | users | 0.0.0.0/0"},
}

// TestHostileModel: the model refuses hostile names and texts, positioned
// at the key or value in the site file, with a readable message.
func TestHostileModel(t *testing.T) {
	const nameMsg = "rule name: use letters, digits and -, starting with a letter, at most 28 characters"
	const portMsg = "port name: use letters, digits and -, starting with a letter, at most 28 characters"
	rule := func(name string) string {
		return fmt.Sprintf("firewall: rules: %s: {service: \"app\", ports: [\"http\"], from: [\"management\"]}", strconvQuote(name))
	}
	type tc struct {
		name, extra, want string
	}
	var cases []tc
	for _, h := range hostileNames {
		if h.name == "NUL" {
			continue // a CUE string cannot hold one
		}
		cases = append(cases, tc{"rule " + h.name, rule(h.value), `t.cue:14:18: sites.t.firewall.rules.` + strconvQuote(h.value) + ": " + nameMsg})
		cases = append(cases, tc{"port " + h.name,
			fmt.Sprintf("firewall: ports: %s: {from: 9000, protocols: [\"tcp\"]}", strconvQuote(h.value)),
			`t.cue:14:18: sites.t.firewall.ports.` + strconvQuote(h.value) + ": " + portMsg})
	}
	cases = append(cases,
		tc{"rule name of 29", rule(strings.Repeat("a", 29)), "t.cue:14:18: sites.t.firewall.rules." + strings.Repeat("a", 29) + ": " + nameMsg},
		tc{"rule name of a digit", rule("1ssh"), `t.cue:14:18: sites.t.firewall.rules."1ssh": ` + nameMsg},
		tc{"rule name with _", rule("my_app"), `t.cue:14:18: sites.t.firewall.rules.my_app: ` + nameMsg},
		tc{"service with a newline", `firewall: rules: app: {service: "app\n| x | 22 |", ports: ["http"], from: ["users"]}`,
			"t.cue:14:33: sites.t.firewall.rules.app.service: service: one line of at most 64 characters, without control characters or |"},
		tc{"service with |", `firewall: rules: app: {service: "a | b", ports: ["http"], from: ["users"]}`,
			"t.cue:14:33: sites.t.firewall.rules.app.service: service: one line of at most 64 characters, without control characters or |"},
		tc{"service too long", `firewall: rules: app: {service: "` + strings.Repeat("s", 65) + `", ports: ["http"], from: ["users"]}`,
			"t.cue:14:33: sites.t.firewall.rules.app.service: service: one line of at most 64 characters, without control characters or |"},
		tc{"service with a bidi override", `firewall: rules: app: {service: "app\u202e", ports: ["http"], from: ["users"]}`,
			"t.cue:14:33: sites.t.firewall.rules.app.service: service: one line of at most 64 characters, without control characters or |"},
		tc{"fix with an escape", `firewall: rules: app: {service: "app", fix: "a\u001b[2Jb", ports: ["http"], from: ["users"]}`,
			"t.cue:14:45: sites.t.firewall.rules.app.fix: fix: one line of at most 400 characters, without control characters"},
	)
	l, err := site.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := fmt.Sprintf(testSite, `"198.51.100.0/28"`, `"192.0.2.10/32"`, c.extra)
			_, err := l.Load("t.cue", []byte(src))
			got := diag.Lines(err, "")
			if err == nil {
				t.Fatalf("loaded; want %s", c.want)
			}
			for i := range got {
				got[i], _, _ = strings.Cut(got[i], " (rule at ")
			}
			if !slices.Equal(got, []string{c.want}) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), c.want)
			}
		})
	}
}

// strconvQuote quotes s as CUE (and Go) write a string label.
func strconvQuote(s string) string { return fmt.Sprintf("%q", s) }

// renamed is rs with rule ssh called name, and a copy of everything it
// shares with rs.
func renamed(rs *firewall.Ruleset, name string) *firewall.Ruleset {
	c := *rs
	c.Nodes = slices.Clone(rs.Nodes)
	for i := range c.Nodes {
		c.Nodes[i].Rules = slices.Clone(c.Nodes[i].Rules)
		for j := range c.Nodes[i].Rules {
			if c.Nodes[i].Rules[j].Name == "ssh" {
				c.Nodes[i].Rules[j].Name = name
				c.Nodes[i].Rules[j].Service = name
			}
		}
	}
	return &c
}

// shellShape is the structure of a bash script (shellcheck.Structure),
// a line per statement.
func shellShape(t *testing.T, what string, src []byte) []string {
	t.Helper()
	shape, err := shellcheck.Structure(src)
	if err != nil {
		t.Fatalf("%s does not parse: %v", what, err)
	}
	return strings.Split(shape, "\n")
}

// lineShape is the structure of a line-based rules file: each line that
// is not a comment, with its quoted strings taken out.
func lineShape(src []byte, quoted *regexp.Regexp) []string {
	var out []string
	for _, l := range strings.Split(string(src), "\n") {
		if l == "" || strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		out = append(out, quoted.ReplaceAllString(l, `"…"`))
	}
	return out
}

var (
	// iptables-restore's quoted argument: backslash escapes inside.
	iptQuoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	// nft's quoted string: anything but a double quote.
	nftQuoted = regexp.MustCompile(`"[^"]*"`)
)

// TestHostilePrinters gives the printers hostile rule names (and a hostile
// site name, node role and header) directly: every file must keep the
// structure of the benign one. With root, iptables-restore and nft load
// them in a namespace and must hold the same number of rules.
func TestHostilePrinters(t *testing.T) {
	s := sitetest.Kind(t, site.KindTarget)
	rs, err := firewall.Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	header := compose.Header(s.File)
	benign := renamed(rs, "renamed")
	want := firewall.Render(header, benign)
	hostile := append(slices.Clone(hostileNames), struct{ name, value string }{"plain", "renamed"})
	for _, h := range hostile {
		for _, where := range []string{"rule name", "site, role and file name"} {
			t.Run(where+"/"+h.name, func(t *testing.T) {
				hostilePrint(t, rs, want, header, where, h.value)
			})
		}
	}
}

// hostilePrint prints rs with value in the place where says, and
// compares every file's structure with want's (rs, rule ssh renamed).
func hostilePrint(t *testing.T, rs *firewall.Ruleset, want map[string][]byte, header, where, value string) {
	hrs := renamed(rs, value)
	if where != "rule name" {
		hrs = renamed(rs, "renamed")
		hrs.Site = "site\n" + value
		hrs.File = "sites/" + value + ".cue"
		for i := range hrs.Nodes {
			hrs.Nodes[i].Role = "manager\n" + value
		}
		header = compose.Header(hrs.File)
	}
	got := firewall.Render(header, hrs)
	if len(got) != len(want) {
		t.Fatalf("%d files, want %d", len(got), len(want))
	}
	for p, w := range want {
		g := got[p]
		switch {
		case strings.HasSuffix(p, ".sh"):
			if gs, ws := shellShape(t, p, g), shellShape(t, p, w); !reflect.DeepEqual(gs, ws) {
				t.Errorf("%s: the script's structure changed:\n%s", p, shapeDiff(ws, gs))
			}
		case strings.HasSuffix(p, ".iptables"), strings.HasSuffix(p, ".ip6tables"):
			if gs, ws := lineShape(g, iptQuoted), lineShape(w, iptQuoted); !reflect.DeepEqual(gs, ws) {
				t.Errorf("%s: the rules' structure changed:\n%s", p, shapeDiff(ws, gs))
			}
		case strings.HasSuffix(p, ".nft"):
			if gs, ws := lineShape(g, nftQuoted), lineShape(w, nftQuoted); !reflect.DeepEqual(gs, ws) {
				t.Errorf("%s: the rules' structure changed:\n%s", p, shapeDiff(ws, gs))
			}
		case strings.HasSuffix(p, ".md"):
			if gs, ws := tableShape(g), tableShape(w); !reflect.DeepEqual(gs, ws) {
				t.Errorf("%s: the tables' structure changed:\n%s", p, shapeDiff(ws, gs))
			}
		}
	}
	// Loaded for real: the same number of rules as the benign file.
	t.Run("load", func(t *testing.T) {
		requireNamespaces(t, "nft")
		loadCounts(t, rs.Nodes[0].Name, want, got)
	})
}

// loadCounts loads node's iptables and nft files of want and got in
// namespaces and compares how many rules each holds.
func loadCounts(t *testing.T, n string, want, got map[string][]byte) {
	for _, tool := range []struct{ ext, count string }{{".iptables", "-A NUVLA"}, {".nft", " comment "}} {
		counts := make([]int, 2)
		for i, files := range []map[string][]byte{want, got} {
			ns := newNS(t, "hostile")
			switch tool.ext {
			case ".iptables":
				ns.execInput("*filter\n:DOCKER-USER - [0:0]\nCOMMIT\n", "iptables-restore", "--noflush")
				ns.execInput(string(files["firewall/"+n+tool.ext]), "iptables-restore", "--test", "--noflush")
				ns.execInput(string(files["firewall/"+n+tool.ext]), "iptables-restore", "--noflush")
				counts[i] = strings.Count(ns.exec("iptables-save"), tool.count)
			case ".nft":
				ns.execInput(string(files["firewall/"+n+tool.ext]), "nft", "-c", "-f", "-")
				ns.execInput(string(files["firewall/"+n+tool.ext]), "nft", "-f", "-")
				counts[i] = strings.Count(ns.exec("nft", "list", "table", "inet", "nuvla"), tool.count)
			}
		}
		if counts[0] != counts[1] {
			t.Errorf("%s: %d rules loaded, the benign file has %d", tool.ext, counts[1], counts[0])
		}
	}
}

// tableShape is the number of cells of every Markdown table row.
func tableShape(b []byte) []string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "|") {
			out = append(out, fmt.Sprint(strings.Count(l, "|")))
		}
	}
	return out
}

// shapeDiff lists the first differences of two shapes.
func shapeDiff(want, got []string) string {
	var b strings.Builder
	n := 0
	for i := 0; i < max(len(want), len(got)) && n < 5; i++ {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			fmt.Fprintf(&b, "  at %d: want %q, got %q\n", i, w, g)
			n++
		}
	}
	fmt.Fprintf(&b, "  (%d elements, want %d)", len(got), len(want))
	return b.String()
}

// TestHostileScriptsRun runs the generated ufw.sh's dry run with a hostile
// rule name: it must not run what the name says.
func TestHostileScriptsRun(t *testing.T) {
	s := sitetest.Kind(t, site.KindTarget)
	rs, err := firewall.Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	marker := filepath.Join(dir, "pwned")
	hrs := renamed(rs, "x'$(touch "+marker+")'`touch "+marker+"`")
	for p, b := range firewall.Render(compose.Header(s.File), hrs) {
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(p)), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	run(t, "bash", filepath.Join(dir, hrs.Nodes[0].Name+".ufw.sh"), "--dry-run")
	run(t, "bash", filepath.Join(dir, "apply.sh"), "--dry-run")
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a rule name ran a command in ufw.sh --dry-run")
	}
}
