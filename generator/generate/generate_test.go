package generate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
	"github.com/nuvla/nuvlagen/generator/outdir"
	"github.com/nuvla/nuvlagen/generator/pipeline"
)

var bad = pipeline.Input{Name: "bad.cue", Data: []byte("name: \"bad\"\nkind: \"nonsense\"\n")}

func examples() []pipeline.Input { return pipeline.Inputs(nuvlacue.Sites()) }

func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestWrite(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	res, err := Write(context.Background(), examples(), Options{Out: out, Jobs: 2})
	if err != nil || res.Invalid != nil {
		t.Fatal(err, res.Invalid)
	}
	if len(res.Written) != len(nuvlacue.Sites()) {
		t.Fatalf("wrote %v", res.Written)
	}
	for _, s := range res.Written {
		if s.Stacks == 0 || s.Dir != filepath.ToSlash(filepath.Join(out, s.Name)) {
			t.Errorf("site %+v", s)
		}
		if _, err := os.Stat(filepath.Join(out, s.Name, outdir.ManifestName)); err != nil {
			t.Error(err)
		}
	}
	if got := entries(t, out); len(got) != len(res.Written) {
		t.Errorf("out holds %v", got)
	}
}

// TestWriteInvalid: an input that does not render stops the run, unless
// KeepGoing, which writes the others and still reports it.
func TestWriteInvalid(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	inputs := append(examples(), bad)
	res, err := Write(context.Background(), inputs, Options{Out: out, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	var invalid *pipeline.InvalidError
	if !errors.As(res.Invalid, &invalid) || res.Written != nil || res.Warnings != nil {
		t.Fatalf("without KeepGoing: %+v", res)
	}
	if got := entries(t, out); got != nil {
		t.Errorf("an invalid run left %v", got)
	}
	res, err = Write(context.Background(), inputs, Options{Out: out, Jobs: 2, KeepGoing: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Invalid == nil || len(res.Written) != len(nuvlacue.Sites()) {
		t.Fatalf("with KeepGoing: %+v", res)
	}
}

// TestWriteForeign: a file generate did not write stops the swap, unless
// Prune, which deletes it and says so.
func TestWriteForeign(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	if _, err := Write(context.Background(), examples(), Options{Out: out, Jobs: 1}); err != nil {
		t.Fatal(err)
	}
	site := ""
	for _, s := range entries(t, out) {
		site = s
		break
	}
	foreign := filepath.Join(out, site, "notes.txt")
	if err := os.WriteFile(foreign, []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Write(context.Background(), examples(), Options{Out: out, Jobs: 1})
	var ferr *outdir.ForeignFilesError
	if !errors.As(err, &ferr) {
		t.Fatalf("foreign file: %v", err)
	}
	if _, err := os.Stat(foreign); err != nil {
		t.Fatalf("the foreign file went: %v", err)
	}
	res, err := Write(context.Background(), examples(), Options{Out: out, Jobs: 1, Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.ToSlash(filepath.Join(out, site, "notes.txt")); len(res.Pruned) != 1 || res.Pruned[0] != want {
		t.Errorf("pruned %v, want %s", res.Pruned, want)
	}
}

// TestWriteCancelled: a run whose context is done writes nothing and
// returns its cause.
func TestWriteCancelled(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	cause := errors.New("stop")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	res, err := Write(ctx, examples(), Options{Out: out, Jobs: 1})
	if !errors.Is(err, cause) || res == nil || res.Written != nil {
		t.Fatalf("cancelled run: %+v, %v", res, err)
	}
	if got := entries(t, out); got != nil {
		t.Errorf("a cancelled run left %v", got)
	}
}
