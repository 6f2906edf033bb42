package cli

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/nuvla/nuvlagen/generator/pipeline"
)

func joinPath(dir, name string) string { return filepath.Join(dir, name) }

// stager writes sites into out/ all or nothing. Each site is written, as
// soon as it is rendered, into a private staging directory inside out (so
// that a run over many sites need not hold their files in memory); only
// when every site is staged are they swapped in by rename, so a reader
// never sees a half-written site and a failure leaves the old output in
// place. Other entries of out (other sites) are left alone.
type stager struct {
	ctx     context.Context // when done, nothing more is staged
	out     string
	created bool   // out did not exist before
	root    string // the staging directory, inside out

	mu     sync.Mutex
	staged map[string][]int // site name -> the inputs that staged it
}

func newStager(ctx context.Context, out string) (*stager, error) {
	st := &stager{ctx: ctx, out: out, staged: map[string][]int{}}
	if _, err := os.Stat(out); os.IsNotExist(err) {
		st.created = true
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	root, err := os.MkdirTemp(out, ".nuvlagen-")
	if err != nil {
		st.abort()
		return nil, err
	}
	st.root = root
	return st, nil
}

// stage writes one site of input i. files are relative to out, inside the
// site's directory. Safe for concurrent use; once the stager's context is
// done it writes nothing more and returns its error.
func (st *stager) stage(i int, site string, files pipeline.Files) error {
	dir := filepath.Join(st.root, fmt.Sprint(i), site)
	for _, p := range files.Paths() {
		if err := st.ctx.Err(); err != nil {
			return err
		}
		rest, ok := strings.CutPrefix(p, site+"/")
		if !ok || rest == "" {
			return fmt.Errorf("internal error: generated path %q is not inside site directory %s", p, site)
		}
		dst := filepath.Join(dir, filepath.FromSlash(rest))
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
	st.mu.Lock()
	st.staged[site] = append(st.staged[site], i)
	st.mu.Unlock()
	return nil
}

// commit swaps every staged site into out; where inputs staged the same
// site name, the first input's wins, whatever order they finished in.
func (st *stager) commit() error {
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
	for site, inputs := range st.staged {
		first := inputs[0]
		for _, i := range inputs {
			first = min(first, i)
		}
		src := filepath.Join(st.root, fmt.Sprint(first), site)
		dst := filepath.Join(st.out, site)
		old := ""
		if _, err := os.Lstat(dst); err == nil {
			old = filepath.Join(st.root, "old-"+site)
			if err := os.Rename(dst, old); err != nil {
				rollback()
				return err
			}
		}
		if err := os.Rename(src, dst); err != nil {
			if old != "" {
				os.Rename(old, dst)
			}
			rollback()
			return err
		}
		done = append(done, swap{dst, old})
	}
	err := os.RemoveAll(st.root)
	if len(st.staged) == 0 && st.created {
		os.Remove(st.out) // nothing rendered: leave no empty directory
	}
	return err
}

// abort removes everything staged, and out itself if this run created it.
func (st *stager) abort() {
	if st.root != "" {
		os.RemoveAll(st.root)
	}
	if st.created {
		os.Remove(st.out) // only if empty
	}
}
