package graphviz

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// childDir names, in the environment of a test binary run by drawIn, the
// directory its TestDrawChild passes to UseCache.
const childDir = "NUVLAGEN_GRAPHVIZ_TEST_CACHE"

// TestDrawChild is a whole process of drawIn's: it draws once with the
// cache in $NUVLAGEN_GRAPHVIZ_TEST_CACHE and prints the picture.
func TestDrawChild(t *testing.T) {
	dir, ok := os.LookupEnv(childDir)
	if !ok {
		t.Skip("run by drawIn, in a process of its own")
	}
	UseCache(dir)
	svg, err := Render([]byte(dot), SVG)
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.Write(svg)
}

// drawIn draws the test graph in a new process with the cache in dir
// (each process compiles the module once, so every case needs its own)
// and returns the picture.
func drawIn(t *testing.T, dir string) []byte {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDrawChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childDir+"="+dir)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("drawing with the cache in %s: %v\n%s%s", dir, err, out.Bytes(), errOut.Bytes())
	}
	svg, _, ok := bytes.Cut(out.Bytes(), []byte("</svg>\n"))
	if !ok {
		t.Fatalf("the drawing process printed no picture:\n%s", out.Bytes())
	}
	return append(svg, "</svg>\n"...)
}

// entries lists the compiled modules under a cache directory, with their
// inodes (wazero writes an entry to a new file and renames it: a process
// that loaded an entry leaves its inode as it was).
func entries(t *testing.T, dir string) map[string]uint64 {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*"))
	m := map[string]uint64{}
	for _, f := range files {
		if strings.HasSuffix(f, ".sha256") {
			continue
		}
		if _, err := os.Stat(f + ".sha256"); err != nil {
			t.Errorf("%s has no digest beside it: %v", f, err)
		}
		fi, err := os.Lstat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v: others can read or change the code it holds", f, fi.Mode())
		}
		m[f] = fi.Sys().(*syscall.Stat_t).Ino
	}
	return m
}

