// Package outdir reads and writes directories of generated output: the
// file-mode policy, the manifest of each site directory, the staging
// directories generate writes through, and the drift report of check.
// Rendering stays pure (generator/pipeline); this package is the one that
// touches the output on disk.
package outdir

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nuvla/nuvlagen/generator/artifact"
	"github.com/nuvla/nuvlagen/generator/inputfile"
	"github.com/nuvla/nuvlagen/generator/pipeline"
)

// ManifestName is the file in each site directory that lists what
// generate wrote there: generate deletes no other file, and check
// compares it like any other output.
const ManifestName = ".nuvlagen-manifest"

// Mode is the mode generate writes a file with: scripts are executable,
// nothing else is.
func Mode(p string) os.FileMode {
	if path.Ext(p) == ".sh" {
		return 0o755
	}
	return 0o644
}

// Manifest returns the manifest of a site's files (paths relative to the
// output directory, prefixed with the site's name), in sha256sum's
// format so that "sha256sum -c .nuvlagen-manifest" verifies the site's
// directory: sorted paths relative to it, no timestamps; after the
// header, the record of what rendered them (see writeRecord).
func Manifest(site string, files pipeline.Files, rec pipeline.Record) []byte {
	return manifestOf(site, rec, fileSums(site, files))
}

// fileSums are the sha256 sums of a site's files (paths relative to the
// output directory, prefixed with the site's name) but its manifest, by
// path relative to the site's directory, in hex.
func fileSums(site string, files pipeline.Files) map[string]string {
	sums := map[string]string{}
	for p, b := range files {
		if rest, ok := strings.CutPrefix(p, site+"/"); ok && rest != ManifestName {
			sums[rest] = fmt.Sprintf("%x", sha256.Sum256(b))
		}
	}
	return sums
}

// manifestOf is the manifest of a site whose files (relative to its
// directory) have the sha256 sums given, in hex.
func manifestOf(site string, rec pipeline.Record, sums map[string]string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s for site %s; DO NOT EDIT.\n", artifact.Mark, site)
	b.WriteString("# The files generate wrote here; it deletes no other file (see generate --prune).\n")
	writeRecord(&b, rec)
	for p := range sortedKeys(sums) {
		fmt.Fprintf(&b, "%s  %s\n", sums[p], p)
	}
	return b.Bytes()
}

// readManifest returns the paths a site directory's manifest lists, and
// false when there is no manifest.
func readManifest(dir string) (map[string]bool, bool, error) {
	f, err := os.Open(filepath.Join(dir, ManifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	listed := map[string]bool{ManifestName: true}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if _, p, ok := strings.Cut(line, "  "); ok {
			listed[p] = true
		}
	}
	return listed, true, sc.Err()
}

// HasGeneratedHeader says whether the file's first lines carry the
// header of generated files.
func HasGeneratedHeader(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	return bytes.Contains(head[:n], []byte(artifact.Mark))
}

// ForeignFilesError is returned when a site directory that generate
// would replace holds files it did not write.
type ForeignFilesError struct {
	Dir   string   // the site directory
	Files []string // relative to Dir, sorted
	Why   string   // how they were told apart
}

func (e *ForeignFilesError) Error() string {
	return fmt.Sprintf("%s holds %d file(s) generate did not write (%s), which replacing it would delete: %s; move them out of it, or run generate --prune to delete them",
		e.Dir, len(e.Files), e.Why, strings.Join(e.Files, ", "))
}

// foreignFiles lists the files of the site directory dst that generate
// did not write: those its manifest does not list or, with no manifest
// (output of an older nuvlagen), those without the generated header;
// except a file equal to the one about to replace it (staged in src).
func foreignFiles(dst, src string) (*ForeignFilesError, error) {
	info, err := os.Lstat(dst)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return &ForeignFilesError{Dir: filepath.Dir(dst), Files: []string{filepath.Base(dst)}, Why: "not a directory"}, nil
	}
	listed, haveManifest, err := readManifest(dst)
	if err != nil {
		return nil, err
	}
	ferr := &ForeignFilesError{Dir: dst, Why: "not in its " + ManifestName}
	if !haveManifest {
		ferr.Why = "no " + ManifestName + ", and no generated header"
	}
	err = filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dst, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.Type().IsRegular() {
			if haveManifest && listed[rel] || !haveManifest && HasGeneratedHeader(p) {
				return nil
			}
			// Replaced by the same bytes: nothing is lost.
			mine, err1 := os.ReadFile(filepath.Join(src, filepath.FromSlash(rel)))
			theirs, err2 := os.ReadFile(p)
			if err1 == nil && err2 == nil && bytes.Equal(mine, theirs) {
				return nil
			}
		}
		ferr.Files = append(ferr.Files, rel)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(ferr.Files) == 0 {
		return nil, nil
	}
	sort.Strings(ferr.Files)
	return ferr, nil
}

