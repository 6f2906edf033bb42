package diff_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
	"github.com/nuvla/nuvlagen/generator/diag"
	"github.com/nuvla/nuvlagen/generator/diff"
	"github.com/nuvla/nuvlagen/generator/pipeline"
	"github.com/nuvla/nuvlagen/generator/site"
)

// TestGolden renders the two sides of every case in testdata/diff and
// compares the report, in each format, with the case's want.txt, want.md
// and want.json sections. A case's sections:
//
//	old/<name>.cue, new/<name>.cue    site files of each side
//	old/edit/<cue/file.cue>, new/...  edits of the model (a service
//	                                  removed, say): "<<<<" lines to find,
//	                                  "====", lines to put instead, ">>>>"
//	old/extra/<path>, new/extra/...   files added to the rendered tree, for
//	                                  outputs this branch's generators do
//	                                  not write yet (firewall/PORTS.md,
//	                                  nfs/exports); a path the generators
//	                                  do write fails the case
//	want.txt, want.md, want.json      the expected reports
//
// UPDATE_GOLDEN=1 rewrites the want sections.
func TestGolden(t *testing.T) {
	cases, err := filepath.Glob(filepath.Join(repoRoot(t), "testdata", "diff", "*.txtar"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, file := range cases {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			old, new := renderSide(t, ar, "old"), renderSide(t, ar, "new")
			r := diff.Compare(old, new)
			for _, f := range []struct{ section, format string }{
				{"want.txt", "text"}, {"want.md", "markdown"}, {"want.json", "json"},
			} {
				var b bytes.Buffer
				if err := diff.Write(&b, r, f.format, false); err != nil {
					t.Fatal(err)
				}
				got := b.String()
				idx := section(ar, f.section)
				if updateGolden() {
					if idx < 0 {
						ar.Files = append(ar.Files, txtar.File{Name: f.section})
						idx = len(ar.Files) - 1
					}
					ar.Files[idx].Data = []byte(got)
					continue
				}
				if idx < 0 {
					t.Errorf("no %s section", f.section)
					continue
				}
				if want := string(ar.Files[idx].Data); got != want {
					t.Errorf("%s differs (-want +got):\n%s", f.section, cmp.Diff(strings.Split(want, "\n"), strings.Split(got, "\n")))
				}
			}
			if updateGolden() {
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func section(ar *txtar.Archive, name string) int {
	for i, f := range ar.Files {
		if f.Name == name {
			return i
		}
	}
	return -1
}

// renderSide renders one side of a case: its sites against the embedded
// model with the side's edits, plus its extra files.
func renderSide(t *testing.T, ar *txtar.Archive, side string) pipeline.Files {
	t.Helper()
	schema := nuvlacue.Schema()
	var sites []nuvlacue.File
	extra := pipeline.Files{}
	for _, f := range ar.Files {
		rest, ok := strings.CutPrefix(f.Name, side+"/")
		if !ok {
			continue
		}
		switch {
		case strings.HasPrefix(rest, "edit/"):
			name := strings.TrimPrefix(rest, "edit/")
			found := false
			for i := range schema {
				if schema[i].Name == name {
					schema[i].Data = applyEdit(t, f.Name, schema[i].Data, f.Data)
					found = true
				}
			}
			if !found {
				t.Fatalf("%s: the model has no file %s", f.Name, name)
			}
		case strings.HasPrefix(rest, "extra/"):
			extra[strings.TrimPrefix(rest, "extra/")] = f.Data
		case strings.HasSuffix(rest, ".cue"):
			sites = append(sites, nuvlacue.File{Name: rest, Data: f.Data})
		default:
			t.Fatalf("unknown section %s", f.Name)
		}
	}
	l, err := site.NewLoaderFromFiles(schema)
	if err != nil {
		t.Fatalf("%s model: %v", side, err)
	}
	ss, err := l.LoadFiles(sites)
	if err != nil {
		t.Fatalf("%s sites:\n%s", side, strings.Join(diag.Lines(err, ""), "\n"))
	}
	files, err := pipeline.Render(ss)
	if err != nil {
		t.Fatalf("%s render:\n%s", side, strings.Join(diag.Lines(err, ""), "\n"))
	}
	for p, b := range extra {
		if _, ok := files[p]; ok {
			t.Fatalf("%s/extra/%s: the generators now write this file; drop the extra section and regenerate the goldens", side, p)
		}
		files[p] = b
	}
	return files
}

// applyEdit applies "<<<<\nfind\n====\nreplace\n>>>>" blocks to data.
func applyEdit(t *testing.T, name string, data, edit []byte) []byte {
	t.Helper()
	s := string(data)
	blocks := strings.Split(string(edit), "<<<<\n")
	for _, blk := range blocks[1:] {
		find, rest, ok := strings.Cut(blk, "====\n")
		if !ok {
			t.Fatalf("%s: an edit block has no ==== line", name)
		}
		repl, _, ok := strings.Cut(rest, ">>>>\n")
		if !ok {
			t.Fatalf("%s: an edit block has no >>>> line", name)
		}
		if strings.Count(s, find) != 1 {
			t.Fatalf("%s: the text to replace occurs %d times, want once:\n%s", name, strings.Count(s, find), find)
		}
		s = strings.Replace(s, find, repl, 1)
	}
	return []byte(s)
}

func updateGolden() bool { return os.Getenv("UPDATE_GOLDEN") != "" }

func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller information")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

var _ = fmt.Sprint
