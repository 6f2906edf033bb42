package generate

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nuvla/nuvlagen/generator/inputfile"
	"github.com/nuvla/nuvlagen/generator/pipeline"
)

// The sites of TestIncrementalIsFull: two targets on their own, and two
// deployments (a host, and a target that derives from it the addresses
// it admits Nuvla from).
var incrementalSites = map[string]string{
	"a.cue": `sites: a: {
	kind: "target"
	domain: "a.example.org"
	nodes: "a-1": {address: "203.0.113.1", role: "manager", nfsServer: true}
	groups: {management: ["198.51.100.0/28"], nuvla: ["192.0.2.10/32"]}
}
`,
	"b.cue": `sites: b: {
	kind: "target"
	domain: "b.example.org"
	nodes: "b-1": {address: "203.0.113.2", role: "manager", nfsServer: true}
	groups: {management: ["198.51.100.0/28"], nuvla: ["192.0.2.10/32"]}
}
`,
	"h.cue": `name:   "h"
kind:   "host"
domain: "h.example.org"
nodes: {
	"h-1": {address: "192.0.2.1", role: "manager", labels: type: "frontend"}
	"h-2": {address: "192.0.2.2", role: "worker", labels: type: "worker-job"}
	"h-3": {address: "192.0.2.3", role: "worker", labels: type: "worker-db"}
}
groups: management: ["198.51.100.0/28"]
`,
	"t.cue": `name: "t"
kind: "target"
host: "h"
domain: "t.example.org"
nodes: "t-1": {address: "203.0.113.5", role: "manager", nfsServer: true}
groups: management: ["198.51.100.0/28"]
`,
	"g.cue": `name:   "g"
kind:   "host"
domain: "g.example.org"
nodes: {
	"g-1": {address: "192.0.2.21", role: "manager", labels: type: "frontend"}
	"g-2": {address: "192.0.2.22", role: "worker", labels: type: "worker-job"}
	"g-3": {address: "192.0.2.23", role: "worker", labels: type: "worker-db"}
}
groups: management: ["198.51.100.0/28"]
`,
	"v.cue": `name: "v"
kind: "target"
host: "g"
domain: "v.example.org"
nodes: "v-1": {address: "203.0.113.7", role: "manager", nfsServer: true}
groups: management: ["198.51.100.0/28"]
`,
}

// TestIncrementalIsFull: for random sequences of changes (a site file
// edited, a host edited so that its target changes, a new target of the
// host, a target moved to the other host, a file of the output edited or
// deleted by hand, a site's directory deleted, a site file renamed,
// another build of nuvlagen), generate into the same output directory
// writes, byte for byte and mode for mode, the tree a full render into
// an empty directory writes; it does reuse sites, and a change to one
// deployment's file leaves the other deployment's sites as they are.
func TestIncrementalIsFull(t *testing.T) {
	if testing.Short() {
		t.Skip("renders many times")
	}
	seeds := []uint64{1, 2}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { incrementalSequence(t, seed, 11) })
	}
}

