package diff

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.yaml.in/yaml/v4"
)

// TestLimits: files past the limits are shown as text, with a note that
// says where and why.
func TestLimits(t *testing.T) {
	deep := func(n int, leaf string) string {
		return "services:\n  web:\n    image: nginx:1.27.2\nx-nest:\n  " + strings.Repeat("- ", n) + leaf + "\n"
	}
	wide := func(n int, last string) string {
		var b strings.Builder
		b.WriteString("services:\n  web:\n    image: nginx:1.27.2\n    environment:\n")
		for i := range n {
			fmt.Fprintf(&b, "      V%d: x\n", i)
		}
		return b.String() + "      LAST: " + last + "\n"
	}
	for _, tc := range []struct {
		name, rel, old, new, note string
	}{
		{"compose too deep", "stacks/s/docker-compose.yml", deep(5000, "a"), deep(5000, "b"),
			"old stacks/s/docker-compose.yml: not compared as a compose file: line 5, column 201: nesting deeper than 100 levels; shown as text"},
		{"compose too wide", "stacks/s/docker-compose.yml", wide(maxComposeKeys, "a"), wide(maxComposeKeys, "b"),
			"old stacks/s/docker-compose.yml: not compared as a compose file: line 5, column 7: a mapping of 1001 keys, more than the 1000 compose-go reads in reasonable time; shown as text"},
		{"compose in a later document", "stacks/s/docker-compose.yml", "x: 1\n---\n" + deep(200, "a"), "x: 1\n---\n" + deep(200, "b"),
			"old stacks/s/docker-compose.yml: not compared as a compose file: line 7, column 201: nesting deeper than 100 levels; shown as text"},
		{"compose with a long command", "stacks/s/docker-compose.yml", "services:\n  web:\n    image: nginx:1.27.2\n    command: " + strings.Repeat("a", maxCommand+1) + "\n", "services: {}\n",
			"old stacks/s/docker-compose.yml: not compared as a compose file: line 4, column 14: a command of 16385 bytes, longer than the 16384 compose-go splits into words in reasonable time; shown as text"},
		{"data too deep", "stacks/s/conf.yaml", "x: " + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "\n", "x: 1\n",
			"old stacks/s/conf.yaml: not compared as data: line 1, column 103: nesting deeper than 100 levels; shown as text"},
		{"data with a duplicate key", "stacks/s/conf.yaml", "a: 1\nb: {c: 1, c: 2}\n", "a: 2\n",
			"old stacks/s/conf.yaml: not valid YAML: unmarshal errors:\n  line 2: mapping key \"c\" already defined at line 2; shown as text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Compare(map[string][]byte{"s/" + tc.rel: []byte(tc.old)}, map[string][]byte{"s/" + tc.rel: []byte(tc.new)})
			if len(r.Sites) != 1 || len(r.Sites[0].Files) != 1 {
				t.Fatalf("report: %+v", r)
			}
			f := r.Sites[0].Files[0]
			if f.Note != tc.note || f.Unified == "" {
				t.Errorf("note %q, want %q; unified %d bytes", f.Note, tc.note, len(f.Unified))
			}
		})
	}
	// At the limits, the differs read the files.
	for _, files := range [][2]string{{deep(98, "a"), deep(98, "b")}, {wide(maxComposeKeys-1, "a"), wide(maxComposeKeys-1, "b")}} {
		r := Compare(map[string][]byte{"s/stacks/s/docker-compose.yml": []byte(files[0])}, map[string][]byte{"s/stacks/s/docker-compose.yml": []byte(files[1])})
		if f := r.Sites[0].Files[0]; strings.Contains(f.Note, "not compared") || strings.Contains(f.Note, "not valid") {
			t.Errorf("at the limit: note %q", f.Note)
		}
	}
}

// TestParseYAML proves parseYAML, which decodes without go-yaml's
// pairwise duplicate-key check, equal to yaml.Unmarshal.
func TestParseYAML(t *testing.T) {
	for _, c := range []string{
		"", "# nothing\n", "a: 1\n---\nb: 2\n", "[1, 2]\n", "x: &d {k: 1}\ny: {<<: *d, k: 2}\nz: {<<: [*d, {j: 3}], j: 4}\n",
		"1: a\n2: b\n", "a: [yes, no, on, ~, 0x1f, 0o17, 1_000, .inf, 1e3, 2001-12-14]\n", "a: !!binary aGVsbG8=\nb: !!str 1\n",
		"a: []\nb: {}\n", "a: |\n  text\n", "a: &x [*x]\n", "a: {<<: 1}\n", "? [a]\n: 1\n", "a: 1\na: 2\n",
	} {
		var want any
		wantErr := yaml.Unmarshal([]byte(c), &want)
		got, gotErr := parseYAML([]byte(c))
		if c == "" {
			continue // parseYAML is not called on a missing file; an empty one is nil
		}
		if (wantErr == nil) != (gotErr == nil) {
			t.Errorf("%q: error %v, want %v", c, gotErr, wantErr)
			continue
		}
		if d := cmp.Diff(want, got, cmpopts.EquateNaNs()); wantErr == nil && d != "" {
			t.Errorf("%q (-want +got):\n%s", c, d)
		}
	}
}
