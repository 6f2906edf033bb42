package cli

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
	"github.com/nuvla/nuvlagen/generator/diff"
	"github.com/nuvla/nuvlagen/generator/pipeline"
	"github.com/nuvla/nuvlagen/generator/site"
)

const diffDoc = `Usage: nuvlagen diff [flags] OLD NEW
       nuvlagen diff --base REV [--site FILE.cue]... [--sites DIR] [flags]

Explain what a change does to generated output, in words a reviewer reads
in a minute: services added or removed, image and tag changes, replicas,
placement, networks, published ports, environment (secret-looking values
masked), Traefik routers, secrets, configs and volumes of compose files;
rules of firewall/PORTS.md; clients of NFS exports; other YAML as data;
anything else as a unified diff. A risk summary comes first: new exposure
to users or anywhere, newly published ports, removed NFS clients, image
downgrades, renamed networks (and whether every reference moved).

With two directories, compares the generated output they hold (out/ of
two checkouts, say). With --base, renders the sites twice: with the model
(cue/) and site files of git revision REV, and with those of the work
tree; the same generator renders both. A repository without cue/ (site
files only) is rendered with the model built into nuvlagen. Without
--site or --sites, the example sites of cue/sites/ on each side.

Nothing differs: no output at all, exit status 0.

Only regular files are read, of at most --max-file-size (4MiB unless
set): a FIFO, device or socket in OLD or NEW, or a site, model or out/
file at REV that is not a regular file or is larger, is an error. Files
nested deeper than 100 levels, and compose files with a mapping of over
1,000 keys or a command of over 16KiB, are shown as text, with a note.

Formats: text (coloured on a terminal; see --color), markdown (a pull
request comment: the risks, a table per site, details in collapsible
sections) and json.

When REV's model does not render with this nuvlagen (a change that
needs new fields of the model together with the generator's support for
them), the example sites are compared with the output committed in out/
at REV instead, and a note says so on standard error.

Exit status: 0 compared (and, with --exit-code, nothing differs); 1 with
--exit-code when something differs, or when a site of the work tree is
invalid; 2 usage error or internal failure (REV's model does not load).

Examples:
  nuvlagen diff old-out/ out/
  nuvlagen diff --base origin/main --format markdown > comment.md
  nuvlagen diff --base HEAD~1 --site prod.cue --exit-code
  nuvlagen diff --base main --sites sites/ --format markdown
`

type diffFlags struct {
	base     string
	sites    []string
	sitesDir string
	format   string
	exitCode bool
	color    string
	maxSize  fileSize
}

func (f *diffFlags) Bind(fs *pflag.FlagSet) {
	fs.StringVar(&f.base, "base", "", "render at git `revision` REV and at the work tree, and compare")
	fs.StringArrayVar(&f.sites, "site", nil, "with --base: site `file` to render on both sides (repeatable; default: cue/sites/*.cue)")
	fs.StringVar(&f.sitesDir, "sites", "", "with --base: render every *.cue site file in `directory`, at REV and in the work tree")
	fs.StringVar(&f.format, "format", "text", "output `format`: text, markdown or json")
	fs.BoolVar(&f.exitCode, "exit-code", false, "exit with status 1 when anything differs")
	fs.StringVar(&f.color, "color", "auto", "colour text output: auto (on a terminal, unless NO_COLOR is set), always or never")
	f.maxSize = defaultMaxFileSize
	fs.Var(&f.maxSize, "max-file-size", "largest `size` of a file read (e.g. 8MiB)")
}

