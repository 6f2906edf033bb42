package vet

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/nuvla/nuvlagen/internal/golden"
)

// corpus reads testdata/corpus: compose files written in the styles of
// public documentation (Traefik, Portainer, swarmprom, databases, CI...),
// good, bad and broken.
func corpus(tb testing.TB) []Input {
	tb.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", "corpus", "*.yml"))
	if err != nil || len(names) < 30 {
		tb.Fatalf("corpus: %d files, %v", len(names), err)
	}
	var inputs []Input
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			tb.Fatal(err)
		}
		inputs = append(inputs, Input{Name: filepath.ToSlash(filepath.Join("corpus", filepath.Base(n))), Data: data})
	}
	return inputs
}

// TestCorpus vets the corpus on the worker pool: the findings must be
// those of the files checked one by one, and stay as in the golden file.
func TestCorpus(t *testing.T) {
	inputs := corpus(t)
	got := Files(inputs, nil)
	var one []Diagnostic
	for _, in := range inputs {
		one = append(one, File(in.Name, in.Data, nil)...)
	}
	sortDiagnostics(one)
	if !reflect.DeepEqual(got, one) {
		t.Error("the worker pool's findings differ from the files checked one by one")
	}
	var b bytes.Buffer
	if err := Write(&b, "text", got); err != nil {
		t.Fatal(err)
	}
	golden.CheckFile(t, filepath.Join("testdata", "corpus.golden"), b.Bytes())
}

// TestReadTrees proves that the node trees Read keeps (parsed for the
// limits) give the findings of the files parsed again, twice over: vet
// does not change a tree it is handed.
func TestReadTrees(t *testing.T) {
	inputs, errs := Read(".", []string{filepath.Join("testdata", "corpus")}, []string{"*.yml"}, 1<<20)
	if len(errs) > 0 || len(inputs) < 30 {
		t.Fatalf("Read: %d files, %v", len(inputs), errs)
	}
	kept := 0
	bare := make([]Input, len(inputs))
	for i, in := range inputs {
		if in.doc != nil {
			kept++
		}
		bare[i] = Input{Name: in.Name, Data: in.Data}
	}
	if kept != len(inputs)-1 { // broken-yaml.yml is not YAML
		t.Fatalf("Read kept %d trees of %d files", kept, len(inputs))
	}
	want := Files(bare, nil)
	for range 2 {
		if got := Files(inputs, nil); !reflect.DeepEqual(got, want) {
			t.Fatal("the findings of the trees Read kept differ from those of the files parsed again")
		}
	}
}