// StagePrefix starts the name of every staging directory; the rest is
// the writing process's id and start time, then a random suffix, so that
// a later run can tell a leftover of a killed run from a run going on.
const StagePrefix = ".nuvlagen-stage-"

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
	rest, ok := strings.CutPrefix(name, StagePrefix)
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

// StageName is the name of a staging directory of this process, with
// suffix: what NewStager names its own (with a random suffix).
func StageName(suffix string) string {
	start, _ := procStart(os.Getpid())
	return fmt.Sprintf("%s%d-%d-%s", StagePrefix, os.Getpid(), start, suffix)
}

// removeStaleStages removes the staging directories of out whose writers
// are gone, and returns their names and the errors of those it could not
// remove (which do not stop a run: check keeps reporting them).
func removeStaleStages(out string) (removed []string, errs []error) {
	entries, err := os.ReadDir(out)
	if err != nil {
		return nil, []error{err}
	}
	for _, en := range entries {
		dir := filepath.Join(out, en.Name())
		if !en.IsDir() {
			continue
		}
		if _, stale := staleStage(dir, en.Name()); !stale {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, fmt.Errorf("removing %s, the staging directory of an interrupted run: %w", dir, err))
			continue
		}
		removed = append(removed, en.Name())
	}
	return removed, errs
}

// Stager writes sites into out/ all or nothing. Each site is written, as
// soon as it is rendered, into a private staging directory inside out (so
// that a run over many sites need not hold their files in memory); only
// when every site is staged are they swapped in by rename, so a reader
// never sees a half-written site and a failure leaves the old output in
// place. Other entries of out (other sites) are left alone, and so is
// every file of a site directory that generate did not write, unless
// prune.
type Stager struct {
	ctx     context.Context // when done, nothing more is staged
	out     string
	created bool   // out did not exist before
	root    string // the staging directory, inside out
	prune   bool   // delete files of site directories generate did not write
	// Removed are the leftover staging directories of killed runs that
	// NewStager removed; Leftovers, why it could not remove others.
	Removed   []string
	Leftovers []error
	// Pruned are the files Commit deleted with prune, relative to out.
	Pruned []string

	mu     sync.Mutex
	staged map[string][]int        // site name -> the inputs that staged it
	stamps map[string]string       // staged site directory -> stat digest of its files
	linked map[string][]linkedFile // staged site directory -> the files it linked from the one it replaces
	err    error                   // the first error of Take
}

// Take stages a rendered site of input i and drops its files from
// memory: a pipeline.Options.Take. Its first error is Err's.
func (st *Stager) Take(i int, s *pipeline.Rendered) {
	if s.Reused {
		return // out holds it already
	}
	err := st.Stage(i, s.Name, s.Files, s.Record)
	s.Files = nil // written: no need to hold it
	if err != nil && st.ctx.Err() == nil {
		st.mu.Lock()
		if st.err == nil {
			st.err = err
		}
		st.mu.Unlock()
	}
}

// Err is the first error of Take.
func (st *Stager) Err() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.err
}

