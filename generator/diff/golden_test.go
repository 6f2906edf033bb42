package diff_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
	"github.com/nuvla/nuvlagen/generator/diag"
	"github.com/nuvla/nuvlagen/generator/diff"
	"github.com/nuvla/nuvlagen/generator/pipeline"
	"github.com/nuvla/nuvlagen/internal/golden"
)

// TestGolden renders the two sides of every case in testdata and
// compares the report, in each format, with the case's want.txt, want.md
// and want.json sections. A case's sections:
//
//	old/<name>.cue, new/<name>.cue    site files of each side
//	old/edit/<cue/file.cue>, new/...  edits of the model (a service
//	                                  removed, say): "<<<<" lines to find,
//	                                  "====", lines to put instead, ">>>>"
//	old/extra/<path>, new/extra/...   files added to the rendered tree, for
//	                                  outputs the generators do not write
//	                                  (an older nuvlagen's, say); a path
//	                                  the generators do write fails the case
//	want.txt, want.md, want.json      the expected reports
//
// UPDATE_GOLDEN=1 rewrites the want sections.
func TestGolden(t *testing.T) {
	golden.Run(t, filepath.Join("testdata", "*.txtar"), golden.Names("want.txt", "want.md", "want.json"), func(t *testing.T, c *golden.Case) []txtar.File {
		old, new := renderSide(t, c.Inputs(), "old"), renderSide(t, c.Inputs(), "new")
		r := diff.Compare(old, new)
		var got []txtar.File
		for _, f := range []struct{ section, format string }{
			{"want.txt", "text"}, {"want.md", "markdown"}, {"want.json", "json"},
		} {
			var b bytes.Buffer
			if err := diff.Write(&b, r, f.format, false); err != nil {
				t.Fatal(err)
			}
			got = append(got, txtar.File{Name: f.section, Data: b.Bytes()})
		}
		return got
	})
}

// renderSide renders one side of a case: its sites against the embedded
// model with the side's edits, plus its extra files.
func renderSide(t *testing.T, inputs []txtar.File, side string) pipeline.Files {
	t.Helper()
	schema := nuvlacue.Schema()
	var sites []nuvlacue.File
	extra := pipeline.Files{}
	for _, f := range inputs {
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
	res, err := pipeline.Run(context.Background(), pipeline.Inputs(sites), pipeline.Options{Jobs: 1, Schema: schema})
	if err == nil {
		err = res.Err()
	}
	if err != nil {
		t.Fatalf("%s:\n%s", side, strings.Join(diag.Lines(err, ""), "\n"))
	}
	files := res.Files()
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

// TestNodesReplacedFits: the Markdown of a five-node target losing a
// worker and gaining two (testdata/nodes-replaced.txtar, which TestGolden
// holds to the output) fits a comment and names the nodes in its first
// lines.
func TestNodesReplacedFits(t *testing.T) {
	a, err := txtar.ParseFile(filepath.Join("testdata", "nodes-replaced.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range a.Files {
		if f.Name != "want.md" {
			continue
		}
		if len(f.Data) >= diff.CommentChars {
			t.Errorf("want.md is %d bytes, not under %d", len(f.Data), diff.CommentChars)
		}
		head := strings.Join(strings.SplitN(string(f.Data), "\n", 4)[:3], "\n")
		if !strings.Contains(head, "node tgt-wrk-3 removed; nodes tgt-wrk-4 and tgt-wrk-5 added") {
			t.Errorf("the first lines do not name the nodes:\n%s", head)
		}
		return
	}
	t.Fatal("no want.md section")
}
