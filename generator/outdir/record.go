package outdir

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nuvla/nuvlagen/generator/inputfile"
	"github.com/nuvla/nuvlagen/generator/pipeline"
)

// A site's record (pipeline.Record) is kept in its manifest, as comment
// lines after the header, one field each, so that sha256sum -c still
// reads the manifest and a reader sees what rendered the site:
//
//	# Rendered by: nuvlagen "v1.2.3 go1.26.8"
//	# model: <sha256 of the model's files>
//	# input: <sha256 of the site file>  "sites/a.cue"
//	# sites: a b
//	# deployment: <sha256 of its deployment's files> beside hosts h,g
//
// check leaves these lines out of its comparison: they say what rendered
// the files, which check verifies itself, and a fresh build (CI's) would
// otherwise see drift in every manifest.
const (
	recNuvlagen   = "# Rendered by: nuvlagen "
	recModel      = "# model: "
	recInput      = "# input: "
	recSites      = "# sites: "
	recDeployment = "# deployment: "
)

// writeRecord appends r's lines to b.
func writeRecord(b *bytes.Buffer, r pipeline.Record) {
	fmt.Fprintf(b, "%s%q\n", recNuvlagen, r.Nuvlagen)
	fmt.Fprintf(b, "%s%s\n", recModel, r.Model)
	fmt.Fprintf(b, "%s%s  %q\n", recInput, r.Sum, r.Input)
	fmt.Fprintf(b, "%s%s\n", recSites, strings.Join(r.Sites, " "))
	if r.Deployment != "" {
		beside := ""
		if r.Beside {
			beside = " beside"
		}
		hosts := ""
		if len(r.Hosts) > 0 {
			hosts = " hosts " + strings.Join(r.Hosts, ",")
		}
		fmt.Fprintf(b, "%s%s%s%s\n", recDeployment, r.Deployment, beside, hosts)
	}
}

// isRecordLine says whether a manifest line is one of the record's.
func isRecordLine(line string) bool {
	for _, p := range []string{recNuvlagen, recModel, recInput, recSites, recDeployment} {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

// withoutRecord returns a manifest without its record's lines.
func withoutRecord(b []byte) []byte {
	var out []byte
	for line := range bytes.Lines(b) {
		if !isRecordLine(string(line)) {
			out = append(out, line...)
		}
	}
	return out
}

// manifest is a site's manifest as read back.
type manifest struct {
	files  map[string]string // path relative to the site directory -> sha256, hex
	record pipeline.Record
	ok     bool // the manifest holds a whole record
	edited bool // and is not what generate writes with it
}

// parseManifest reads a manifest and its record.
func parseManifest(b []byte) manifest {
	m := manifest{files: map[string]string{}}
	var have int
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, len(b)+1)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, recNuvlagen):
			if v, err := strconv.Unquote(strings.TrimPrefix(line, recNuvlagen)); err == nil {
				m.record.Nuvlagen = v
				have |= 1
			}
		case strings.HasPrefix(line, recModel):
			m.record.Model = strings.TrimPrefix(line, recModel)
			have |= 2
		case strings.HasPrefix(line, recInput):
			s, name, ok := strings.Cut(strings.TrimPrefix(line, recInput), "  ")
			if v, err := strconv.Unquote(name); ok && err == nil {
				m.record.Sum, m.record.Input = s, v
				have |= 4
			}
		case strings.HasPrefix(line, recSites):
			m.record.Sites = strings.Fields(strings.TrimPrefix(line, recSites))
			have |= 8
		case strings.HasPrefix(line, recDeployment):
			// Written by an older nuvlagen, the line has no hosts.
			d, hosts, _ := strings.Cut(strings.TrimPrefix(line, recDeployment), " hosts ")
			d, beside := strings.CutSuffix(d, " beside")
			m.record.Deployment, m.record.Beside = d, beside
			if hosts != "" {
				m.record.Hosts = strings.Split(hosts, ",")
			}
		case line == "" || strings.HasPrefix(line, "#"):
		default:
			if s, p, ok := strings.Cut(line, "  "); ok {
				m.files[p] = s
			}
		}
	}
	m.ok = have == 15 && sc.Err() == nil
	return m
}

