package sitedoc_test

import (
	"bytes"
	"strings"
	"testing"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/generator/sitedoc"
)

// TestRunbookSiteFileIsOneWord renders each example site's README as if
// its file had been given under a path a shell would split or run
// ("my sites/$(touch x)`id`;.cue"): every runbook command that names the
// site file must parse, and its --site argument must expand to that path
// exactly, as the operator's shell would read it.
func TestRunbookSiteFileIsOneWord(t *testing.T) {
	const path = "my sites/$(touch x)`id`;'q'.cue"
	l, err := site.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range nuvlacue.Sites() {
		t.Run(f.Name, func(t *testing.T) {
			sites, err := l.Load(path, f.Data)
			if err != nil {
				t.Fatal(err)
			}
			readme, err := sitedoc.Render(sites[0], sitedoc.Pictures{})
			if err != nil {
				t.Fatal(err)
			}
			found := 0
			for _, line := range strings.Split(string(readme), "\n") {
				line = strings.TrimSpace(line)
				if !strings.HasPrefix(line, "nuvlagen ") || !strings.Contains(line, "--site") {
					continue
				}
				found++
				args := words(t, line)
				for i, a := range args {
					if a == "--site" {
						if i+1 == len(args) || args[i+1] != path {
							t.Errorf("%s\nreads as %q: want --site %q", line, args, path)
						}
					}
				}
			}
			if found == 0 {
				t.Fatalf("no runbook command names the site file:\n%s", readme)
			}
		})
	}
}

// words parses line as one bash command and expands its words literally
// (a command substitution left in a word fails the expansion).
func words(t *testing.T, line string) []string {
	t.Helper()
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(line), "")
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	var b bytes.Buffer
	if len(f.Stmts) != 1 {
		syntax.NewPrinter().Print(&b, f)
		t.Fatalf("%s: %d commands, want 1: %s", line, len(f.Stmts), b.String())
	}
	call, ok := f.Stmts[0].Cmd.(*syntax.CallExpr)
	if !ok {
		t.Fatalf("%s: not a simple command", line)
	}
	var args []string
	for _, w := range call.Args {
		s, err := expand.Literal(&expand.Config{}, w)
		if err != nil {
			t.Fatalf("%s: word %d does not expand literally: %v", line, len(args), err)
		}
		args = append(args, s)
	}
	return args
}
