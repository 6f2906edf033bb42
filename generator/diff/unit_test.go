package diff

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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

func TestParseExports(t *testing.T) {
	got, err := parseExports([]byte("# header\n/srv  a(rw,sync) \\\n  b(ro)   # comment\n\"/data\" (ro) c\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := exports{"/srv": {"a": "rw,sync", "b": "ro"}, "/data": {"*": "ro", "c": ""}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	for _, bad := range []string{"srv a(rw)\n", "/srv a(rw\n"} {
		if _, err := parseExports([]byte(bad)); err == nil {
			t.Errorf("parseExports(%q): no error", bad)
		}
	}
}

// TestParsePorts covers the variants of the firewall table the differ
// accepts: columns in any order, protocol in its own column or in the
// port cell, lists, ranges, other tables ignored.
func TestParsePorts(t *testing.T) {
	src := "# Firewall\n\n| what | else |\n|---|---|\n| x | y |\n\n" +
		"| Sources | **Port** | Node | From |\n|---|---|---|---|\n" +
		"| `10.0.0.0/8`, 192.0.2.0/24 | 22/tcp | n1, n2 | management |\n" +
		"| 0.0.0.0/0 | 32768-60999/tcp, 53/udp | n1 | users |\n"
	got, err := parsePorts([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	mgmt := map[string]bool{"10.0.0.0/8": true, "192.0.2.0/24": true}
	world := map[string]bool{"0.0.0.0/0": true}
	want := fwTable{
		"n1": {
			"22/tcp from management":     {Sources: mgmt},
			"32768-60999/tcp from users": {Sources: world},
			"53/udp from users":          {Sources: world},
		},
		"n2": {"22/tcp from management": {Sources: mgmt}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if _, err := parsePorts([]byte("| node | port | sources |\n|---|---|---|\n| n1 | 22 | 10.0.0.0/8 |\n")); err == nil {
		t.Error("a port without a protocol: no error")
	}
	// A table in another format is not read as "no rules".
	if _, err := parsePorts([]byte("| host | ports |\n|---|---|\n| n1 | 22 |\n")); err == nil {
		t.Error("no rule table: no error")
	}
	if got, err := parsePorts([]byte("| node | port | proto | sources |\n|---|---|---|---|\n")); err != nil || len(got) != 0 {
		t.Errorf("an empty rule table: %v, %v", got, err)
	}
}

func TestFirewallExposure(t *testing.T) {
	head := "| node | port | proto | from | sources |\n|---|---|---|---|---|\n"
	old := head + "| n1 | 22 | tcp | management | 10.0.0.0/8 |\n"
	for _, c := range []struct {
		name, new string
		risks     int
	}{
		{"to users", old + "| n1 | 9000 | tcp | users | 192.0.2.0/24 |\n", 1},
		{"to anywhere", old + "| n1 | 9000 | tcp | cluster | 0.0.0.0/0 |\n", 1},
		{"management widened to anywhere", head + "| n1 | 22 | tcp | management | 10.0.0.0/8, 0.0.0.0/0 |\n", 1},
		{"management widened", head + "| n1 | 22 | tcp | management | 10.0.0.0/8, 10.1.0.0/16 |\n", 0},
		// More than a /8 is anywhere, however it is split.
		{"management widened to halves", head + "| n1 | 22 | tcp | management | 10.0.0.0/8, 0.0.0.0/1, 128.0.0.0/1 |\n", 2},
		{"to halves", old + "| n1 | 9000 | tcp | cluster | 0.0.0.0/1, 128.0.0.0/1 |\n", 1},
		{"to two /8s", old + "| n1 | 9000 | tcp | cluster | 10.0.0.0/8, 11.0.0.0/8 |\n", 1},
		{"to a /8", old + "| n1 | 9000 | tcp | cluster | 11.0.0.0/8 |\n", 0},
		{"closed", head, 0},
	} {
		changes, err := diffFirewall("firewall/PORTS.md", []byte(old), []byte(c.new))
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

// TestRegister: a registered differ takes its files before the built-in
// ones, and a panicking differ still shows the file, as text.
func TestRegister(t *testing.T) {
	saved := differs
	defer func() { differs = saved }()
	Register(Differ{Kind: "rules", Match: func(rel string) bool { return strings.HasSuffix(rel, ".nft") }, Diff: func(rel string, old, new []byte) ([]Change, error) {
		return []Change{{Op: OpChange, Text: "rules changed"}}, nil
	}})
	Register(Differ{Kind: "broken", Match: func(rel string) bool { return strings.HasSuffix(rel, ".yaml") }, Diff: func(rel string, old, new []byte) ([]Change, error) {
		panic("boom")
	}})
	r := Compare(map[string][]byte{"s/a.nft": []byte("1"), "s/b.yaml": []byte("a: 1")}, map[string][]byte{"s/a.nft": []byte("2"), "s/b.yaml": []byte("a: 2")})
	f := r.Sites[0].Files
	if f[0].Kind != "rules" || f[0].Changes[0].Text != "rules changed" {
		t.Errorf("registered differ not used: %+v", f[0])
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
