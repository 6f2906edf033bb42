// Package gitrev reads the files of a git revision for "nuvlagen diff
// --base": the entries are listed once with "git ls-tree -l" (only
// regular files, none over the size limit) and their contents read with
// one "git archive", never a process per file.
package gitrev

import (
	"archive/tar"
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing/fstest"

	"github.com/nuvla/nuvlagen/generator/inputfile"
)

// Repo is the git repository holding a working directory.
type Repo struct {
	// Root is the top of the work tree; Prefix, the working directory
	// relative to it ("" or ending in "/").
	Root, Prefix string
	cwd          string
}

// Open finds the repository of the working directory cwd.
func Open(cwd string) (*Repo, error) {
	top, err := git(cwd, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, err
	}
	prefix, err := git(cwd, "rev-parse", "--show-prefix")
	if err != nil {
		return nil, err
	}
	return &Repo{Root: strings.TrimSpace(string(top)), Prefix: strings.TrimSpace(string(prefix)), cwd: cwd}, nil
}

// IsCommit says whether rev names a commit of the repository.
func (r *Repo) IsCommit(rev string) bool {
	_, err := git(r.cwd, "rev-parse", "--verify", "--quiet", rev+"^{commit}")
	return err == nil
}

// List returns the names of the entries of directory dir (relative to the
// working directory) at rev, relative to the working directory.
func (r *Repo) List(rev, dir string) ([]string, error) {
	// Without --full-name, ls-tree names paths relative to the working
	// directory, as the work tree's are.
	out, err := git(r.cwd, "ls-tree", "-z", "--name-only", rev, "--", filepath.ToSlash(filepath.Clean(dir))+"/")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, n := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		if n != "" {
			names = append(names, n)
		}
	}
	return names, nil
}

// HasDir says whether rev holds dir, relative to the repository's root.
func (r *Repo) HasDir(rev, dir string) bool {
	out, err := git(r.Root, "ls-tree", "--name-only", rev, "--", dir)
	return err == nil && len(out) > 0
}

// Tree is what Export read of a revision.
type Tree struct {
	rev    string
	prefix string
	files  map[string][]byte // by path relative to the repository's root
}