func incrementalSequence(t *testing.T, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, 0))
	root := t.TempDir()
	t.Chdir(root)
	sites := filepath.Join(root, "sites")
	if err := os.Mkdir(sites, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range incrementalSites {
		if err := os.WriteFile(filepath.Join(sites, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	inc := filepath.Join(root, "inc")
	cache := filepath.Join(root, "cache")
	build := "build-0"
	reused := 0
	edit := func(file, old, new string) string {
		p := filepath.Join(sites, file)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if !strings.Contains(s, old) {
			t.Fatalf("%s has no %q", file, old)
		}
		if err := os.WriteFile(p, []byte(strings.Replace(s, old, new, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%s: %s -> %s", file, old, new)
	}
	// Values that change by step, each edit replacing the last.
	value := map[string]string{"a": "a.example.org", "t": "t.example.org", "h": "192.0.2.1", "g": "192.0.2.21"}
	// The deployment of each target of one.
	hostOf := map[string]string{"t": "h", "v": "g"}
	// others are the sites of the deployments other than host's.
	others := func(host string) []string {
		var out []string
		for tg, h := range hostOf {
			if h != host {
				out = append(out, tg, h)
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	// Every kind of change once in 11 steps, in a random order.
	kinds := rng.Perm(11)
	aFile := "a.cue"
	for step := range steps + 1 {
		what := "first run"
		var untouched []string // sites this step's change must leave as they are
		if step > 0 {
			switch kinds[(step-1)%len(kinds)] {
			case 0:
				v := fmt.Sprintf("a%d.example.org", step)
				what = edit(aFile, `"`+value["a"]+`"`, `"`+v+`"`)
				value["a"] = v
			case 1: // the host: its target's Nuvla sources change
				v := fmt.Sprintf("192.0.2.%d", 100+step)
				what = edit("h.cue", `"`+value["h"]+`"`, `"`+v+`"`)
				value["h"] = v
			case 2:
				v := fmt.Sprintf("t%d.example.org", step)
				what = edit("t.cue", `"`+value["t"]+`"`, `"`+v+`"`)
				value["t"] = v
				untouched = others(hostOf["t"])
			case 9: // the other host: its target's Nuvla sources change
				v := fmt.Sprintf("192.0.2.%d", 150+step)
				what = edit("g.cue", `"`+value["g"]+`"`, `"`+v+`"`)
				value["g"] = v
				untouched = others("g")
			case 10: // a target moves to the other host
				to := map[string]string{"h": "g", "g": "h"}[hostOf["t"]]
				what = edit("t.cue", `host: "`+hostOf["t"]+`"`, `host: "`+to+`"`)
				hostOf["t"] = to
			case 3, 4: // a file of the output deleted, or edited
				files := treeFiles(t, inc)
				p := slices.Sorted(maps.Keys(files))[rng.IntN(len(files))]
				full := filepath.Join(inc, filepath.FromSlash(p))
				if kinds[(step-1)%len(kinds)] == 3 {
					what = "deleted out/" + p
					if err := os.Remove(full); err != nil {
						t.Fatal(err)
					}
				} else {
					what = "edited out/" + p
					b := append(bytes.Clone(files[p].data), "# by hand\n"...)
					if err := os.WriteFile(full, b, files[p].mode); err != nil {
						t.Fatal(err)
					}
				}
			case 5:
				site := []string{"a", "b", "h", "t"}[rng.IntN(4)]
				what = "deleted out/" + site
				if err := os.RemoveAll(filepath.Join(inc, site)); err != nil {
					t.Fatal(err)
				}
			case 6:
				next := "a.cue"
				if aFile == "a.cue" {
					next = "a-renamed.cue"
				}
				what = "renamed " + aFile + " to " + next
				if err := os.Rename(filepath.Join(sites, aFile), filepath.Join(sites, next)); err != nil {
					t.Fatal(err)
				}
				aFile = next
			case 7:
				build = fmt.Sprintf("build-%d", step)
				what = "another nuvlagen, " + build
			case 8: // a new target of the host: the host lists it
				what = "added u.cue, a target of h"
				u := strings.NewReplacer(`"t"`, `"u"`, "t.example.org", "u.example.org", "203.0.113.5", "203.0.113.6").Replace(incrementalSites["t.cue"])
				if err := os.WriteFile(filepath.Join(sites, "u.cue"), []byte(u), 0o644); err != nil {
					t.Fatal(err)
				}
				hostOf["u"] = "h"
				untouched = others("h")
			}
		}
		files, err := inputfile.SiteFiles(root, nil, "sites")
		if err != nil {
			t.Fatal(err)
		}
		inputs := pipeline.Inputs(files)
		companions := pipeline.Beside(root)
		res, err := Write(context.Background(), inputs, Options{Out: inc, Jobs: 2, Build: build, Cache: cache, Companions: companions})
		if err != nil || res.Invalid != nil {
			t.Fatalf("step %d (%s): incremental: %v %v", step, what, err, res.Invalid)
		}
		reused += len(res.Unchanged)
		for _, name := range untouched {
			if !slices.Contains(res.Unchanged, name) {
				t.Errorf("step %d (%s): site %s, of another deployment, was rendered again (unchanged %v)", step, what, name, res.Unchanged)
			}
		}
		full := filepath.Join(t.TempDir(), "full")
		fres, err := Write(context.Background(), inputs, Options{Out: full, Jobs: 2, Build: build, Full: true, Companions: companions})
		if err != nil || fres.Invalid != nil || len(fres.Unchanged) > 0 {
			t.Fatalf("step %d (%s): full: %v %v, %d unchanged", step, what, err, fres.Invalid, len(fres.Unchanged))
		}
		if d := treeDiff(treeFiles(t, inc), treeFiles(t, full)); d != "" {
			t.Fatalf("step %d (%s): incremental and full trees differ (written %v, unchanged %v):\n%s", step, what, res.Written, res.Unchanged, d)
		}
		t.Logf("step %d (%s): rendered %d, unchanged %v", step, what, len(res.Written), res.Unchanged)
	}
	if reused == 0 {
		t.Error("no site was ever reused: the test proves nothing")
	}
}

type treeFile struct {
	data []byte
	mode fs.FileMode
}

// treeFiles reads every file under dir, by slash path.
func treeFiles(t *testing.T, dir string) map[string]treeFile {
	t.Helper()
	files := map[string]treeFile{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = treeFile{b, info.Mode()}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func treeDiff(a, b map[string]treeFile) string {
	var out []string
	for p, fa := range a {
		fb, ok := b[p]
		switch {
		case !ok:
			out = append(out, "only incremental: "+p)
		case !bytes.Equal(fa.data, fb.data):
			out = append(out, "content differs: "+p)
		case fa.mode != fb.mode:
			out = append(out, fmt.Sprintf("mode differs: %s %v %v", p, fa.mode, fb.mode))
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			out = append(out, "only full: "+p)
		}
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}