// Index is what previous runs of generate left in an output directory:
// each site directory's manifest and record, read on first use. It is
// pipeline.Options.Reuse for generate and check.
//
// Whether a site's directory still holds what its manifest lists is
// decided by hashing its files, or, when stamps are kept, by the stat
// data of every file (size, mode, modification and change times, inode)
// being what they were when the files were last found intact or
// written: a file edited, replaced or touched changes its change time,
// which no user can set back. A site whose files changed less than
// racyWindow before they were stamped is not stamped: a change within
// the file system's time granularity could keep its times.
type Index struct {
	out    string
	stamps *stamps // nil: hash every file

	once    sync.Once
	sites   map[string]manifest // by site directory name
	byInput map[string][]string // input name -> site names
}

// NewIndex returns the index of out. cacheDir, when not "", is a
// directory of this machine where the stat data of sites found intact
// are kept between runs (never inside out, which may be committed).
func NewIndex(out, cacheDir string) *Index {
	x := &Index{out: out}
	if cacheDir != "" {
		x.stamps = openStamps(cacheDir, out)
	}
	return x
}

func (x *Index) load() {
	x.once.Do(func() {
		x.sites = map[string]manifest{}
		x.byInput = map[string][]string{}
		entries, err := os.ReadDir(x.out)
		if err != nil {
			return
		}
		for _, en := range entries {
			// Site directories only: no symbolic link, no staging
			// directory (site names start with a letter or digit).
			if !en.IsDir() || strings.HasPrefix(en.Name(), ".") {
				continue
			}
			p := filepath.Join(x.out, en.Name(), ManifestName)
			if info, err := os.Lstat(p); err != nil || !info.Mode().IsRegular() {
				continue
			}
			b, err := inputfile.Read(p, MaxFile)
			if err != nil {
				continue
			}
			m := parseManifest(b)
			if !m.ok {
				continue
			}
			m.edited = !bytes.Equal(manifestOf(en.Name(), m.record, m.files), b)
			m.files[ManifestName] = sum(b)
			x.sites[en.Name()] = m
			x.byInput[m.record.Input] = append(x.byInput[m.record.Input], en.Name())
		}
	})
}

// Records is pipeline.Outputs.Records.
func (x *Index) Records(input string) map[string]pipeline.Record {
	x.load()
	out := map[string]pipeline.Record{}
	for _, s := range x.byInput[input] {
		out[s] = x.sites[s].record
	}
	return out
}

// Changed is pipeline.Outputs.Changed: the first difference between the
// site's directory and its manifest, or "".
func (x *Index) Changed(site string) string {
	x.load()
	m, ok := x.sites[site]
	if !ok {
		return "no manifest"
	}
	if m.edited {
		return "edited: " + ManifestName
	}
	dir := filepath.Join(x.out, site)
	start := time.Now()
	if x.stamps == nil || x.stamps.get(site) == "" {
		return x.changedUnstamped(site, m, dir, start)
	}
	files, err := statTree(dir)
	if err != nil {
		return "unreadable: " + err.Error()
	}
	for _, f := range files {
		if _, ok := m.files[f.rel]; !ok {
			return "not generated: " + f.rel
		}
		if !f.info.Mode().IsRegular() {
			return "not a regular file: " + f.rel
		}
		if execChanged(f.info.Mode(), f.rel) {
			return "mode changed: " + f.rel
		}
	}
	if p, ok := missingFile(files, m); ok {
		return "missing: " + p
	}
	digest, racy := statDigest(files, start)
	if x.stamps != nil && digest != "" && x.stamps.get(site) == digest {
		return ""
	}
	for _, f := range files {
		h, err := hashFile(filepath.Join(dir, filepath.FromSlash(f.rel)))
		if err != nil {
			return "unreadable: " + f.rel
		}
		if h != m.files[f.rel] {
			return "edited: " + f.rel
		}
	}
	if x.stamps != nil && digest != "" && !racy {
		x.stamps.put(site, digest)
	}
	return ""
}