func runDiff(e *env, args []string) int {
	var f diffFlags
	flags := pflag.NewFlagSet("diff", pflag.ContinueOnError)
	f.Bind(flags)
	if code, ok := parseFlags(e, flags, diffDoc, args); !ok {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "nuvlagen diff: "+format+"\nRun \"nuvlagen help diff\" for usage.\n", a...)
		return ExitUsage
	}
	switch f.format {
	case "text", "markdown", "json":
	default:
		return usageErr("unknown --format %q (want text, markdown or json)", f.format)
	}
	var color bool
	switch f.color {
	case "auto":
		color = isTerminal(e.stdout) && os.Getenv("NO_COLOR") == ""
	case "always":
		color = true
	case "never":
	default:
		return usageErr("unknown --color %q (want auto, always or never)", f.color)
	}

	var old, new pipeline.Files
	switch {
	case f.base != "":
		if flags.NArg() > 0 {
			return usageErr("with --base, no directories: got %q", flags.Arg(0))
		}
		var code int
		if old, new, code = renderBase(e, f.base, f.sites, f.sitesDir, int64(f.maxSize)); code != ExitOK {
			return code
		}
	default:
		if flags.NArg() != 2 {
			return usageErr("want two directories, OLD and NEW (or --base REV), got %d arguments", flags.NArg())
		}
		if len(f.sites) > 0 || f.sitesDir != "" {
			return usageErr("--site and --sites need --base")
		}
		var err error
		if old, err = readTree(flags.Arg(0), int64(f.maxSize)); err != nil {
			fmt.Fprintf(e.stderr, "nuvlagen diff: %v\n", err)
			return ExitUsage
		}
		if new, err = readTree(flags.Arg(1), int64(f.maxSize)); err != nil {
			fmt.Fprintf(e.stderr, "nuvlagen diff: %v\n", err)
			return ExitUsage
		}
	}
	r := diff.Compare(old, new)
	if err := diff.Write(e.stdout, r, f.format, color); err != nil {
		fmt.Fprintf(e.stderr, "nuvlagen diff: %v\n", err)
		return ExitUsage
	}
	if f.exitCode && !r.Empty() {
		return ExitInvalid
	}
	return ExitOK
}

