package configure

import (
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/nuvla/nuvlagen/generator/diag"
	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/internal/golden"
)

// TestGolden renders the sites of each testdata/*.txtar and compares
// every file with its out/<site>/ section; UPDATE_GOLDEN=1 rewrites them.
// A rendered document must read back (Parse) and print as it was.
func TestGolden(t *testing.T) {
	l, err := site.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	golden.Run(t, filepath.Join("testdata", "*.txtar"), golden.Prefix("out/"), func(t *testing.T, c *golden.Case) []txtar.File {
		got := map[string][]byte{}
		for _, f := range c.Inputs() {
			sites, err := l.Load(f.Name, f.Data)
			if err != nil {
				t.Fatalf("loading %s:\n%s", f.Name, strings.Join(diag.Lines(err, ""), "\n"))
			}
			for _, s := range sites {
				files, err := Render(s)
				if err != nil {
					t.Fatalf("site %s: %v", s.Name, err)
				}
				for p, b := range files {
					d, err := Parse(b)
					if err != nil {
						t.Fatalf("site %s: %s does not parse: %v", s.Name, p, err)
					}
					again, err := Marshal(d)
					if err != nil {
						t.Fatal(err)
					}
					if string(again) != string(b) {
						t.Errorf("site %s: %s prints differently once parsed:\n%s", s.Name, p, golden.Diff(b, again))
					}
					got[filepath.ToSlash(filepath.Join(s.Name, p))] = b
				}
			}
		}
		return golden.Sorted("out/", got)
	})
}

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"not JSON", `{`, "unexpected EOF"},
		{"unknown field", `{"site": "h", "endpoint": "https://n.example.org", "nuvla": {"fields": {}}, "extra": 1}`, "unknown field"},
		{"no site", `{"endpoint": "https://n.example.org", "nuvla": {"fields": {}}}`, "no site or endpoint"},
		{"nothing", `{"site": "h", "endpoint": "https://n.example.org"}`, "nothing to configure"},
		{"secret and value", `{"site": "h", "endpoint": "https://n.example.org", "nuvla": {"fields": {"smtp-password": "x"}, "secrets": {"smtp-password": "smtp_password"}}}`, "both a value and a secret"},
		{"secret outside the directory", `{"site": "h", "endpoint": "https://n.example.org", "nuvla": {"fields": {}, "secrets": {"smtp-password": "../other/NUVLA_SUPER_PASSWORD"}}}`, "want a file name"},
		{"no way to Elasticsearch", `{"site": "h", "endpoint": "https://n.example.org", "elasticsearch": {"url": "http://es:9200", "repository": {"name": "r"}, "policy": {"name": "p"}}}`, "want url, network, image"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse: %v, want %q", err, tc.want)
			}
		})
	}
}