// changedUnstamped is Changed for a site without a stamp (a fresh clone,
// CI): every file is hashed anyway, so its stat data come from the open
// file rather than an lstat of each entry before (a tenth of such a
// check's CPU). The reasons, and which one is given first, are those of
// the stamped path: per file in path order not generated, not a regular
// file, mode changed; then missing; then, in path order, unreadable or
// edited.
func (x *Index) changedUnstamped(site string, m manifest, dir string, start time.Time) string {
	files, err := listTree(dir)
	if err != nil {
		return "unreadable: " + err.Error()
	}
	sums := make([]string, len(files)) // "": unreadable, reported in the order of the edits
	for i := range files {
		f := &files[i]
		if _, ok := m.files[f.rel]; !ok {
			return "not generated: " + f.rel
		}
		if !f.typ.IsRegular() {
			return "not a regular file: " + f.rel
		}
		p := filepath.Join(dir, filepath.FromSlash(f.rel))
		h, info, err := hashFileInfo(p)
		if err != nil {
			// Its mode as the stamped path sees it, from an lstat.
			if info, err = os.Lstat(p); err != nil {
				continue
			}
		}
		if execChanged(info.Mode(), f.rel) {
			return "mode changed: " + f.rel
		}
		f.info, sums[i] = info, h
	}
	if p, ok := missingFile(files, m); ok {
		return "missing: " + p
	}
	for i, f := range files {
		switch sums[i] {
		case "":
			return "unreadable: " + f.rel
		case m.files[f.rel]:
		default:
			return "edited: " + f.rel
		}
	}
	if x.stamps != nil {
		if digest, racy := statDigest(files, start); digest != "" && !racy {
			x.stamps.put(site, digest)
		}
	}
	return ""
}

// Written stamps the sites generate has just swapped in, whose staged
// files had the stat digest staged (Stager.Staged) when written: a
// directory whose files are the same inodes with the same times is what
// generate wrote.
func (x *Index) Written(staged map[string]string) {
	if x.stamps == nil {
		return
	}
	for site, was := range staged {
		start := time.Now()
		files, err := statTree(filepath.Join(x.out, site))
		if err != nil {
			continue
		}
		if digest, racy := statDigest(files, start); digest != "" && digest == was && !racy {
			x.stamps.put(site, digest)
		} else {
			x.stamps.drop(site)
		}
	}
}

// Save writes the stamps found or made in this run, for the next.
func (x *Index) Save() error {
	if x.stamps == nil {
		return nil
	}
	return x.stamps.save()
}

// hashFile is sum of the file at path, a regular file of at most
// MaxFile bytes (statTree found it regular just before: it is checked
// again once open), read through a buffer of the pool: checking a fleet
// with no stamps hashes every file of it (1.2 GB for 1,000 sites), and
// reading each whole into memory of its own cost more than the hashing
// (zeroing, copying and collecting it).
func hashFile(path string) (string, error) {
	h, _, err := hashFileInfo(path)
	return h, err
}

// hashFileInfo is hashFile that also returns the open file's stat data.
func hashFileInfo(path string) (string, fs.FileInfo, error) {
	f, info, err := inputfile.OpenInfo(path, MaxFile)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	buf := hashBuffers.Get().(*[]byte)
	defer hashBuffers.Put(buf)
	h := sha256.New()
	n, err := io.CopyBuffer(h, io.LimitReader(f, MaxFile+1), *buf)
	if err != nil {
		return "", nil, err
	}
	if n > MaxFile {
		return "", nil, inputfile.TooLarge(path, n, MaxFile)
	}
	return hex.EncodeToString(h.Sum(nil)), info, nil
}

// hashBuffers are hashFile's read buffers.
var hashBuffers = sync.Pool{New: func() any {
	b := make([]byte, 256<<10)
	return &b
}}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func sortedKeys(m map[string]string) func(func(string) bool) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return func(yield func(string) bool) {
		for _, k := range keys {
			if !yield(k) {
				return
			}
		}
	}
}

// missingFile is the first file (in path order) the manifest lists and
// files lack.
func missingFile(files []statFile, m manifest) (string, bool) {
	if len(files) == len(m.files) {
		return "", false // files holds none the manifest lacks (checked before)
	}
	for p := range sortedKeys(m.files) {
		if !hasFile(files, p) {
			return p, true
		}
	}
	return "", false
}

// execChanged says whether a file of mode has lost or gained the x bits
// generate writes the file at rel with.
func execChanged(mode fs.FileMode, rel string) bool {
	return (mode&0o111 != 0) != (Mode(rel)&0o111 != 0)
}

func hasFile(files []statFile, rel string) bool {
	i := sort.Search(len(files), func(i int) bool { return files[i].rel >= rel })
	return i < len(files) && files[i].rel == rel
}

// statFile is one entry of a site directory that is not a directory.
type statFile struct {
	rel  string // slash-separated, relative to the site directory
	info fs.FileInfo
	typ  fs.FileMode // the type bits alone, from the directory
}