// Export reads at rev every file under the directories dirs (relative to
// the repository's root) and the files named (relative to the working
// directory; those rev does not hold are left out). Every entry must be
// a regular file of at most max bytes: anything else is a refusal
// (inputfile.RefusalError) naming it REV:PATH.
func (r *Repo) Export(rev string, max int64, dirs, files []string) (*Tree, error) {
	t := &Tree{rev: rev, prefix: r.Prefix, files: map[string][]byte{}}
	var entries []entry
	if len(dirs) > 0 {
		es, err := r.tree(rev, max, nil, append([]string{"-r", "--"}, dirs...)...)
		if err != nil {
			return nil, err
		}
		entries = append(entries, es...)
	}
	if len(files) > 0 {
		shown := map[string]string{} // full name -> the name asked for
		args := []string{"--"}
		for _, n := range files {
			full, ok := r.full(n)
			if !ok {
				continue // outside the repository: not in rev, a new site
			}
			shown[full] = filepath.ToSlash(filepath.Clean(n))
			args = append(args, full)
		}
		if len(args) > 1 {
			es, err := r.tree(rev, max, shown, args...)
			if err != nil {
				return nil, err
			}
			entries = append(entries, es...)
		}
	}
	if len(entries) == 0 {
		return t, nil
	}
	args := []string{"archive", "--format=tar", rev, "--"}
	want := map[string]entry{}
	for _, e := range entries {
		args = append(args, e.path)
		want[e.path] = e
	}
	err := archive(r.Root, args, func(h *tar.Header, body io.Reader) error {
		e, ok := want[h.Name]
		if !ok || h.Typeflag != tar.TypeReg {
			return nil
		}
		if h.Size > max {
			return inputfile.TooLarge(rev+":"+e.shown, h.Size, max)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			return err
		}
		// git archive applies the export-subst and export-ignore
		// attributes: only the blob itself will do.
		if !sameObject(e.object, b) {
			return fmt.Errorf("git archive %s: %s is not the blob %s (export-subst in .gitattributes?)", rev, e.path, e.object)
		}
		t.files[e.path] = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	for p, e := range want {
		if _, ok := t.files[p]; !ok {
			return nil, fmt.Errorf("git archive %s: %s is missing (export-ignore in .gitattributes?)", rev, e.path)
		}
	}
	return t, nil
}

// full is name (relative to the working directory, or absolute) relative
// to the repository's root; false when it is outside.
func (r *Repo) full(name string) (string, bool) {
	if filepath.IsAbs(name) {
		rel, err := filepath.Rel(r.Root, name)
		if err != nil {
			return "", false
		}
		name = rel
	} else {
		name = r.Prefix + filepath.ToSlash(name)
	}
	p := path.Clean(filepath.ToSlash(name))
	if p == "." || p == ".." || strings.HasPrefix(p, "../") || path.IsAbs(p) {
		return "", false
	}
	return p, true
}

// File returns the file name (relative to the working directory), and
// false when the revision does not hold it.
func (t *Tree) File(name string) ([]byte, bool) {
	b, ok := t.files[path.Clean(t.prefix+filepath.ToSlash(name))]
	return b, ok
}

// FS is the directory dir (relative to the repository's root) of the tree.
func (t *Tree) FS(dir string) fs.FS {
	m := fstest.MapFS{}
	for p, b := range t.files {
		if rest, ok := strings.CutPrefix(p, dir+"/"); ok {
			m[rest] = &fstest.MapFile{Data: b, Mode: 0o444}
		}
	}
	return m
}

// Committed reads the regular files under dir (relative to the
// repository's root) at rev, by path relative to dir, skipping hidden
// ones and refusing any larger than max: the output committed there. The
// archive is read as git writes it, never held whole.
func (r *Repo) Committed(rev, dir string, max int64) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := archive(r.Root, []string{"archive", "--format=tar", rev, "--", dir}, func(h *tar.Header, body io.Reader) error {
		if h.Typeflag != tar.TypeReg {
			return nil
		}
		rel, ok := strings.CutPrefix(h.Name, dir+"/")
		if !ok || strings.HasPrefix(path.Base(rel), ".") {
			return nil
		}
		if h.Size > max {
			return inputfile.TooLarge(rev+":"+h.Name, h.Size, max)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			return err
		}
		files[rel] = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	return files, nil
}

// archive runs git with args (an archive command) in dir and calls each
// for every entry of the tar it writes, as it writes it.
func archive(dir string, args []string, each func(*tar.Header, io.Reader) error) (err error) {
	cmd := exec.Command("git", append([]string{"--literal-pathspecs"}, args...)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = cmd.Process.Kill()
		}
		_, _ = io.Copy(io.Discard, out) // the archive's padding
		if werr := cmd.Wait(); werr != nil && err == nil {
			err = fmt.Errorf("git %s: %s", strings.Join(args, " "), strings.TrimSpace(stderr.String()))
		}
	}()
	tr := tar.NewReader(out)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := each(h, tr); err != nil {
			return err
		}
	}
}

// sameObject says whether b is the blob named id (SHA-1 or SHA-256).
func sameObject(id string, b []byte) bool {
	head := fmt.Appendf(nil, "blob %d\x00", len(b))
	switch len(id) {
	case 2 * sha1.Size:
		h := sha1.New()
		h.Write(head)
		h.Write(b)
		return hex.EncodeToString(h.Sum(nil)) == id
	case 2 * sha256.Size:
		h := sha256.New()
		h.Write(head)
		h.Write(b)
		return hex.EncodeToString(h.Sum(nil)) == id
	}
	return false
}

// entry is one line of git ls-tree -l.
type entry struct {
	mode, kind, object, path string
	shown                    string // the name in refusals
	size                     int64
}

// tree lists the entries git ls-tree -l finds with args at rev (from the
// repository's root), refusing any that is not a regular file or is
// larger than max. shown maps full names to the names refusals use.
func (r *Repo) tree(rev string, max int64, shown map[string]string, args ...string) ([]entry, error) {
	out, err := git(r.Root, append([]string{"--literal-pathspecs", "ls-tree", "-z", "-l", "--full-name", rev}, args...)...)
	if err != nil {
		return nil, err
	}
	var entries []entry
	for _, line := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		if line == "" {
			continue
		}
		meta, name, ok := strings.Cut(line, "\t")
		f := strings.Fields(meta)
		if !ok || len(f) != 4 {
			return nil, fmt.Errorf("git ls-tree: unexpected line %q", line)
		}
		t := entry{mode: f[0], kind: f[1], object: f[2], path: name, shown: name}
		if s, ok := shown[name]; ok {
			t.shown = s
		}
		where := rev + ":" + t.shown
		switch {
		case t.kind == "tree":
			return nil, inputfile.Refused(where, "not a regular file (a directory)")
		case t.mode == "120000":
			return nil, inputfile.Refused(where, "not a regular file (a symbolic link)")
		case t.kind != "blob":
			return nil, inputfile.Refused(where, "not a regular file (a %s)", t.kind)
		}
		if t.size, err = strconv.ParseInt(f[3], 10, 64); err != nil {
			return nil, fmt.Errorf("git ls-tree: unexpected size in %q", line)
		}
		if t.size > max {
			return nil, inputfile.TooLarge(where, t.size, max)
		}
		entries = append(entries, t)
	}
	return entries, nil
}

// git runs git in dir and returns its standard output.
func git(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("git %s: %s", strings.Join(args, " "), msg)
	}
	return out, nil
}
