package vet

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"golang.org/x/tools/txtar"
)

// FuzzFile checks that vet never panics, whatever the bytes, and that its
// findings are well formed and deterministic. The seeds are every compose
// file of the test cases and the corpus, which the fuzzer mutates. vet
// recovers no panic: one here is a failure.
func FuzzFile(f *testing.F) {
	for _, data := range seedFiles(f) {
		f.Add(data)
	}
	f.Add([]byte(""))
	f.Add([]byte("services: {a: *x}"))
	f.Add([]byte("x: &a [*a]\nservices: {a: {<<: *a}}"))
	f.Add([]byte("services:\n  a:\n    image: n:1\n    ports: [{published: 99999999999999999999, mode: host}]\n"))
	ar, err := txtar.ParseFile(filepath.Join("testdata", "rules", "site-placement.txtar"))
	if err != nil {
		f.Fatal(err)
	}
	var opts Options
	for _, file := range ar.Files {
		if file.Name == "site.cue" {
			opts.Site = loadSite(f, file.Name, file.Data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, o := range []*Options{{}, &opts} {
			diags := File("fuzz.yml", data, o)
			for _, d := range diags {
				if _, ok := Lookup(d.Rule); !ok || d.Line < 1 || d.Column < 1 || d.Message == "" || d.File != "fuzz.yml" {
					t.Fatalf("malformed finding %+v", d)
				}
			}
			if again := File("fuzz.yml", data, o); !reflect.DeepEqual(diags, again) {
				t.Fatalf("two runs differ:\n%v\n%v", diags, again)
			}
		}
	})
}

// seedFiles returns the compose files of the test cases and the corpus.
func seedFiles(tb testing.TB) [][]byte {
	var out [][]byte
	archives, _ := filepath.Glob(filepath.Join("testdata", "rules", "*.txtar"))
	archives = append(archives, filepath.Join("testdata", "formats.txtar"))
	for _, a := range archives {
		ar, err := txtar.ParseFile(a)
		if err != nil {
			tb.Fatal(err)
		}
		for _, f := range ar.Files {
			if isCompose(f.Name) {
				out = append(out, f.Data)
			}
		}
	}
	corpus, _ := filepath.Glob(filepath.Join("testdata", "corpus", "*.yml"))
	for _, c := range corpus {
		data, err := os.ReadFile(c)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}
