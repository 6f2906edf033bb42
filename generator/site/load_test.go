package site

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
)

// TestLoaderFromFiles: the model read from a directory loads the same
// sites as the embedded one, and a model that differs (another revision's)
// yields sites that differ accordingly.
func TestLoaderFromFiles(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "cue")
	schema, sites, err := nuvlacue.Read(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(schema) != len(nuvlacue.Schema()) || len(sites) != len(nuvlacue.Sites()) {
		t.Fatalf("read %d schema and %d site files, embedded %d and %d", len(schema), len(sites), len(nuvlacue.Schema()), len(nuvlacue.Sites()))
	}
	l, err := NewLoaderFromFiles(schema)
	if err != nil {
		t.Fatal(err)
	}
	got, err := l.LoadFiles(sites)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Name != "example-host" || got[0].Networks.Public != "traefik-public" {
		t.Fatalf("loaded %d sites: %+v", len(got), got)
	}

	// Another model: a different default for the public network.
	for i := range schema {
		if schema[i].Name == "cue/site.cue" {
			schema[i].Data = []byte(strings.Replace(string(schema[i].Data), `*"traefik-public"`, `*"edge-public"`, 1))
		}
	}
	l, err = NewLoaderFromFiles(schema)
	if err != nil {
		t.Fatal(err)
	}
	got, err = l.LoadFiles(sites[:1])
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Networks.Public != "edge-public" {
		t.Errorf("public network %q, want the edited model's default edge-public", got[0].Networks.Public)
	}

	if _, err := NewLoaderFromFiles(nil); err == nil {
		t.Error("NewLoaderFromFiles(nil): no error")
	}
	if _, err := NewLoaderFromFiles([]nuvlacue.File{{Name: "cue/bad.cue", Data: []byte("package nuvla\nx: 1 & 2\n")}}); err == nil {
		t.Error("a model that does not compile: no error")
	}
	// A directory without sites/ has a model and no sites.
	s, ss, err := nuvlacue.Read(fstest.MapFS{"a.cue": {Data: []byte("package nuvla\n")}})
	if err != nil || len(s) != 1 || len(ss) != 0 {
		t.Errorf("Read without sites/: %d, %d, %v", len(s), len(ss), err)
	}
}
