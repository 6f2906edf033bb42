// Package golden is the tests' harness for golden files, in the spirit of
// cue's internal/cuetxtar: a case is a txtar archive holding its inputs
// and its expected outputs, a test computes the outputs from the inputs,
// and Check compares them section by section with go-cmp, failing on a
// missing, extra or different section. UPDATE_GOLDEN=1 (make golden)
// rewrites the expected outputs instead.
package golden

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"
)

// Root is the repository's root directory, found from this file's
// location rather than the working directory, which tests change.
func Root(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller information")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Env is the environment variable that asks for goldens to be rewritten.
const Env = "UPDATE_GOLDEN"

// Update reports whether goldens are to be rewritten rather than
// compared.
func Update() bool { return os.Getenv(Env) != "" }

// Case is one golden archive.
type Case struct {
	// Path is the archive's file, relative to the test's directory.
	Path    string
	Archive *txtar.Archive
	// IsOutput tells the sections that hold expected output from the
	// inputs.
	IsOutput func(name string) bool
}

// Prefix returns an IsOutput for the sections whose names start with p.
func Prefix(p string) func(string) bool {
	return func(name string) bool { return strings.HasPrefix(name, p) }
}

// Names returns an IsOutput for the sections with one of these names.
func Names(names ...string) func(string) bool {
	return func(name string) bool { return slices.Contains(names, name) }
}

// All is the IsOutput of an archive that holds only outputs.
func All(string) bool { return true }

// Open reads the archive at path. A missing archive is an empty one when
// goldens are being rewritten (Check then creates it), and fails the test
// otherwise.
func Open(t testing.TB, path string, isOutput func(string) bool) *Case {
	t.Helper()
	ar, err := txtar.ParseFile(path)
	if errors.Is(err, fs.ErrNotExist) && Update() {
		ar, err = &txtar.Archive{}, nil
	}
	if err != nil {
		t.Fatalf("%v (%s=1 go test creates it)", err, Env)
	}
	return &Case{Path: path, Archive: ar, IsOutput: isOutput}
}

// Run runs f on every archive that matches pattern, each in a subtest
// named after its file without .txtar, and checks the outputs f returns.
// No archive at all fails the test.
func Run(t *testing.T, pattern string, isOutput func(string) bool, f func(t *testing.T, c *Case) []txtar.File) {
	t.Helper()
	paths, err := filepath.Glob(pattern)
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden cases %s: %v", pattern, err)
	}
	for _, p := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(p), ".txtar"), func(t *testing.T) {
			c := Open(t, p, isOutput)
			c.Check(t, f(t, c))
		})
	}
}

// Inputs returns the sections that are not outputs, in archive order.
func (c *Case) Inputs() []txtar.File {
	var in []txtar.File
	for _, f := range c.Archive.Files {
		if !c.IsOutput(f.Name) {
			in = append(in, f)
		}
	}
	return in
}

// Section returns the content of the section called name.
func (c *Case) Section(name string) ([]byte, bool) {
	for _, f := range c.Archive.Files {
		if f.Name == name {
			return f.Data, true
		}
	}
	return nil, false
}

// Check compares got, the outputs, with the archive's output sections: a
// section missing from either side or different fails the test, with the
// go-cmp diff (-want +got) of its lines. When goldens are being rewritten
// it writes the archive instead: its comment and inputs as they are, then
// got, in the order given.
func (c *Case) Check(t testing.TB, got []txtar.File) {
	t.Helper()
	for _, f := range got {
		if !c.IsOutput(f.Name) {
			t.Fatalf("%s: output %s would read as an input", c.Path, f.Name)
		}
	}
	if Update() {
		c.Archive.Files = append(c.Inputs(), got...)
		if err := os.WriteFile(c.Path, txtar.Format(c.Archive), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want := map[string][]byte{}
	for _, f := range c.Archive.Files {
		if c.IsOutput(f.Name) {
			want[f.Name] = f.Data
		}
	}
	for _, f := range got {
		w, ok := want[f.Name]
		if !ok {
			t.Errorf("%s: %s is produced, but not in the archive (%s=1 adds it)", c.Path, f.Name, Env)
			continue
		}
		delete(want, f.Name)
		if d := Diff(w, f.Data); d != "" {
			t.Errorf("%s: %s differs (-want +got):\n%s", c.Path, f.Name, d)
		}
	}
	for _, name := range sortedKeys(want) {
		t.Errorf("%s: %s is in the archive, but not produced (%s=1 removes it)", c.Path, name, Env)
	}
}

// CheckFile compares got with the file at path, or rewrites the file.
func CheckFile(t testing.TB, path string, got []byte) {
	t.Helper()
	if Update() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (%s=1 go test creates it)", err, Env)
	}
	if d := Diff(want, got); d != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, d)
	}
}

// Diff is the go-cmp diff of two texts by line, empty when they are
// equal.
func Diff(want, got []byte) string {
	if bytes.Equal(want, got) {
		return ""
	}
	return cmp.Diff(strings.Split(string(want), "\n"), strings.Split(string(got), "\n"))
}

// Sorted returns files as sections sorted by name, each name prefixed
// with prefix.
func Sorted(prefix string, files map[string][]byte) []txtar.File {
	out := make([]txtar.File, 0, len(files))
	for _, p := range sortedKeys(files) {
		out = append(out, txtar.File{Name: prefix + p, Data: files[p]})
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
