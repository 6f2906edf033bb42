package gitrev

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nuvla/nuvlagen/generator/inputfile"
)

// repo makes a repository with one commit of files (path -> content; a
// content starting with "->" is a symbolic link to the rest).
func repo(t *testing.T, files map[string]string) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if target, ok := strings.CutPrefix(c, "->"); ok {
			err = os.Symlink(target, full)
		} else {
			err = os.WriteFile(full, []byte(c), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"init", "-q"},
		{"add", "-A"},
		{"-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "c"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return dir
}

func TestExport(t *testing.T) {
	dir := repo(t, map[string]string{
		"cue/a.cue":       "a: 1\n",
		"cue/sites/b.cue": "b: 2\n",
		"sites/s.cue":     "s: 3\n",
		"sites/big.cue":   strings.Repeat("x", 200),
		"sites/link.cue":  "->s.cue",
		"out/x/f":         "f\n",
		"out/x/.hidden":   "h\n",
	})
	r, err := Open(filepath.Join(dir, "sites"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Prefix != "sites/" || !r.IsCommit("HEAD") || r.IsCommit("nope") || !r.HasDir("HEAD", "cue") || r.HasDir("HEAD", "nope") {
		t.Fatalf("Open: %+v", r)
	}
	tree, err := r.Export("HEAD", 100, []string{"cue"}, []string{"s.cue", "gone.cue", "../../outside.cue"})
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := tree.File("s.cue"); !ok || string(b) != "s: 3\n" {
		t.Errorf("File(s.cue) = %q, %v", b, ok)
	}
	if _, ok := tree.File("gone.cue"); ok {
		t.Error("a file the revision does not hold was read")
	}
	if b, err := fsRead(tree, "sites/b.cue"); err != nil || b != "b: 2\n" {
		t.Errorf("FS(cue): sites/b.cue = %q, %v", b, err)
	}
	for name, want := range map[string]string{
		"big.cue":  "HEAD:big.cue: 200B, larger than the 100B limit",
		"link.cue": "HEAD:link.cue: not a regular file (a symbolic link)",
	} {
		_, err := r.Export("HEAD", 100, nil, []string{name})
		if !inputfile.IsRefusal(err) || !strings.Contains(err.Error(), want) {
			t.Errorf("Export(%s): %v, want a refusal %q", name, err, want)
		}
	}
	out, err := r.Committed("HEAD", "out", 100)
	if err != nil || len(out) != 1 || string(out["x/f"]) != "f\n" {
		t.Errorf("Committed(out) = %q, %v; want only x/f", out, err)
	}
}

func fsRead(t *Tree, name string) (string, error) {
	b, err := fs.ReadFile(t.FS("cue"), name)
	return string(b), err
}

// TestExportAttributes: git archive's export-subst and export-ignore
// would change or drop a file; Export reads the blobs or fails.
func TestExportAttributes(t *testing.T) {
	dir := repo(t, map[string]string{
		".gitattributes": "subst.cue export-subst\nignored.cue export-ignore\n",
		"subst.cue":      "x: \"$Format:%H$\"\n",
		"ignored.cue":    "y: 1\n",
	})
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"subst.cue", "ignored.cue"} {
		if _, err := r.Export("HEAD", 1000, nil, []string{name}); err == nil {
			t.Errorf("Export(%s) read a file git archive changed", name)
		}
	}
}
