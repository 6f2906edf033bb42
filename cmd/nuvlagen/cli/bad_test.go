package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/nuvla/nuvlagen/generator/outdir"
	"github.com/nuvla/nuvlagen/internal/golden"
)

// cueTerms are what CUE's evaluator says and a site's author cannot act
// on: a pattern, a bound, the branches of a disjunction. The loader's
// explain step says them in words (generator/site/explain.go).
var cueTerms = []string{"=~", "!~", "out of bound", "field not allowed", "conflicting values", "does not satisfy", "empty disjunction", "incompatible list lengths", "mismatched types", "_|_"}

// rulePos matches a line's pointer at the model's rule.
var rulePos = regexp.MustCompile(`\(rule at (cue/[a-z]+\.cue):(\d+):(\d+)\)$`)

// checkRule: a rule pointer names a token of the model that says what is
// allowed (an error("..."), a constraint, a field's declaration), never
// a comprehension or a comment around it.
func checkRule(t *testing.T, root, file, line, col string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		t.Errorf("rule at %s: %v", file, err)
		return
	}
	l, _ := strconv.Atoi(line)
	c, _ := strconv.Atoi(col)
	lines := strings.Split(string(data), "\n")
	if l < 1 || l > len(lines) || c < 1 || c > len(lines[l-1])+1 {
		t.Errorf("rule at %s:%s:%s: no such place", file, line, col)
		return
	}
	at := lines[l-1][c-1:]
	for _, bad := range []string{"if ", "for ", "//", "}"} {
		if strings.HasPrefix(at, bad) {
			t.Errorf("rule at %s:%s:%s points at %q, not at the rule", file, line, col, at)
		}
	}
}

// TestBadSites runs `generate` on every invalid site of the catalogue in
// testdata/bad: each must fail with exit status 1, print exactly the
// positioned errors of its "stderr" section, and write nothing.
// UPDATE_GOLDEN=1 rewrites the stderr sections.
func TestBadSites(t *testing.T) {
	// Absolute: each case changes the working directory.
	dir, err := filepath.Abs(filepath.Join("testdata", "bad"))
	if err != nil {
		t.Fatal(err)
	}
	cases, err := filepath.Glob(filepath.Join(dir, "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 30 {
		t.Fatalf("the catalogue has %d invalid sites; it must keep at least 30", len(cases))
	}
	root := golden.Root(t)
	for _, file := range cases {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			c := golden.Open(t, file, golden.Names("stderr"))
			dir := t.TempDir()
			args := []string{"generate", "--out", "out"}
			for _, f := range c.Inputs() {
				if strings.HasSuffix(f.Name, ".cue") {
					if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
						t.Fatal(err)
					}
					args = append(args, "--site", f.Name)
				}
			}
			t.Chdir(dir)
			var stdout, stderr bytes.Buffer
			code := Main(args, &stdout, &stderr)
			if code != ExitInvalid {
				t.Errorf("exit status %d, want %d\nstderr:\n%s", code, ExitInvalid, stderr.String())
			}
			if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
				t.Errorf("generate wrote %s/out for an invalid site", dir)
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout not empty:\n%s", stdout.String())
			}
			got := stderr.String()
			c.Check(t, []txtar.File{{Name: "stderr", Data: []byte(got)}})
			for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
				if !positioned.MatchString(line) {
					t.Errorf("error without a position: %q", line)
				}
				for _, term := range cueTerms {
					if strings.Contains(line, term) {
						t.Errorf("CUE's term %q reaches the user: %q", term, line)
					}
				}
				if m := rulePos.FindStringSubmatch(line); m != nil {
					checkRule(t, root, m[1], m[2], m[3])
				}
			}
		})
	}
}

// TestBareAddress: an address without a prefix length in a group means
// its /32 (cue/types.cue #CIDR), so a site that writes one generates
// exactly the files of the site that writes the /32: every printer
// (nftables, iptables, ufw, rules.json, PORTS.md, the READMEs) sees the
// same prefix.
func TestBareAddress(t *testing.T) {
	const site = `package nuvla

sites: "acme": {
	kind:   "target"
	domain: "target.example.org"
	nodes: {
		"target-manager-1": {address: "203.0.113.10", role: "manager", nfsServer: true}
		"target-worker-1": {address: "203.0.113.11", role: "worker"}
	}
	groups: {
		management: ["198.51.100.7%s", "198.51.100.16/28"]
		nuvla: ["192.0.2.10%s"]
	}
}
`
	generate := func(suffix string) map[string][]byte {
		dir := t.TempDir()
		src := strings.ReplaceAll(site, "%s", suffix)
		if err := os.WriteFile(filepath.Join(dir, "site.cue"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Chdir(dir)
		var stdout, stderr bytes.Buffer
		if code := Main([]string{"generate", "--site", "site.cue", "--out", "out"}, &stdout, &stderr); code != 0 {
			t.Fatalf("groups with %q: exit status %d\n%s", suffix, code, stderr.String())
		}
		files := map[string][]byte{}
		err := filepath.WalkDir("out", func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			files[path] = data
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return files
	}
	bare, full := generate(""), generate("/32")
	if len(bare) == 0 || len(bare) != len(full) {
		t.Fatalf("%d files from bare addresses, %d from /32", len(bare), len(full))
	}
	// The manifests record the site files, which differ.
	inputLine := regexp.MustCompile(`(?m)^# input: .*\n`)
	for name, data := range full {
		if filepath.Base(name) == outdir.ManifestName {
			bare[name], data = inputLine.ReplaceAll(bare[name], nil), inputLine.ReplaceAll(data, nil)
		}
		if !bytes.Equal(bare[name], data) {
			t.Errorf("%s differs between a bare address and its /32", name)
		}
	}
	if !bytes.Contains(bare[filepath.Join("out", "acme", "firewall", "target-manager-1.nft")], []byte("198.51.100.7/32")) {
		t.Error("the nftables file does not hold 198.51.100.7/32")
	}
}
