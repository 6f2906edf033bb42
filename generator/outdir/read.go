package outdir

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	udiff "github.com/rogpeppe/go-internal/diff"

	"github.com/nuvla/nuvlagen/generator/diff"
	"github.com/nuvla/nuvlagen/generator/inputfile"
	"github.com/nuvla/nuvlagen/generator/pipeline"
)

// MaxFile bounds what a Checker reads of a generated file: far above
// anything generate writes.
const MaxFile = 64 << 20

// ReadTree reads every file under dir, by slash-separated path relative
// to it. Hidden entries and generate's staging directories are skipped:
// they are not output; so are symbolic links. A FIFO, device or socket,
// or a file larger than max, is an error.
func ReadTree(dir string, max int64) (pipeline.Files, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	files := pipeline.Files{}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		b, err := inputfile.Read(p, max)
		if err != nil {
			return errors.New(inputfile.Describe(p, err))
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	return files, err
}

// IsSiteDir says whether d is a site directory generate wrote: it holds
// a manifest, or (an older nuvlagen's output) a deploy.sh or README.md
// with the generated header.
func IsSiteDir(d string) bool {
	if _, err := os.Lstat(filepath.Join(d, ManifestName)); err == nil {
		return true
	}
	for _, name := range []string{"deploy.sh", "README.md"} {
		if HasGeneratedHeader(filepath.Join(d, name)) {
			return true
		}
	}
	return false
}

// ExplainStage says what the staging directory name of out is.
func ExplainStage(out, name string) string {
	p := filepath.ToSlash(filepath.Join(out, name))
	o, stale := staleStage(filepath.Join(out, name), name)
	switch {
	case o.pid == 0:
		return fmt.Sprintf("not generated: %s looks like a staging directory of generate, but not one this nuvlagen names; remove it when no generate runs", p)
	case stale:
		return fmt.Sprintf("not generated: %s is the leftover of an interrupted generate (pid %d, no longer running); the next generate removes it", p, o.pid)
	case o.host != "":
		if host, _ := os.Hostname(); host != o.host {
			return fmt.Sprintf("not generated: %s is the staging directory of a generate on host %s (pid %d); remove it if that run is over", p, o.host, o.pid)
		}
	}
	return fmt.Sprintf("not generated: %s is the staging directory of a generate running now (pid %d); check again when it is done", p, o.pid)
}

// Drift is how an output directory differs from what generate would
// write there.
type Drift struct {
	Out   string // the output directory
	Count int    // differences: files and entries that differ, lost or added x bits
	Files int    // the files generate writes
	notes []string
	have  pipeline.Files
	want  pipeline.Files
}

// Checker compares the sites a run renders with the directories out
// holds for them, each site as soon as it has rendered (its Take is
// pipeline.Options.Take), and keeps the files of the sites that differ
// only: checking a fleet holds one site's files per worker and those of
// the sites that differ, not every site's twice (a run that renders
// every site, after a change of the model or of nuvlagen, read 1,000
// sites' files beside their renderings: 3.6 GB). Safe for concurrent
// use.
type Checker struct {
	out   string
	mu    sync.Mutex
	drift map[string]*siteDrift // by site name: the first input's
}

// siteDrift is how one site's directory differs from its rendering.
type siteDrift struct {
	input      int // the input the site was rendered from
	files      int // the files generate writes for it
	same       bool
	notes      []string
	have, want pipeline.Files
	err        error // reading its directory
}

// NewChecker returns a Checker of the output directory out.
func NewChecker(out string) *Checker {
	return &Checker{out: out, drift: map[string]*siteDrift{}}
}

// Take compares a rendered site with its directory in out, then clears
// its files: the site's files and its manifest (of a manifest, all but
// the record's lines, which say what rendered the files rather than what
// they are) against every file of the directory, and each file's x bit
// (generate makes scripts executable and nothing else). A reused site is
// not compared: Index found it intact. Of sites of two inputs sharing a
// name, the first input's is kept, as pipeline.Run keeps it.
func (c *Checker) Take(input int, s *pipeline.Rendered) {
	if s.Reused {
		return
	}
	want := maps.Clone(s.Files)
	if want == nil {
		want = pipeline.Files{}
	}
	want[s.Name+"/"+ManifestName] = withoutRecord(Manifest(s.Name, s.Files, s.Record))
	s.Files = nil
	have, notes, err := readSite(c.out, s.Name)
	d := &siteDrift{input: input, files: len(want), err: err}
	if err == nil {
		d.same = len(notes) == 0 && maps.EqualFunc(have, want, bytes.Equal)
		if !d.same {
			d.notes, d.have, d.want = notes, have, want
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.drift[s.Name]; ok && prev.input < input {
		return
	}
	c.drift[s.Name] = d
}

// Drift returns how out differs from what generate would write: the
// sites taken that differ, and out's other entries. sites are the sites
// rendered (in the order their notes are reported), reused those found
// intact already (Index.Changed): both are entries of out. When whole,
// out belongs to these sites alone: any other entry in it is drift.
// Staging directories are always drift.
func (c *Checker) Drift(sites, reused []string, whole bool) (*Drift, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := &Drift{Out: c.out, have: pipeline.Files{}, want: pipeline.Files{}}
	for _, s := range sites {
		if sd := c.drift[s]; sd != nil {
			if sd.err != nil {
				return nil, sd.err
			}
			d.Files += sd.files
		}
	}
	known := map[string]bool{}
	for _, s := range sites {
		known[s] = true
	}
	for _, s := range reused {
		known[s] = true
	}
	entries, err := os.ReadDir(c.out)
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	for _, en := range entries {
		name := filepath.ToSlash(filepath.Join(c.out, en.Name()))
		switch {
		case known[en.Name()]:
		case strings.HasPrefix(en.Name(), StagePrefix) && en.IsDir():
			// Never a site (site names start with a letter or digit).
			d.notes = append(d.notes, ExplainStage(c.out, en.Name()))
		case whole:
			// Anything else is a site that no longer exists, or what an
			// older nuvlagen's interrupted run left.
			d.notes = append(d.notes, "not generated (remove it): "+name)
		}
	}
	for _, s := range sites {
		sd := c.drift[s]
		if sd == nil || sd.same {
			continue
		}
		d.notes = append(d.notes, sd.notes...)
		maps.Copy(d.have, sd.have)
		maps.Copy(d.want, sd.want)
	}
	d.Count = len(d.notes) + len(d.differing())
	return d, nil
}

// readSite reads the files of site's directory in out (of a manifest,
// all but the record's lines), with a note for each file whose x bit is
// not the one generate gives it. No directory is no files.
func readSite(out, site string) (pipeline.Files, []string, error) {
	have := pipeline.Files{}
	var notes []string
	root := filepath.Join(out, site)
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		// A FIFO or a huge file in out/ is drift, not a hang.
		b, err := inputfile.Read(p, MaxFile)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		if e.Name() == ManifestName {
			b = withoutRecord(b)
		}
		have[filepath.ToSlash(rel)] = b
		info, err := e.Info()
		if err != nil {
			return err
		}
		if execChanged(info.Mode(), p) {
			notes = append(notes, fmt.Sprintf("mode: %s is %v, generate writes it %v", filepath.ToSlash(p), info.Mode().Perm(), Mode(p)))
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		return nil, nil, err
	}
	return have, notes, nil
}

// differing returns the paths whose content differs, sorted.
func (d *Drift) differing() []string {
	paths := map[string]bool{}
	for p := range d.have {
		paths[p] = true
	}
	for p := range d.want {
		paths[p] = true
	}
	var out []string
	for p := range paths {
		h, inHave := d.have[p]
		w, inWant := d.want[p]
		if !inHave || !inWant || !bytes.Equal(h, w) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// Write prints the drift: the entries and modes that differ, a unified
// diff per file, then the report "nuvlagen diff" gives from what is on
// disk to what generate would write. Nothing when there is no drift.
func (d *Drift) Write(w io.Writer) error {
	for _, n := range d.notes {
		fmt.Fprintln(w, n)
	}
	for _, p := range d.differing() {
		h, inHave := d.have[p]
		g, inWant := d.want[p]
		name := filepath.ToSlash(filepath.Join(d.Out, p))
		switch {
		case !inHave:
			fmt.Fprintf(w, "missing: %s\n", name)
		case !inWant:
			fmt.Fprintf(w, "not generated, not in the manifest (remove it; generate refuses to replace its directory, --prune deletes it): %s\n", name)
		default:
			w.Write(udiff.Diff(name+" (on disk)", h, name+" (generated)", g))
		}
	}
	if d.Count == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nWhat generate would change in %s:\n\n", d.Out)
	r := diff.Compare(d.have, d.want)
	for _, s := range r.Sites {
		for _, fd := range s.Files {
			if fd.Unified != "" {
				// Printed above already.
				fd.Unified = ""
				if len(fd.Changes) == 0 && fd.Note == "" {
					fd.Note = "text differs, see above"
				}
			}
		}
	}
	return diff.Write(w, r, "text", false)
}

// Previous returns what generate wrote to out before: a site's file,
// when the site's manifest lists it with the same sha256, so that a file
// edited by hand is never taken for generate's. Anything else (no such
// file or manifest, another digest, an unreadable file) is nil.
func Previous(out string) pipeline.Previous {
	return func(site, rel string) []byte {
		dir := filepath.Join(out, filepath.FromSlash(site))
		manifest, err := inputfile.Read(filepath.Join(dir, ManifestName), MaxFile)
		if err != nil {
			return nil
		}
		b, err := inputfile.Read(filepath.Join(dir, filepath.FromSlash(rel)), MaxFile)
		if err != nil {
			return nil
		}
		want := fmt.Sprintf("%x  %s", sha256.Sum256(b), rel)
		for _, line := range strings.Split(string(manifest), "\n") {
			if line == want {
				return b
			}
		}
		return nil
	}
}