// readTree reads every file under dir, by slash-separated path relative
// to it. Hidden entries and generate's staging directories are skipped:
// they are not output; so are symbolic links. A FIFO, device or socket,
// or a file larger than max, is an error.
func readTree(dir string, max int64) (pipeline.Files, error) {
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
		b, err := readRegular(p, max)
		if err != nil {
			return errors.New(fileError(p, err))
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

// renderBase renders the sites at revision rev and in the work tree,
// reading no file larger than max.
func renderBase(e *env, rev string, siteFiles []string, sitesDir string, max int64) (old, new pipeline.Files, code int) {
	fail := func(code int, format string, a ...any) (pipeline.Files, pipeline.Files, int) {
		fmt.Fprintf(e.stderr, "nuvlagen diff --base: "+format+"\n", a...)
		return nil, nil, code
	}
	top, err := git(e.cwd, "rev-parse", "--show-toplevel")
	if err != nil {
		return fail(ExitUsage, "%v", err)
	}
	root := strings.TrimSpace(string(top))
	if _, err := git(e.cwd, "rev-parse", "--verify", "--quiet", rev+"^{commit}"); err != nil {
		return fail(ExitUsage, "%q is not a commit of this repository", rev)
	}

	names := append([]string(nil), siteFiles...)
	if sitesDir != "" {
		// The directory's site files on either side: one only at rev is a
		// removed site, one only in the work tree an added one.
		set := map[string]bool{}
		matches, _ := filepath.Glob(filepath.Join(sitesDir, "*.cue"))
		for _, m := range matches {
			set[filepath.Clean(m)] = true
		}
		// Without --full-name, ls-tree names paths relative to the
		// working directory, as the work tree's are.
		list, err := git(e.cwd, "ls-tree", "-z", "--name-only", rev, "--", filepath.ToSlash(filepath.Clean(sitesDir))+"/")
		if err != nil {
			return fail(ExitUsage, "%v", err)
		}
		for _, n := range strings.Split(strings.TrimSuffix(string(list), "\x00"), "\x00") {
			if strings.HasSuffix(n, ".cue") {
				set[filepath.Clean(filepath.FromSlash(n))] = true
			}
		}
		if len(set) == 0 {
			return fail(ExitUsage, "%s: no *.cue site files, at %s or in the work tree", sitesDir, rev)
		}
		for n := range set {
			names = append(names, n)
		}
		sort.Strings(names[len(siteFiles):])
	}

	// The model at rev, exported into a temporary directory; the embedded
	// one when the repository holds site files only.
	oldModel := ""
	if list, err := git(root, "ls-tree", "--name-only", rev, "--", nuvlacue.Dir); err == nil && len(list) > 0 {
		tmp, err := os.MkdirTemp("", "nuvlagen-base-")
		if err != nil {
			return fail(ExitUsage, "%v", err)
		}
		defer os.RemoveAll(tmp)
		if err := gitExport(root, rev, nuvlacue.Dir, tmp, max); err != nil {
			return fail(ExitUsage, "exporting %s of %s: %v", nuvlacue.Dir, rev, err)
		}
		oldModel = filepath.Join(tmp, nuvlacue.Dir)
	}
	newModel := filepath.Join(root, nuvlacue.Dir)
	if st, err := os.Stat(newModel); err != nil || !st.IsDir() {
		newModel = ""
	}
	if len(names) == 0 && oldModel == "" && newModel == "" {
		return fail(ExitUsage, "this repository has no %s/ model and no example sites: name site files with --site or --sites", nuvlacue.Dir)
	}

	old, err = renderModel(e, oldModel, max, names, func(name string) ([]byte, bool, error) {
		return gitFile(e.cwd, rev, name, max)
	})
	if isRefusal(err) {
		return fail(ExitUsage, "%v", err)
	}
	if err != nil {
		// REV's model may need what REV's generator had, or lack what this
		// one requires. For the example sites, REV's committed output is
		// what REV's generator wrote (make check gates it): compare with
		// that, and say so.
		committed, cerr := committedOutput(root, rev, "out", max)
		if len(names) > 0 || cerr != nil || len(committed) == 0 {
			fmt.Fprintf(e.stderr, "nuvlagen diff --base: rendering %s:\n", rev)
			printErr(e, err)
			return nil, nil, ExitUsage
		}
		fmt.Fprintf(e.stderr, "nuvlagen diff --base: %s's model does not render with this nuvlagen (%s); comparing with the output committed in out/ at %s instead\n",
			rev, firstLine(err), rev)
		old = committed
	}
	new, err = renderModel(e, newModel, max, names, func(name string) ([]byte, bool, error) {
		b, err := readRegular(name, max)
		if os.IsNotExist(err) {
			return nil, false, nil // removed from the work tree
		}
		return b, err == nil, err
	})
	if isRefusal(err) {
		return fail(ExitUsage, "%v", err)
	}
	if err != nil {
		fmt.Fprintln(e.stderr, "nuvlagen diff --base: rendering the work tree:")
		printErr(e, err)
		return nil, nil, ExitInvalid
	}
	return old, new, ExitOK
}

// renderModel loads the model in dir (the embedded one when dir is "";
// no file larger than max) and renders the site files named (read with
// read, which reports files that do not exist), or the example sites of
// the model when none is.
func renderModel(e *env, dir string, max int64, siteFiles []string, read func(string) ([]byte, bool, error)) (pipeline.Files, error) {
	schema, examples := nuvlacue.Schema(), nuvlacue.Sites()
	if dir != "" {
		var err error
		if schema, examples, err = nuvlacue.Read(newRegularFS(dir, e.cwd, max)); err != nil {
			return nil, err
		}
	}
	l, err := site.NewLoaderFromFiles(schema)
	if err != nil {
		return nil, err
	}
	var sites []*site.Site
	if len(siteFiles) == 0 {
		if sites, err = l.LoadFiles(examples); err != nil {
			return nil, err
		}
	}
	for _, name := range siteFiles {
		b, ok, err := read(name)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		s, err := l.Load(displayName(e.cwd, name), b)
		if err != nil {
			return nil, err
		}
		sites = append(sites, s...)
	}
	return pipeline.Render(sites)
}

// committedOutput reads the regular files under dir (relative to the
// repository root) at rev, by path relative to dir, refusing any larger
// than max. The archive is read as git writes it, never held whole.
func committedOutput(root, rev, dir string, max int64) (files pipeline.Files, err error) {
	cmd := exec.Command("git", "archive", "--format=tar", rev, "--", dir)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() {
		if files == nil {
			_ = cmd.Process.Kill()
		}
		_, _ = io.Copy(io.Discard, out) // the archive's padding
		if werr := cmd.Wait(); werr != nil && err == nil {
			files, err = nil, fmt.Errorf("git archive %s -- %s: %s", rev, dir, strings.TrimSpace(stderr.String()))
		}
	}()
	files = pipeline.Files{}
	tr := tar.NewReader(out)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		rel, ok := strings.CutPrefix(h.Name, dir+"/")
		if !ok || strings.HasPrefix(path.Base(rel), ".") {
			continue
		}
		if h.Size > max {
			return nil, tooLarge(rev+":"+h.Name, h.Size, max)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		files[rel] = b
	}
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
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

// gitExport writes the files under dir (relative to the repository root)
// at rev into dst, keeping their paths; every one must be a regular file
// of at most max bytes.
func gitExport(root, rev, dir, dst string, max int64) error {
	entries, err := gitTree(root, rev, max, "-r", "--", dir)
	if err != nil {
		return err
	}
	for _, t := range entries {
		name := t.path
		b, err := git(root, "cat-file", "blob", t.object)
		if err != nil {
			return err
		}
		p := filepath.Join(dst, filepath.FromSlash(path.Clean(name)))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// treeEntry is one line of git ls-tree -l.
type treeEntry struct {
	mode, kind, object, path string
	size                     int64
}

// gitTree lists the entries git ls-tree -l finds with args at rev (in
// dir), refusing any that is not a regular file or is larger than max.
func gitTree(dir, rev string, max int64, args ...string) ([]treeEntry, error) {
	out, err := git(dir, append([]string{"ls-tree", "-z", "-l", rev}, args...)...)
	if err != nil {
		return nil, err
	}
	var entries []treeEntry
	for _, line := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		if line == "" {
			continue
		}
		meta, name, ok := strings.Cut(line, "\t")
		f := strings.Fields(meta)
		if !ok || len(f) != 4 {
			return nil, fmt.Errorf("git ls-tree: unexpected line %q", line)
		}
		t := treeEntry{mode: f[0], kind: f[1], object: f[2], path: name}
		where := rev + ":" + name
		switch {
		case t.kind == "tree":
			return nil, refused(where, "not a regular file (a directory)")
		case t.mode == "120000":
			return nil, refused(where, "not a regular file (a symbolic link)")
		case t.kind != "blob":
			return nil, refused(where, "not a regular file (a %s)", t.kind)
		}
		if t.size, err = strconv.ParseInt(f[3], 10, 64); err != nil {
			return nil, fmt.Errorf("git ls-tree: unexpected size in %q", line)
		}
		if t.size > max {
			return nil, tooLarge(where, t.size, max)
		}
		entries = append(entries, t)
	}
	return entries, nil
}

// gitFile reads the file name (relative to the working directory cwd) at
// rev: false when rev does not hold it, an error when it is not a regular
// file or is larger than max.
func gitFile(cwd, rev, name string, max int64) ([]byte, bool, error) {
	// "./" makes the path relative to the working directory.
	entries, err := gitTree(cwd, rev, max, "--", "./"+filepath.ToSlash(name))
	if isRefusal(err) {
		return nil, false, err
	}
	if err != nil || len(entries) == 0 {
		return nil, false, nil // not in rev (or outside the repository): the site is new
	}
	b, err := git(cwd, "cat-file", "blob", entries[0].object)
	return b, err == nil, err
}
