// Package nuvlacue embeds the CUE model (schemas, Nuvla stacks, example
// sites) so the nuvlagen binary works from any directory.
package nuvlacue

import (
	"embed"
	"errors"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
)

//go:embed *.cue sites/*.cue cue.mod/module.cue
var files embed.FS

// Dir is the name the embedded files carry in error positions: the same
// path they have in the repository, so positions point at real files.
const Dir = "cue"

// File is one embedded CUE source.
type File struct {
	// Name is the path as it appears in positions, e.g. "cue/site.cue".
	Name string
	Data []byte
}

// IsSchemaFile reports whether name, a position's file name, is the name
// of one of the schema files embedded in this build ("cue/site.cue"; the
// files of Schema, which another revision read by Read names alike),
// rather than a site ("cue/sites/x.cue", or any file of the user's, even
// one in a directory called cue).
func IsSchemaFile(name string) bool { return schemaNames()[name] }

var schemaNames = sync.OnceValue(func() map[string]bool {
	names := map[string]bool{}
	for _, f := range Schema() {
		names[f.Name] = true
	}
	return names
})

// Schema returns the files of the package that defines #Site and the stacks.
func Schema() []File { return must(glob(files, ".")) }

// Sites returns the embedded example sites, one file each.
func Sites() []File { return must(glob(files, "sites")) }

// Read returns the model's files from fsys, a directory laid out as this
// one (schema files at the top, example sites in sites/): the model of
// another revision, say. A missing sites/ directory holds no sites.
func Read(fsys fs.FS) (schema, sites []File, err error) {
	if schema, err = glob(fsys, "."); err != nil {
		return nil, nil, err
	}
	if sites, err = glob(fsys, "sites"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, err
	}
	return schema, sites, nil
}

func must(f []File, err error) []File {
	if err != nil {
		panic(err) // the directories are embedded: absence is a build bug
	}
	return f
}

func glob(fsys fs.FS, dir string) ([]File, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []File
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".cue") {
			continue
		}
		p := path.Join(dir, e.Name())
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, err
		}
		out = append(out, File{Name: path.Join(Dir, p), Data: data})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