// statTree lists every entry of dir that is not a directory, sorted by
// path, with its lstat data.
func statTree(dir string) ([]statFile, error) { return walkTree(dir, true) }

// listTree is statTree without the lstat data: each entry's type is the
// directory's (d_type; os.ReadDir lstats where a file system gives none).
func listTree(dir string) ([]statFile, error) { return walkTree(dir, false) }

func walkTree(dir string, lstat bool) ([]statFile, error) {
	var files []statFile
	var walk func(rel string) error
	walk = func(rel string) error {
		entries, err := os.ReadDir(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			return err
		}
		for _, en := range entries {
			p := path.Join(rel, en.Name())
			if en.IsDir() {
				if err := walk(p); err != nil {
					return err
				}
				continue
			}
			f := statFile{rel: p, typ: en.Type()}
			if lstat {
				if f.info, err = en.Info(); err != nil {
					return err
				}
			}
			files = append(files, f)
		}
		return nil
	}
	if err := walk(""); err != nil {
		return nil, err
	}
	sort.Slice(files, func(i, j int) bool { return files[i].rel < files[j].rel })
	return files, nil
}

// racyWindow is how recent a file's change may be for its stat data to
// be trusted later: above the time granularity of common file systems
// (ext4 and tmpfs: a clock tick; FAT: 2 s).
var racyWindow = 3 * time.Second

// statDigest is the sha256 of files' stat data, "" where the system does
// not say when a file changed, and whether a file changed less than
// racyWindow before start.
func statDigest(files []statFile, start time.Time) (string, bool) {
	// Appended by hand: fmt was an eighth of an unchanged check's CPU.
	b := make([]byte, 0, 96*len(files))
	racy := false
	for _, f := range files {
		st, ok := statOf(f.info)
		if !ok {
			return "", true
		}
		if start.Sub(time.Unix(0, st.ctime)) < racyWindow || start.Sub(f.info.ModTime()) < racyWindow {
			racy = true
		}
		b = strconv.AppendQuote(b, f.rel)
		for _, n := range []int64{f.info.Size(), int64(f.info.Mode()), f.info.ModTime().UnixNano(), st.ctime, int64(st.ino), int64(st.dev)} {
			b = append(b, ' ')
			b = strconv.AppendInt(b, n, 10)
		}
		b = append(b, '\n')
	}
	return sum(b), racy
}

// stamps are the stat digests of an output directory's sites last found
// intact, kept in a file of this machine's cache, one per output
// directory (named by its absolute path's sha256).
type stamps struct {
	file  string
	mu    sync.Mutex
	once  sync.Once
	m     map[string]string // site -> digest
	dirty bool
}

func openStamps(cacheDir, out string) *stamps {
	abs, err := filepath.Abs(out)
	if err != nil {
		return nil
	}
	return &stamps{file: filepath.Join(cacheDir, "stamps", sum([]byte(abs))[:32])}
}

func (s *stamps) read() {
	s.once.Do(func() {
		s.m = map[string]string{}
		b, err := os.ReadFile(s.file)
		if err != nil {
			return
		}
		for line := range strings.Lines(string(b)) {
			if d, site, ok := strings.Cut(strings.TrimSuffix(line, "\n"), " "); ok {
				s.m[site] = d
			}
		}
	})
}

func (s *stamps) get(site string) string {
	s.read()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[site]
}

func (s *stamps) put(site, digest string) {
	s.read()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m[site] != digest {
		s.m[site], s.dirty = digest, true
	}
}

func (s *stamps) drop(site string) {
	s.read()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[site]; ok {
		delete(s.m, site)
		s.dirty = true
	}
}

// save writes the stamps, replacing the file at once (a run going on
// beside reads the old or the new, never half).
func (s *stamps) save() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.dirty {
		return nil
	}
	var b strings.Builder
	for site := range sortedKeys(s.m) {
		fmt.Fprintf(&b, "%s %s\n", s.m[site], site)
	}
	if err := os.MkdirAll(filepath.Dir(s.file), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.file), ".stamps-")
	if err != nil {
		return err
	}
	_, err = tmp.WriteString(b.String())
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), s.file)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	s.dirty = false
	return nil
}

// Files returns how many files the manifest of site lists, itself
// included.
func (x *Index) Files(site string) int {
	x.load()
	return len(x.sites[site].files)
}
