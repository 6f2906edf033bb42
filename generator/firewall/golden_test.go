package firewall_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nuvla/nuvlagen/generator/compose"
	"github.com/nuvla/nuvlagen/generator/firewall"
	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/generator/site/sitetest"
	"github.com/nuvla/nuvlagen/internal/golden"
	"github.com/nuvla/nuvlagen/internal/shellcheck"
)

func loadEmbedded(t *testing.T) []*site.Site { return sitetest.Embedded(t) }

func render(t *testing.T, s *site.Site) (*firewall.Ruleset, map[string][]byte) {
	t.Helper()
	rs, err := firewall.Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	return rs, firewall.Render(compose.Header(s.File), rs)
}

// TestGolden compares every file of both example sites with
// testdata/<site>.txtar; UPDATE_GOLDEN=1 rewrites them.
func TestGolden(t *testing.T) {
	for _, s := range loadEmbedded(t) {
		t.Run(s.Name, func(t *testing.T) {
			_, files := render(t, s)
			c := golden.Open(t, filepath.Join("testdata", s.Name+".txtar"), golden.All)
			if len(c.Archive.Comment) == 0 {
				c.Archive.Comment = []byte("Firewall files generated for the embedded example site " + s.Name + ".\n")
			}
			c.Check(t, golden.Sorted("", files))
		})
	}
}

// TestScripts runs bash -n and shellcheck on every generated script.
func TestScripts(t *testing.T) {
	requireTools(t, "shellcheck")
	for _, s := range loadEmbedded(t) {
		_, files := render(t, s)
		dir := t.TempDir()
		for p, b := range files {
			if !strings.HasSuffix(p, ".sh") {
				continue
			}
			f := filepath.Join(dir, filepath.Base(p))
			if err := os.WriteFile(f, b, 0o755); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("bash", "-n", f).CombinedOutput(); err != nil {
				t.Errorf("%s/%s: bash -n: %v\n%s", s.Name, p, err, out)
			}
			if out, err := exec.Command("shellcheck", "--norc", "--severity=style", "-s", "bash", f).CombinedOutput(); err != nil {
				t.Errorf("%s/%s: shellcheck: %v\n%s", s.Name, p, err, out)
			}
		}
	}
}

// TestSyntax loads every ruleset with nft -c and iptables-restore --test,
// in a namespace of its own.
func TestSyntax(t *testing.T) {
	requireNamespaces(t, "nft")
	ns := newNS(t, "syntax")
	ns.execInput("*filter\n:DOCKER-USER - [0:0]\nCOMMIT\n", "iptables-restore", "--noflush")
	ns.execInput("*filter\n:DOCKER-USER - [0:0]\nCOMMIT\n", "ip6tables-restore", "--noflush")
	for _, s := range loadEmbedded(t) {
		_, files := render(t, s)
		for p, b := range files {
			switch filepath.Ext(p) {
			case ".nft":
				ns.execInput(string(b), "nft", "-c", "-f", "-")
			case ".iptables":
				ns.execInput(string(b), "iptables-restore", "--test", "--noflush")
			case ".ip6tables":
				ns.execInput(string(b), "ip6tables-restore", "--test", "--noflush")
			}
		}
	}
}

func TestLibrariesPassShellcheck(t *testing.T) { shellcheck.Glob(t, "lib/*.sh") }
