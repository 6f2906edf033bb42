// Package inputfile reads the files nuvlagen is pointed at (site files,
// compose files for vet, trees of output for diff and check) safely: only
// regular files, and only up to a size. A FIFO would block a reader
// forever, a device or a huge file would exhaust memory.
package inputfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
)

// DefaultMax is the size above which a file is refused, unless
// --max-file-size says otherwise.
const DefaultMax = 4 << 20

// Size is a size in bytes given as 4194304, 512KiB, 8MiB, 1GiB (or kB,
// MB, GB, decimal): the value of --max-file-size (a pflag.Value).
type Size int64

var sizeUnits = []struct {
	suffix string
	factor int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
	{"B", 1},
}

// Set parses v.
func (s *Size) Set(v string) error {
	num, factor := strings.TrimSpace(v), int64(1)
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(num, u.suffix); ok {
			num, factor = strings.TrimSpace(n), u.factor
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/factor {
		return fmt.Errorf("want a positive size such as 8MiB, got %q", v)
	}
	*s = Size(n * factor)
	return nil
}

func (s *Size) String() string { return HumanSize(int64(*s)) }

// Type names the flag's value in help.
func (s *Size) Type() string { return "size" }

// HumanSize prints a size in the largest binary unit that divides it, or
// with one decimal in MiB above 1 MiB.
func HumanSize(n int64) string {
	for _, u := range []struct {
		suffix string
		factor int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.factor && n%u.factor == 0 {
			return strconv.FormatInt(n/u.factor, 10) + u.suffix
		}
	}
	if n > 1<<20 {
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + "MiB"
	}
	return strconv.FormatInt(n, 10) + "B"
}

// RefusalError says why a file is not read: it is not a regular file, or
// it is too large. Commands exit with status 2 on one.
type RefusalError struct{ Path, Msg string }

func (r *RefusalError) Error() string { return r.Path + ": " + r.Msg }

// Refused returns a *RefusalError for path.
func Refused(path, format string, a ...any) error {
	return &RefusalError{path, fmt.Sprintf(format, a...)}
}

// TooLarge is the refusal of a file of size bytes, over max.
func TooLarge(path string, size, max int64) error {
	return Refused(path, "%s, larger than the %s limit (--max-file-size)", HumanSize(size), HumanSize(max))
}

// IsRefusal reports whether err, or an error it wraps, is a refusal.
func IsRefusal(err error) bool {
	var r *RefusalError
	return errors.As(err, &r)
}

// Describe describes an error reading the file at path: "path: what".
func Describe(path string, err error) string {
	if IsRefusal(err) {
		return err.Error()
	}
	return path + ": " + UnwrapPath(err).Error()
}

// UnwrapPath drops the operation and path of an *os.PathError, for
// messages that name the path themselves.
func UnwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// CheckRegular returns the refusal of a file that is not regular or is
// larger than max, named path; nil for one that may be read.
func CheckRegular(path string, info fs.FileInfo, max int64) error {
	if !info.Mode().IsRegular() {
		return Refused(path, "not a regular file (%s)", fileKind(info.Mode()))
	}
	if info.Size() > max {
		return TooLarge(path, info.Size(), max)
	}
	return nil
}

// fileKind names what a file that is not regular is.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "mode " + m.String()
}

// Read reads the regular file at path (following symbolic links),
// refusing anything else and anything larger than max (see Open).
func Read(path string, max int64) ([]byte, error) {
	f, err := Open(path, max)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// The file may grow while it is read.
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, TooLarge(path, int64(len(data)), max)
	}
	return data, nil
}

// Open opens the regular file at path (following symbolic links) for
// reading, refusing anything else and anything larger than max. The file
// is checked before it is opened, then opened without blocking (a FIFO
// swapped in meanwhile cannot stall it) and checked again. It may still
// grow while it is read: a reader stops after max bytes.
func Open(path string, max int64) (*os.File, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := CheckRegular(path, info, max); err != nil {
		return nil, err
	}
	return OpenStatted(path, max)
}

// OpenStatted is Open for a path the caller has just found to be a
// regular file (with os.Lstat, or a directory walk's): the file is
// opened without blocking and checked once opened, not before.
func OpenStatted(path string, max int64) (*os.File, error) {
	f, _, err := OpenInfo(path, max)
	return f, err
}

// OpenInfo is OpenStatted that also returns the open file's stat data,
// for a caller that would otherwise stat it again (or lstat it before).
func OpenInfo(path string, max int64) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err == nil {
		err = CheckRegular(path, info, max)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, info, nil
}

// FS is the directory tree at dir, refusing to open any file that Read
// would refuse: for readers that take an fs.FS (the model's loader).
// Refusals name files relative to cwd.
func FS(dir, cwd string, max int64) fs.FS {
	return regularFS{dir: dir, cwd: cwd, fs: os.DirFS(dir), max: max}
}