// TestCache: the first process that draws writes the compiled module
// into a directory it creates private; the next one loads it from there
// (the entry is not rewritten) and draws the same picture; an entry
// damaged on disk is replaced and the drawing is still made.
func TestCache(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nuvlagen", "wasm")
	want := drawIn(t, dir)
	fi, err := os.Lstat(dir)
	if err != nil {
		t.Fatalf("the cache directory was not created: %v", err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("the cache directory has mode %v, want 0700", fi.Mode().Perm())
	}
	first := entries(t, dir)
	if len(first) != 1 {
		t.Fatalf("the cache holds %d entries after the first drawing, want 1: %v", len(first), first)
	}
	if got := drawIn(t, dir); !bytes.Equal(got, want) {
		t.Error("the drawing made with the cached module differs from the first")
	}
	second := entries(t, dir)
	for f, ino := range first {
		if second[f] != ino {
			t.Errorf("the second process rewrote %s instead of loading it", f)
		}
	}

	for name, damage := range map[string]func(string) error{
		"bytes changed": func(f string) error {
			b, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			copy(b[len(b)/2:], "damaged")
			return os.WriteFile(f, b, 0o600)
		},
		"cut short": func(f string) error { return os.Truncate(f, 100) },
		// The function count and table, which wazero's checksum does not
		// cover: a huge count or a wrong offset crashed the process.
		"header changed": func(f string) error {
			b, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			copy(b[len("WAZEVO")+1+len("v1.12.0"):], []byte{0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f})
			return os.WriteFile(f, b, 0o600)
		},
		"digest lost": func(f string) error { return os.Remove(f + ".sha256") },
	} {
		t.Run(name, func(t *testing.T) {
			for f := range entries(t, dir) {
				if err := damage(f); err != nil {
					t.Fatal(err)
				}
			}
			if got := drawIn(t, dir); !bytes.Equal(got, want) {
				t.Error("the drawing made after the damage differs from the first")
			}
			after := entries(t, dir)
			if len(after) != 1 {
				t.Fatalf("the cache holds %d entries after the damage, want 1: %v", len(after), after)
			}
			for f := range after {
				if fi, err := os.Stat(f); err != nil || fi.Size() < 1<<20 {
					t.Errorf("the damaged entry was not replaced by a whole one (%v)", err)
				}
			}
			// And the replacement is loaded, not rewritten, next time.
			drawIn(t, dir)
			for f, ino := range entries(t, dir) {
				if after[f] != ino {
					t.Errorf("the entry written after the damage was not loaded the next time")
				}
			}
		})
	}
}

// TestCacheRefusesUnsafeDirs: compiled code is neither kept in nor loaded
// from a directory another user could write to, put there or swap: one
// writable by the group or the world, a symbolic link, one owned by
// another user, one below a directory another user can write (not
// sticky) or owns, or below another user's link. The drawing is made all
// the same.
func TestCacheRefusesUnsafeDirs(t *testing.T) {
	asRoot := func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("making files of another user needs root")
		}
	}
	cases := map[string]func(t *testing.T, dir string){
		"below a world-writable directory": func(t *testing.T, dir string) {
			if err := os.Chmod(filepath.Dir(dir), 0o777); err != nil {
				t.Fatal(err)
			}
		},
		"below another user's directory": func(t *testing.T, dir string) {
			asRoot(t)
			if err := os.Chown(filepath.Dir(dir), 65534, 65534); err != nil {
				t.Fatal(err)
			}
		},
		"below another user's link": func(t *testing.T, dir string) {
			asRoot(t)
			parent := filepath.Dir(dir)
			real := filepath.Join(parent, "real")
			if err := os.Mkdir(real, 0o700); err != nil {
				t.Fatal(err)
			}
			link := filepath.Join(parent, "link")
			if err := os.Symlink(real, link); err != nil {
				t.Fatal(err)
			}
			if err := os.Lchown(link, 65534, 65534); err != nil {
				t.Fatal(err)
			}
			// dir, created by UseCache's caller, under the link.
			if err := os.Remove(parent + "/wasm"); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
		},
		"world-writable": func(t *testing.T, dir string) {
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, 0o777); err != nil {
				t.Fatal(err)
			}
		},
		"group-writable": func(t *testing.T, dir string) {
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, 0o770); err != nil {
				t.Fatal(err)
			}
		},
		"a symbolic link": func(t *testing.T, dir string) {
			target := filepath.Join(filepath.Dir(dir), "elsewhere")
			if err := os.Mkdir(target, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, dir); err != nil {
				t.Fatal(err)
			}
		},
		"another user's": func(t *testing.T, dir string) {
			asRoot(t)
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(dir, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		},
	}
	want := drawIn(t, filepath.Join(t.TempDir(), "private"))
	for name, prepare := range cases {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "wasm")
			prepare(t, dir)
			if name == "below another user's link" {
				dir = filepath.Join(filepath.Dir(dir), "link", "wasm")
			}
			if got := drawIn(t, dir); !bytes.Equal(got, want) {
				t.Error("the drawing differs from one made with a private cache")
			}
			var files []string
			filepath.WalkDir(filepath.Dir(filepath.Dir(dir)), func(p string, d os.DirEntry, err error) error {
				if err == nil && strings.HasPrefix(d.Name(), "wazero-") {
					files = append(files, p)
				}
				return nil
			})
			if len(files) != 0 {
				t.Errorf("compiled code was written in an unsafe directory: %v", files)
			}
		})
	}
}

// TestCacheBelowStickyDir: a directory writable by all but sticky (as
// /tmp is) lets no one rename what is another's in it: a private cache
// below it is used.
func TestCacheBelowStickyDir(t *testing.T) {
	parent := t.TempDir()
	if err := os.Chmod(parent, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(parent, "wasm")
	drawIn(t, dir)
	if len(entries(t, dir)) != 1 {
		t.Error("no compiled code was kept below a sticky directory")
	}
}
