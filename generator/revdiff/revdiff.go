// Package revdiff renders both sides of "nuvlagen diff --base": the sites
// with the model and site files of a git revision, and with those of the
// work tree, by the same generator (pipeline.Run).
package revdiff

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
	"github.com/nuvla/nuvlagen/generator/gitrev"
	"github.com/nuvla/nuvlagen/generator/inputfile"
	"github.com/nuvla/nuvlagen/generator/pipeline"
)

// Options say what to render.
type Options struct {
	Cwd string // the working directory, in the repository
	Rev string
	// Sites are site files (relative to Cwd); SitesDir, a directory of
	// them, on either side. With neither, the model's example sites.
	Sites    []string
	SitesDir string
	Max      int64 // the largest file read
}

// Sides are the two renderings.
type Sides struct {
	Old, New pipeline.Files
	// Note, when not empty, says that Old is the output committed in out/
	// at the revision, as its model does not render with this nuvlagen.
	Note string
}

// RevError is the error of the revision's side: its model or sites do
// not render (with this nuvlagen), and there is no committed output to
// fall back on. Not the user's input.
type RevError struct {
	Rev string
	Err error // positioned
}

func (e *RevError) Error() string { return fmt.Sprintf("rendering %s: %v", e.Rev, e.Err) }

// WorkTreeError is the error of the work tree's side: a site file that
// cannot be read (*inputfile.UnreadableError) or does not render
// (*pipeline.InvalidError). The user's input.
type WorkTreeError struct{ Err error }

func (e *WorkTreeError) Error() string { return "rendering the work tree: " + e.Err.Error() }

// Unwrap returns the error.
func (e *WorkTreeError) Unwrap() error { return e.Err }

// Render renders the sites at o.Rev and in the work tree. When the
// revision's model does not render and no site file is named, the
// example sites are compared with the output committed in out/ at the
// revision instead (REV's generator wrote it, make check gates it), and
// Note says so. Once ctx is done it returns ctx's error.
func Render(ctx context.Context, o Options) (*Sides, error) {
	repo, err := gitrev.Open(o.Cwd)
	if err != nil {
		return nil, err
	}
	if !repo.IsCommit(o.Rev) {
		return nil, fmt.Errorf("%q is not a commit of this repository", o.Rev)
	}
	names, err := siteNames(repo, o)
	if err != nil {
		return nil, err
	}
	// The model at rev; the embedded one when the repository holds site
	// files only. One git archive reads it and the site files.
	var oldModel, newModel fs.FS
	var dirs []string
	if repo.HasDir(o.Rev, nuvlacue.Dir) {
		dirs = []string{nuvlacue.Dir}
	}
	// The .cue files beside each named one, where a target's host may
	// be (read at the revision for its side, in the work tree for the
	// other).
	besideRev := map[string][]string{}
	var exported []string
	for _, n := range names {
		dir := filepath.Dir(n)
		if _, done := besideRev[dir]; done {
			continue
		}
		list, err := repo.List(o.Rev, dir)
		if err != nil {
			return nil, err
		}
		besideRev[dir] = []string{}
		for _, m := range list {
			if strings.HasSuffix(m, ".cue") {
				besideRev[dir] = append(besideRev[dir], filepath.FromSlash(m))
				exported = append(exported, filepath.FromSlash(m))
			}
		}
	}
	tree, err := repo.Export(o.Rev, o.Max, dirs, append(slices.Clone(names), exported...))
	if err != nil {
		return nil, err
	}
	dirOf := map[string]string{}
	for _, n := range names {
		dirOf[inputfile.DisplayName(o.Cwd, n)] = filepath.Dir(n)
	}
	oldCompanions := func(in pipeline.Input) []pipeline.Input {
		var out []pipeline.Input
		for _, m := range besideRev[dirOf[in.Name]] {
			if b, ok := tree.File(m); ok && inputfile.DisplayName(o.Cwd, m) != in.Name {
				out = append(out, pipeline.Input{Name: inputfile.DisplayName(o.Cwd, m), Data: b})
			}
		}
		return out
	}
	newCompanions := func(in pipeline.Input) []pipeline.Input {
		return pipeline.Inputs(inputfile.Beside(o.Cwd, in.Name))
	}
	if dirs != nil {
		oldModel = tree.FS(nuvlacue.Dir)
	}
	dir := filepath.Join(repo.Root, nuvlacue.Dir)
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		newModel = inputfile.FS(dir, o.Cwd, o.Max)
	}
	if len(names) == 0 && oldModel == nil && newModel == nil {
		return nil, fmt.Errorf("this repository has no %s/ model and no example sites: name site files with --site or --sites", nuvlacue.Dir)
	}

	var oldInputs, newInputs []pipeline.Input
	var unreadable []error
	for _, n := range names {
		if b, ok := tree.File(n); ok {
			oldInputs = append(oldInputs, pipeline.Input{Name: inputfile.DisplayName(o.Cwd, n), Data: b})
		}
	}
	sides := &Sides{}
	sides.Old, err = render(ctx, oldModel, names, oldInputs, oldCompanions)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		committed, cerr := repo.Committed(o.Rev, "out", o.Max)
		if len(names) > 0 || cerr != nil || len(committed) == 0 {
			return nil, &RevError{o.Rev, err}
		}
		first, _, _ := strings.Cut(err.Error(), "\n")
		sides.Note = fmt.Sprintf("%s's model does not render with this nuvlagen (%s); comparing with the output committed in out/ at %s instead", o.Rev, first, o.Rev)
		sides.Old = committed
	}
	for _, n := range names {
		b, err := inputfile.Read(n, o.Max)
		switch {
		case errors.Is(err, fs.ErrNotExist): // removed from the work tree
		case err != nil:
			unreadable = append(unreadable, errors.New(inputfile.Describe(n, err)))
		default:
			newInputs = append(newInputs, pipeline.Input{Name: inputfile.DisplayName(o.Cwd, n), Data: b})
		}
	}
	if unreadable != nil {
		return nil, &WorkTreeError{&inputfile.UnreadableError{Errs: unreadable}}
	}
	sides.New, err = render(ctx, newModel, names, newInputs, newCompanions)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var invalid *pipeline.InvalidError
	if errors.As(err, &invalid) {
		return nil, &WorkTreeError{err}
	}
	if err != nil {
		return nil, err // the model refused a file
	}
	return sides, nil
}