// NewStager creates out if need be, removes the leftovers of killed runs
// (see Removed, Leftovers) and the staging directory of this run.
func NewStager(ctx context.Context, out string, prune bool) (*Stager, error) {
	st := &Stager{ctx: ctx, out: out, prune: prune, staged: map[string][]int{}, stamps: map[string]string{}, linked: map[string][]linkedFile{}}
	if _, err := os.Stat(out); os.IsNotExist(err) {
		st.created = true
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	st.Removed, st.Leftovers = removeStaleStages(out)
	start, _ := procStart(os.Getpid())
	root, err := os.MkdirTemp(out, fmt.Sprintf("%s%d-%d-", StagePrefix, os.Getpid(), start))
	if err != nil {
		st.Abort()
		return nil, err
	}
	st.root = root
	host, _ := os.Hostname()
	owner := fmt.Sprintf("nuvlagen generate staging directory; removed by the next generate once this process is gone\npid %d\nstart %d\nhost %s\n", os.Getpid(), start, host)
	if err := os.WriteFile(filepath.Join(root, ownerName), []byte(owner), 0o644); err != nil {
		st.Abort()
		return nil, err
	}
	return st, nil
}

// Stage writes one site of input i, and its manifest with the site's
// record. files are relative to out, inside the site's directory. Safe
// for concurrent use; once the stager's context is done it writes
// nothing more and returns its error.
func (st *Stager) Stage(i int, site string, files pipeline.Files, rec pipeline.Record) error {
	dir := filepath.Join(st.root, fmt.Sprint(i), site)
	all := pipeline.Files{}
	for p, b := range files {
		all[p] = b
	}
	sums := fileSums(site, files)
	all[site+"/"+ManifestName] = manifestOf(site, rec, sums)
	sums[ManifestName] = sum(all[site+"/"+ManifestName])
	prevDir := filepath.Join(st.out, site)
	var linked []linkedFile
	prev := previousFiles(prevDir)
	made := map[string]bool{} // one MkdirAll per directory, not per file
	for _, p := range all.Paths() {
		if err := st.ctx.Err(); err != nil {
			return err
		}
		rest, ok := strings.CutPrefix(p, site+"/")
		if !ok || rest == "" {
			return fmt.Errorf("internal error: generated path %q is not inside site directory %s", p, site)
		}
		dst := filepath.Join(dir, filepath.FromSlash(rest))
		if d := filepath.Dir(dst); !made[d] {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return err
			}
			made[d] = true
		}
		// A file the site directory holds already, with the same mode,
		// owner and bytes, is linked rather than written again: a site
		// rendered again mostly writes what it wrote before, and
		// creating a file costs a new inode (247 µs each on the ext4 of
		// docs/performance.md) and its data written back to disk. The
		// old directory is only unlinked when the new one is swapped
		// in, so an interrupted run still leaves it as it was; until
		// then the two share the file, so Commit hashes it again before
		// swapping anything (a write into the old file meanwhile fails
		// the run). A file of another owner or group is written: a
		// link would keep its owner (root links any file). Where linking
		// fails (another file system, one without hard links), the file
		// is written.
		if info, ok := prev[rest]; ok && info.Mode() == Mode(p) && info.Size() == int64(len(all[p])) && info.Size() <= MaxFile && ownFile(info) {
			old := filepath.Join(prevDir, filepath.FromSlash(rest))
			if sameContent(old, all[p]) && os.Link(old, dst) == nil {
				linked = append(linked, linkedFile{staged: dst, rel: path.Join(site, rest), sum: sums[rest]})
				continue
			}
		}
		if err := os.WriteFile(dst, all[p], Mode(p)); err != nil {
			return err
		}
	}
	// The stat data of the files as written: if they are the same after
	// the swap, nobody touched them (Index.Written).
	var digest string
	if tree, err := statTree(dir); err == nil {
		digest, _ = statDigest(tree, time.Now())
	}
	st.mu.Lock()
	st.staged[site] = append(st.staged[site], i)
	st.stamps[dir] = digest
	st.linked[dir] = linked
	st.mu.Unlock()
	return nil
}

// linkedFile is a file Stage linked from the site directory it replaces.
type linkedFile struct {
	staged string // its path in the staging directory
	rel    string // relative to out
	sum    string // the sha256 of what Stage found it to hold, in hex
}

// ownFile says whether a file is the process's own, user and group: what
// a file it writes would be.
func ownFile(info fs.FileInfo) bool {
	st, ok := statOf(info)
	return ok && st.uid == uint32(os.Geteuid()) && st.gid == uint32(os.Getegid())
}

