package cli

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/nuvla/nuvlagen/generator/pipeline"
)

func joinPath(dir, name string) string { return filepath.Join(dir, name) }

// writeSites replaces out/<site>/ for every site in files, all or nothing:
// each site is written to a temporary directory inside out first, and only
// when all are complete are they swapped in by rename, so a reader never
// sees a half-written site and a failure leaves the old output in place.
// Other entries of out (other sites) are left alone.
func writeSites(out string, files pipeline.Files) (err error) {
	bySite := map[string]pipeline.Files{}
	for _, p := range files.Paths() {
		top, rest, ok := strings.Cut(p, "/")
		if !ok || rest == "" {
			return fmt.Errorf("internal error: generated path %q is not inside a site directory", p)
		}
		if bySite[top] == nil {
			bySite[top] = pipeline.Files{}
		}
		bySite[top][rest] = files[p]
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}

	staged := map[string]string{} // site -> temporary directory
	defer func() {
		for _, tmp := range staged {
			os.RemoveAll(tmp)
		}
	}()
	for s, sf := range bySite {
		tmp, err := os.MkdirTemp(out, ".nuvlagen-"+s+"-")
		if err != nil {
			return err
		}
		staged[s] = tmp
		// MkdirTemp makes it private; the output is meant to be read.
		if err := os.Chmod(tmp, 0o755); err != nil {
			return err
		}
		if err := writeTree(tmp, sf); err != nil {
			return err
		}
	}

	// Swap: move each old directory aside, the new one in; undo on failure.
	type swap struct{ dst, old string }
	var done []swap
	rollback := func() {
		for i := len(done) - 1; i >= 0; i-- {
			os.RemoveAll(done[i].dst)
			if done[i].old != "" {
				os.Rename(done[i].old, done[i].dst)
			}
		}
	}
	for s, tmp := range staged {
		dst := filepath.Join(out, s)
		old := ""
		if _, err := os.Lstat(dst); err == nil {
			old = tmp + ".old"
			if err := os.Rename(dst, old); err != nil {
				rollback()
				return err
			}
		}
		if err := os.Rename(tmp, dst); err != nil {
			if old != "" {
				os.Rename(old, dst)
			}
			rollback()
			return err
		}
		done = append(done, swap{dst, old})
		delete(staged, s)
	}
	for _, d := range done {
		if d.old != "" {
			os.RemoveAll(d.old)
		}
	}
	return nil
}

func writeTree(dir string, files pipeline.Files) error {
	for _, p := range files.Paths() {
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if path.Ext(p) == ".sh" {
			mode = 0o755
		}
		if err := os.WriteFile(dst, files[p], mode); err != nil {
			return err
		}
	}
	return nil
}
