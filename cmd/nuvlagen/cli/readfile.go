package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// The commands that read files they are pointed at (vet, diff) read only
// regular files, and only up to a size: a FIFO would block them forever,
// a device or a huge file would exhaust memory.

// defaultMaxFileSize is the size above which a file is refused, unless
// --max-file-size says otherwise.
const defaultMaxFileSize = 4 << 20

// maxOutputFile bounds what check reads of a generated file: far above
// anything generate writes.
const maxOutputFile = 64 << 20

// fileSize is a size in bytes given as 4194304, 512KiB, 8MiB, 1GiB (or
// kB, MB, GB, decimal): the value of --max-file-size.
type fileSize int64

var sizeUnits = []struct {
	suffix string
	factor int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
	{"B", 1},
}

func (s *fileSize) Set(v string) error {
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
	*s = fileSize(n * factor)
	return nil
}

func (s *fileSize) String() string { return humanSize(int64(*s)) }

func (s *fileSize) Type() string { return "size" }

// humanSize prints a size in the largest binary unit that divides it, or
// with one decimal in MiB above 1 MiB.
func humanSize(n int64) string {
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

// refusal says why a file is not read: it is not a regular file, or it is
// too large. Commands exit with status 2 on one.
type refusal struct{ path, msg string }

func (r *refusal) Error() string { return r.path + ": " + r.msg }

func refused(path, format string, a ...any) error {
	return &refusal{path, fmt.Sprintf(format, a...)}
}

// fileError describes an error reading the file at path: "path: what".
func fileError(path string, err error) string {
	if isRefusal(err) {
		return err.Error()
	}
	return path + ": " + unwrapPathError(err).Error()
}

// isRefusal reports whether err, or an error it wraps, is a refusal.
func isRefusal(err error) bool {
	var r *refusal
	return errors.As(err, &r)
}

// checkRegular returns the error for a file that is not regular or is
// larger than max, named path.
func checkRegular(path string, info fs.FileInfo, max int64) error {
	if !info.Mode().IsRegular() {
		return refused(path, "not a regular file (%s)", fileKind(info.Mode()))
	}
	if info.Size() > max {
		return tooLarge(path, info.Size(), max)
	}
	return nil
}

func tooLarge(path string, size, max int64) error {
	return refused(path, "%s, larger than the %s limit (--max-file-size)", humanSize(size), humanSize(max))
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

// readRegular reads the regular file at path (following symbolic links),
// refusing anything else and anything larger than max. The file is
// checked before it is opened, then opened without blocking (a FIFO
// swapped in meanwhile cannot stall it) and checked again.
func readRegular(path string, max int64) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := checkRegular(path, info, max); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if info, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := checkRegular(path, info, max); err != nil {
		return nil, err
	}
	// The file may grow while it is read.
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, tooLarge(path, int64(len(data)), max)
	}
	return data, nil
}

// regularFS is the directory tree at dir, refusing to open any file that
// readRegular would refuse: for readers that take an fs.FS (the model's
// loader). Refusals name files relative to cwd.
type regularFS struct {
	dir, cwd string
	fs       fs.FS
	max      int64
}

func newRegularFS(dir, cwd string, max int64) regularFS {
	return regularFS{dir: dir, cwd: cwd, fs: os.DirFS(dir), max: max}
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
		if err := checkRegular(displayName(r.cwd, p), info, r.max); err != nil {
			return nil, err
		}
	}
	return r.fs.Open(name)
}