// siteNames are the site files named, and those of o.SitesDir on either
// side: one only at the revision is a removed site, one only in the work
// tree an added one.
func siteNames(repo *gitrev.Repo, o Options) ([]string, error) {
	names := append([]string(nil), o.Sites...)
	if o.SitesDir == "" {
		return names, nil
	}
	set := map[string]bool{}
	matches, _ := filepath.Glob(filepath.Join(o.SitesDir, "*.cue"))
	for _, m := range matches {
		set[filepath.Clean(m)] = true
	}
	list, err := repo.List(o.Rev, o.SitesDir)
	if err != nil {
		return nil, err
	}
	for _, n := range list {
		if strings.HasSuffix(n, ".cue") {
			set[filepath.Clean(filepath.FromSlash(n))] = true
		}
	}
	if len(set) == 0 {
		return nil, fmt.Errorf("%s: no *.cue site files, at %s or in the work tree", o.SitesDir, o.Rev)
	}
	var dir []string
	for n := range set {
		dir = append(dir, n)
	}
	sort.Strings(dir)
	return append(names, dir...), nil
}

// render renders inputs with the model in fsys (the embedded one when
// nil), or the model's example sites when no site file is named.
func render(ctx context.Context, fsys fs.FS, names []string, inputs []pipeline.Input, companions func(pipeline.Input) []pipeline.Input) (pipeline.Files, error) {
	schema, examples := nuvlacue.Schema(), nuvlacue.Sites()
	if fsys != nil {
		var err error
		if schema, examples, err = nuvlacue.Read(fsys); err != nil {
			return nil, err
		}
	}
	if len(names) == 0 {
		inputs = pipeline.Inputs(examples)
		companions = nil
	}
	res, err := pipeline.Run(ctx, inputs, pipeline.Options{Jobs: runtime.GOMAXPROCS(0), Schema: schema, Companions: companions})
	if err != nil {
		return nil, err
	}
	if err := res.Err(); err != nil {
		return nil, err
	}
	return res.Files(), nil
}