// changedLinks is the first of the linked files (in path order) that no
// longer holds what Stage found in it, or no longer has its mode or
// owner, hashed on all cores.
func changedLinks(files []linkedFile) error {
	slices.SortFunc(files, func(a, b linkedFile) int { return strings.Compare(a.rel, b.rel) })
	errs := make([]error, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(files)) {
		wg.Go(func() {
			for i := range next {
				f := files[i]
				h, info, err := hashFileInfo(f.staged)
				switch {
				case err != nil:
					errs[i] = fmt.Errorf("%s, read again before it is swapped in: %w", f.rel, err)
				case h != f.sum || info.Mode() != Mode(f.rel) || !ownFile(info):
					errs[i] = fmt.Errorf("%s changed while generate ran (its bytes, mode or owner): nothing is written; run generate again", f.rel)
				}
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// previousFiles are the regular files of a site's directory in out, by
// path relative to it, with their lstat data: none when it is not a
// directory (a link to one included), and none below a link.
func previousFiles(dir string) map[string]fs.FileInfo {
	if info, err := os.Lstat(dir); err != nil || !info.IsDir() {
		return nil
	}
	files, err := statTree(dir)
	if err != nil {
		return nil
	}
	prev := make(map[string]fs.FileInfo, len(files))
	for _, f := range files {
		if f.info.Mode().IsRegular() {
			prev[f.rel] = f.info
		}
	}
	return prev
}

// sameContent says whether the regular file at path holds want.
func sameContent(path string, want []byte) bool {
	f, info, err := inputfile.OpenInfo(path, int64(len(want)))
	if err != nil {
		return false
	}
	defer f.Close()
	if info.Size() != int64(len(want)) {
		return false
	}
	buf := hashBuffers.Get().(*[]byte)
	defer hashBuffers.Put(buf)
	rest := want
	for {
		n, err := f.Read(*buf)
		if n > len(rest) || !bytes.Equal((*buf)[:n], rest[:n]) {
			return false
		}
		rest = rest[n:]
		switch {
		case err == io.EOF:
			return len(rest) == 0
		case err != nil:
			return false
		}
	}
}

// Staged returns the stat digest of each site Commit swapped in, as
// Stage wrote it: for Index.Written.
func (st *Stager) Staged() map[string]string {
	out := map[string]string{}
	for site, inputs := range st.staged {
		out[site] = st.stamps[filepath.Join(st.root, fmt.Sprint(slices.Min(inputs)), site)]
	}
	return out
}

// Commit swaps every staged site into out; where inputs staged the same
// site name, the first input's wins, whatever order they finished in.
// Before anything is swapped, every site directory it replaces is checked
// for files generate did not write: without prune, any such file stops
// the commit with a *ForeignFilesError and nothing changes.
func (st *Stager) Commit() error {
	type swap struct{ site, src, dst, old string }
	var swaps []swap
	for site, inputs := range st.staged {
		first := inputs[0]
		for _, i := range inputs {
			first = min(first, i)
		}
		swaps = append(swaps, swap{site: site, src: filepath.Join(st.root, fmt.Sprint(first), site), dst: filepath.Join(st.out, site)})
	}
	sort.Slice(swaps, func(i, j int) bool { return swaps[i].site < swaps[j].site })
	for _, s := range swaps {
		ferr, err := foreignFiles(s.dst, s.src)
		if err != nil {
			return err
		}
		if ferr == nil {
			continue
		}
		if !st.prune {
			return ferr
		}
		for _, f := range ferr.Files {
			st.Pruned = append(st.Pruned, filepath.Join(s.site, filepath.FromSlash(f)))
		}
	}
	// The files linked from the directories about to be replaced are
	// the old directories' until the swap: checked last before it.
	var linked []linkedFile
	for _, s := range swaps {
		linked = append(linked, st.linked[s.src]...)
	}
	if err := changedLinks(linked); err != nil {
		return err
	}
	var done []swap
	rollback := func() {
		for i := len(done) - 1; i >= 0; i-- {
			os.RemoveAll(done[i].dst)
			if done[i].old != "" {
				os.Rename(done[i].old, done[i].dst)
			}
		}
	}
	for _, s := range swaps {
		if _, err := os.Lstat(s.dst); err == nil {
			s.old = filepath.Join(st.root, "old-"+s.site)
			if err := os.Rename(s.dst, s.old); err != nil {
				rollback()
				return err
			}
		}
		if err := os.Rename(s.src, s.dst); err != nil {
			if s.old != "" {
				os.Rename(s.old, s.dst)
			}
			rollback()
			return err
		}
		done = append(done, s)
	}
	if err := os.RemoveAll(st.root); err != nil {
		return &cleanupError{err}
	}
	if len(st.staged) == 0 && st.created {
		os.Remove(st.out) // nothing rendered: leave no empty directory
	}
	return nil
}

// cleanupError is Commit's error when every site was swapped in but the
// staging directory could not be removed.
type cleanupError struct{ err error }

func (e *cleanupError) Error() string {
	return fmt.Sprintf("the sites are written, but their staging directory is not removed: %v (the next generate removes it)", e.err)
}

func (e *cleanupError) Unwrap() error { return e.err }

// Abort removes everything staged, and out itself if this run created it.
func (st *Stager) Abort() {
	if st.root != "" {
		os.RemoveAll(st.root)
	}
	if st.created {
		os.Remove(st.out) // only if empty
	}
}
