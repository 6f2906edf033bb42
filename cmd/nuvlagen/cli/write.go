package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/nuvla/nuvlagen/generator/pipeline"
)

func joinPath(dir, name string) string { return filepath.Join(dir, name) }

// stagePrefix starts the name of every staging directory; the rest is
// the writing process's id and start time, then a random suffix, so that
// a later run can tell a leftover of a killed run from a run going on.
const stagePrefix = ".nuvlagen-stage-"

// ownerName is the file in a staging directory naming its writer.
const ownerName = "owner"

// stageOwner is the process that writes a staging directory.
type stageOwner struct {
	pid   int
	start uint64 // in clock ticks since boot (Linux); 0 when unknown
	host  string // "" when unknown
}

// parseStageName reads the owner from a staging directory's name.
func parseStageName(name string) (stageOwner, bool) {
	rest, ok := strings.CutPrefix(name, stagePrefix)
	if !ok {
		return stageOwner{}, false
	}
	parts := strings.Split(rest, "-")
	if len(parts) != 3 {
		return stageOwner{}, false
	}
	pid, err1 := strconv.Atoi(parts[0])
	start, err2 := strconv.ParseUint(parts[1], 10, 64)
	if err1 != nil || err2 != nil || pid <= 0 {
		return stageOwner{}, false
	}
	return stageOwner{pid: pid, start: start}, true
}

// staleStage says whether the staging directory dir (named name) is a
// leftover: its writer is gone. A directory of another host, or one
// whose name nuvlagen does not know, is never stale.
func staleStage(dir, name string) (stageOwner, bool) {
	o, ok := parseStageName(name)
	if !ok {
		return o, false
	}
	if b, err := os.ReadFile(filepath.Join(dir, ownerName)); err == nil {
		for line := range strings.Lines(string(b)) {
			if h, ok := strings.CutPrefix(strings.TrimSpace(line), "host "); ok {
				o.host = h
			}
		}
	}
	if host, _ := os.Hostname(); o.host != "" && o.host != host {
		return o, false
	}
	return o, !processAlive(o.pid, o.start)
}

// processAlive says whether process pid, started at start (0: unknown),
// still runs; a pid taken by a later process is not it.
func processAlive(pid int, start uint64) bool {
	if pid == os.Getpid() {
		s, _ := procStart(pid)
		return s == start
	}
	if start != 0 {
		s, err := procStart(pid)
		if err == nil {
			return s == start
		}
		if _, self := procStart(os.Getpid()); self == nil && errors.Is(err, fs.ErrNotExist) {
			return false // /proc works here and has no such process
		}
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return !errors.Is(p.Signal(syscall.Signal(0)), os.ErrProcessDone)
}

// procStart reads a process's start time from /proc (Linux).
func procStart(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// pid (comm) state ppid ...: comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	fields := strings.Fields(string(b[i+1:]))
	const startField = 22 - 3 // starttime is field 22; fields[0] is field 3
	if len(fields) <= startField {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return strconv.ParseUint(fields[startField], 10, 64)
}

// removeStaleStages removes the staging directories of out whose writers
// are gone, and returns their names.
func removeStaleStages(out string) ([]string, error) {
	entries, err := os.ReadDir(out)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, en := range entries {
		dir := filepath.Join(out, en.Name())
		if !en.IsDir() {
			continue
		}
		if _, stale := staleStage(dir, en.Name()); !stale {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			return removed, err
		}
		removed = append(removed, en.Name())
	}
	return removed, nil
}

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
	// Removed are the leftover staging directories of killed runs that
	// newStager removed.
	removed []string

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
	removed, err := removeStaleStages(out)
	st.removed = removed
	if err != nil {
		return st, fmt.Errorf("removing a leftover staging directory: %w", err)
	}
	start, _ := procStart(os.Getpid())
	root, err := os.MkdirTemp(out, fmt.Sprintf("%s%d-%d-", stagePrefix, os.Getpid(), start))
	if err != nil {
		st.abort()
		return nil, err
	}
	st.root = root
	host, _ := os.Hostname()
	owner := fmt.Sprintf("nuvlagen generate staging directory; removed by the next generate once this process is gone\npid %d\nstart %d\nhost %s\n", os.Getpid(), start, host)
	if err := os.WriteFile(filepath.Join(root, ownerName), []byte(owner), 0o644); err != nil {
		st.abort()
		return nil, err
	}
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
