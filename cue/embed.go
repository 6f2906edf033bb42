// Package nuvlacue embeds the CUE model (schemas, Nuvla stacks, example
// sites) so the nuvlagen binary works from any directory.
package nuvlacue

import (
	"embed"
	"io/fs"
	"path"
	"sort"
	"strings"
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

// Schema returns the files of the package that defines #Site and the stacks.
func Schema() []File { return glob(".") }

// Sites returns the embedded example sites, one file each.
func Sites() []File { return glob("sites") }

func glob(dir string) []File {
	entries, err := fs.ReadDir(files, dir)
	if err != nil {
		panic(err) // the directories are embedded: absence is a build bug
	}
	var out []File
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".cue") {
			continue
		}
		p := path.Join(dir, e.Name())
		data, err := files.ReadFile(p)
		if err != nil {
			panic(err)
		}
		out = append(out, File{Name: path.Join(Dir, p), Data: data})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