type regularFS struct {
	dir, cwd string
	fs       fs.FS
	max      int64
}

func (r regularFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	p := filepath.Join(r.dir, filepath.FromSlash(name))
	info, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		if err := CheckRegular(DisplayName(r.cwd, p), info, r.max); err != nil {
			return nil, err
		}
	}
	return r.fs.Open(name)
}

// DisplayName is the name a file goes by in positions and in the headers
// of generated files: relative to the working directory cwd, so that
// output never depends on where the repository is checked out.
func DisplayName(cwd, name string) string {
	if !filepath.IsAbs(name) {
		return filepath.ToSlash(filepath.Clean(name))
	}
	if rel, err := filepath.Rel(cwd, name); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return filepath.Base(name)
}

// Find returns the files under root whose base name match accepts, in
// lexical order, skipping hidden directories below root.
func Find(root string, match func(name string) bool) ([]string, error) {
	var names []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if match(d.Name()) {
			names = append(names, path)
		}
		return nil
	})
	return names, err
}

// File is a file Collect found: by the name it was found by, what it
// holds, or why it could not be read.
type File struct {
	Path string
	Data []byte
	Err  error
}

// DirError is a directory Collect could not search, or found nothing in.
type DirError struct {
	Dir  string
	What string // what was searched for
	Err  error  // nil: nothing found
}

func (e *DirError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return "no " + e.What + " file under " + e.Dir
}

// Collect reads the files named and the files under the directories
// named whose base name match accepts (what names them in errors), in a
// stable order. It returns the files, each read or with why not, and an
// error for each path it could not search (one that does not exist, or a
// directory holding no such file: a *DirError).
func Collect(paths []string, what string, match func(name string) bool, max int64) ([]File, []error) {
	var names []string
	var errs []error
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, UnwrapPath(err)))
			continue
		}
		if !info.IsDir() {
			names = append(names, p)
			continue
		}
		found, err := Find(p, match)
		switch {
		case err != nil:
			errs = append(errs, &DirError{Dir: p, What: what, Err: err})
		case len(found) == 0:
			// A CI job pointed at the wrong directory must not pass.
			errs = append(errs, &DirError{Dir: p, What: what})
		}
		names = append(names, found...)
	}
	var files []File
	for _, n := range names {
		data, err := Read(n, max)
		if err != nil {
			err = errors.New(Describe(n, err))
		}
		files = append(files, File{Path: n, Data: data, Err: err})
	}
	return files, errs
}

// UnreadableError lists files that cannot be read, a line each.
type UnreadableError struct{ Errs []error }

func (e *UnreadableError) Error() string { return errors.Join(e.Errs...).Error() }

// SiteFiles reads the site files named and every *.cue file of dir (when
// not ""), each named relative to cwd, of at most DefaultMax bytes. It
// returns what it read and, when some could not be, an *UnreadableError.
// A dir without site files is an error too.
func SiteFiles(cwd string, names []string, dir string) ([]nuvlacue.File, error) {
	names = append([]string(nil), names...)
	if dir != "" {
		matches, err := filepath.Glob(filepath.Join(dir, "*.cue"))
		if err != nil || len(matches) == 0 {
			return nil, &UnreadableError{[]error{fmt.Errorf("%s: no *.cue site files", dir)}}
		}
		sort.Strings(matches)
		names = append(names, matches...)
	}
	var files []nuvlacue.File
	var errs []error
	for _, n := range names {
		// A site file is small: a FIFO or a device must not stall a run.
		data, err := Read(n, DefaultMax)
		if err != nil {
			errs = append(errs, errors.New(Describe(n, err)))
			continue
		}
		files = append(files, nuvlacue.File{Name: DisplayName(cwd, n), Data: data, Path: abs(cwd, n)})
	}
	if errs != nil {
		return files, &UnreadableError{errs}
	}
	return files, nil
}

// Beside reads the other *.cue files of the directory of the site file
// at path, where the sites of its deployment may be. Files it cannot read
// are left out: they are only looked through, and the caller says what it
// did not find.
func Beside(cwd, path string) []nuvlacue.File {
	p := abs(cwd, path)
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(p), "*.cue"))
	sort.Strings(matches)
	var files []nuvlacue.File
	for _, m := range matches {
		if filepath.Clean(m) == filepath.Clean(p) {
			continue
		}
		if data, err := Read(m, DefaultMax); err == nil {
			files = append(files, nuvlacue.File{Name: DisplayName(cwd, m), Data: data, Path: m})
		}
	}
	return files
}

func abs(cwd, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(cwd, p)
}
