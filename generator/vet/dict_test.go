package vet

import (
	"fmt"
	"strings"
	"testing"

	dockerloader "github.com/docker/cli/cli/compose/loader"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.yaml.in/yaml/v4"
)

// dictCases are the YAML corners where go-yaml v3 and v4 might decode
// differently, or where duplicate keys hide among aliases and merges.
var dictCases = []string{
	"",
	"# nothing\n",
	"[1, 2]\n",
	"a: 1\n---\nb: 2\n",
	"a: 1\na: 2\n",
	"a: 1\nb: {c: 1, c: 2, c: 3}\na: 2\n",
	"a: {x: 1, x: 2}\nb: {y: 1, y: 2}\n",
	"x: &d {k: 1, k: 2}\ny: *d\nz: {<<: *d}\n",
	"x: &d {k: 1}\ny: {<<: *d, k: 2}\nz: {<<: [*d, {j: 3}], j: 4}\n",
	"\"a\": 1\na: 2\n",
	"<<: {a: 1}\n<<: {b: 2}\n",
	"'<<': 1\nb: 2\n",
	"1: a\n2: b\n",
	"a: {1: x, b: y}\n",
	"? [a]\n: 1\n",
	"a: [yes, no, on, off, y, n, ~, null, Null]\n",
	"a: [0x1f, 0o17, 017, 1_000, .inf, -.Inf, .nan, 1e3, 3.]\n",
	"a: [2001-12-14t21:59:43.10-05:00, 2002-12-14, !!timestamp 2001-12-14]\n",
	"a: !!binary aGVsbG8=\nb: !!str 1\nc: !!int '2'\nd: !custom x\n",
	"a: []\nb: {}\nc: [[], {}]\n",
	"a: |\n  text\nb: >-\n  folded\n  text\n",
	"a: &x [*x]\n",
	"a: {<<: 1}\n",
	"a: {b: 1, b: 2, <<: 5}\n",
	"a: !!merge {b: 1}\n",
	"services: {a: {image: x, image: y}}\n",
}

// TestParseDict proves parseDict equal to the docker CLI's ParseYAML, the
// dict and the error, on every file of the tests and corpus and on the
// corners above; and its linear path, which files with large mappings
// take, equal but for the wording of errors other than duplicate keys
// (the decoders do not meet them in the same order).
func TestParseDict(t *testing.T) {
	inputs := seedFiles(t)
	for _, c := range dictCases {
		inputs = append(inputs, []byte(c))
	}
	for _, data := range inputs {
		for _, small := range []bool{true, false} {
			checkDict(t, data, small)
		}
	}
}

// FuzzParseDict: whatever the bytes, parseDict agrees with ParseYAML.
func FuzzParseDict(f *testing.F) {
	for _, c := range dictCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, small := range []bool{true, false} {
			checkDict(t, data, small)
		}
	})
}

func checkDict(t *testing.T, data []byte, small bool) {
	t.Helper()
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 || overLimits("", &doc) != nil {
		return // vet reports these before reading the dict
	}
	want, wantErr := dockerloader.ParseYAML(data)
	got, gotErr := parseDictWith(data, &doc, small)
	if !small && strings.Contains(fmt.Sprint(gotErr), "cannot read as v3 does") {
		return // only v3's decoder can tell
	}
	exactErr := small || strings.Contains(fmt.Sprint(wantErr), "already defined")
	if (wantErr == nil) != (gotErr == nil) || (exactErr && wantErr != nil && wantErr.Error() != gotErr.Error()) {
		t.Errorf("small=%v: error %v, want %v, for:\n%s", small, gotErr, wantErr, data)
		return
	}
	if d := cmp.Diff(want, got, cmpopts.EquateNaNs()); d != "" {
		t.Errorf("small=%v: dict (-want +got):\n%s\nfor:\n%s", small, d, data)
	}
}
