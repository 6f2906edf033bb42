package generate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nuvla/nuvlagen/generator/inputfile"
	"github.com/nuvla/nuvlagen/generator/pipeline"
)

// hostFile is the file of host site name, its nodes at net.1 to net.3.
func hostFile(name, net string) string {
	return fmt.Sprintf(`name:   %[1]q
kind:   "host"
domain: "%[1]s.example.org"
nodes: {
	"%[1]s-1": {address: "%[2]s.1", role: "manager", labels: type: "frontend"}
	"%[1]s-2": {address: "%[2]s.2", role: "worker", labels: type: "worker-job"}
	"%[1]s-3": {address: "%[2]s.3", role: "worker", labels: type: "worker-db"}
}
groups: management: ["198.51.100.0/28"]
`, name, net)
}

// targetFile is the file of target site name of host, its node at addr.
func targetFile(name, host, addr string) string {
	return fmt.Sprintf(`name: %[1]q
kind: "target"
host: %[2]q
domain: "%[1]s.example.org"
nodes: "%[1]s-1": {address: %[3]q, role: "manager", nfsServer: true}
groups: management: ["198.51.100.0/28"]
`, name, host, addr)
}

// companionRun is a directory of site files and an output directory
// that generate writes incrementally.
type companionRun struct {
	t    *testing.T
	root string
}

func (r companionRun) write(name, data string) {
	r.t.Helper()
	p := filepath.Join(r.root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// messages are the errors of an InvalidError, sorted.
func messages(err error) []string {
	var inv *pipeline.InvalidError
	if !errors.As(err, &inv) {
		return nil
	}
	var out []string
	for _, e := range inv.Errs {
		out = append(out, e.Error())
	}
	slices.Sort(out)
	return out
}

// step generates inputs (paths relative to the root; the files beside
// them are their companions) into the incremental output directory and
// into an empty one, and fails unless both report the same errors and
// hold the same files for every site the full run wrote.
func (r companionRun) step(what string, inputs ...string) {
	t := r.t
	t.Helper()
	files, err := inputfile.SiteFiles(r.root, inputs, "")
	if err != nil {
		t.Fatal(err)
	}
	in := pipeline.Inputs(files)
	beside := pipeline.Beside(r.root)
	inc := filepath.Join(r.root, "inc")
	res, err := Write(context.Background(), in, Options{Out: inc, Jobs: 2, Build: "b", Cache: filepath.Join(r.root, "cache"), Companions: beside, KeepGoing: true})
	if err != nil {
		t.Fatalf("%s: incremental: %v", what, err)
	}
	full := filepath.Join(t.TempDir(), "full")
	fres, err := Write(context.Background(), in, Options{Out: full, Jobs: 2, Build: "b", Full: true, Companions: beside, KeepGoing: true})
	if err != nil {
		t.Fatalf("%s: full: %v", what, err)
	}
	if got, want := messages(res.Invalid), messages(fres.Invalid); !slices.Equal(got, want) {
		t.Errorf("%s: the incremental run reports\n%s\nthe full run\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	have, want := treeFiles(t, inc), treeFiles(t, full)
	for p := range have {
		site, _, _ := strings.Cut(p, "/")
		if _, err := os.Stat(filepath.Join(full, site)); err != nil {
			delete(have, p) // a site the full run did not write (it failed)
		}
	}
	if d := treeDiff(have, want); d != "" {
		t.Errorf("%s: incremental and full trees differ (written %v, unchanged %v):\n%s", what, res.Written, res.Unchanged, d)
	}
	t.Logf("%s: written %v, unchanged %v", what, res.Written, res.Unchanged)
}

// TestIncrementalCompanions: deployments linked through files beside the
// inputs (not given, which linking loads) render as a full run renders
// them, step after step: the same errors, and the same files for every
// site the full run writes. The cases are those three independent
// reviews found, each failing on the code before its fix.
func TestIncrementalCompanions(t *testing.T) {
	if testing.Short() {
		t.Skip("renders many times")
	}
	type step struct {
		what   string
		write  map[string]string // files written before the step
		inputs []string
	}
	renamed := func(file, from, to string) string { return strings.Replace(file, from, to, 1) }
	h, g := hostFile("h", "192.0.2"), hostFile("g", "198.51.100")
	// narrowed is a target whose firewall admits Nuvla only from h-1,
	// not from h-2, which runs a client of the target's Docker API.
	narrowed := func(name, host, addr string) string {
		return renamed(targetFile(name, host, addr), `groups: management: ["198.51.100.0/28"]`,
			`groups: {management: ["198.51.100.0/28"], nuvla: ["192.0.2.1/32"]}`)
	}
	all4 := []string{"s/h.cue", "s/x.cue", "s/g.cue", "s/y.cue"}
	for _, tc := range []struct {
		name  string
		files map[string]string
		steps []step
	}{{
		name:  "a target beside another host joins its own host's deployment",
		files: map[string]string{"d1/h.cue": h, "d2/g.cue": g, "d2/y.cue": targetFile("y", "h", "203.0.113.9")},
		steps: []step{
			{"first run", nil, []string{"d1/h.cue", "d2/g.cue"}},
			{"h edited", map[string]string{"d1/h.cue": renamed(h, "h.example.org", "h2.example.org")}, []string{"d1/h.cue", "d2/g.cue"}},
			{"y edited", map[string]string{"d2/y.cue": targetFile("y", "h", "203.0.113.19")}, []string{"d1/h.cue", "d2/g.cue"}},
		},
	}, {
		name:  "a host given where one beside its target was",
		files: map[string]string{"s/t.cue": targetFile("t", "h", "203.0.113.5"), "s/h.cue": h, "o/h.cue": hostFile("h", "198.51.100")},
		steps: []step{
			{"first run", nil, []string{"s/t.cue"}},
			{"another h given", nil, []string{"s/t.cue", "o/h.cue"}},
		},
	}, {
		name: "an error beside one deployment fails that one",
		files: map[string]string{"d1/h.cue": h, "d1/x.cue": targetFile("x", "h", "203.0.113.9"),
			"d2/g.cue": g, "d2/v.cue": targetFile("v", "g", "203.0.113.7")},
		steps: []step{
			{"first run", nil, []string{"d1/h.cue", "d2/g.cue", "d2/v.cue"}},
			{"h's domain is its target's", map[string]string{"d1/h.cue": renamed(h, "h.example.org", "x.example.org")}, []string{"d1/h.cue", "d2/g.cue", "d2/v.cue"}},
		},
	}, {
		name: "a target names a reused target as its host",
		files: map[string]string{"s/h.cue": h, "s/x.cue": targetFile("x", "h", "203.0.113.9"),
			"s/g.cue": g, "s/y.cue": targetFile("y", "g", "203.0.113.7")},
		steps: []step{
			{"first run", nil, []string{"s/h.cue", "s/x.cue", "s/g.cue", "s/y.cue"}},
			{"y names x", map[string]string{"s/y.cue": targetFile("y", "x", "203.0.113.7")}, []string{"s/h.cue", "s/x.cue", "s/g.cue", "s/y.cue"}},
		},
	}, {
		name: "a target names a reused target as its host, a host of that name beside it",
		files: map[string]string{"s/h.cue": h, "s/x.cue": targetFile("x", "h", "203.0.113.9"),
			"o/g.cue": g, "o/y.cue": targetFile("y", "g", "203.0.113.7"), "o/xh.cue": hostFile("x", "10.0.0")},
		steps: []step{
			{"first run", nil, []string{"s/h.cue", "s/x.cue", "o/g.cue", "o/y.cue"}},
			{"y names x", map[string]string{"o/y.cue": targetFile("y", "x", "203.0.113.7")}, []string{"s/h.cue", "s/x.cue", "o/g.cue", "o/y.cue"}},
		},
	}, {
		name:  "a new host whose target is beside a reused host",
		files: map[string]string{"d1/h.cue": h, "d2/g.cue": g, "d2/y.cue": targetFile("y", "h", "203.0.113.9")},
		steps: []step{
			{"first run", nil, []string{"d2/g.cue"}},
			{"h given", nil, []string{"d1/h.cue", "d2/g.cue"}},
		},
	}, {
		name:  "a host renamed to the one a target beside a reused host names",
		files: map[string]string{"d1/h.cue": renamed(h, `name:   "h"`, `name:   "h0"`), "d2/g.cue": g, "d2/y.cue": targetFile("y", "h", "203.0.113.9")},
		steps: []step{
			{"first run", nil, []string{"d1/h.cue", "d2/g.cue"}},
			{"h0 renamed h", map[string]string{"d1/h.cue": h}, []string{"d1/h.cue", "d2/g.cue"}},
		},
	}, {
		name: "a target beside a host named like a reused deployment's target",
		files: map[string]string{"d1/h.cue": h, "d1/x.cue": targetFile("x", "h", "203.0.113.9"),
			"d2/g.cue": g, "d2/x2.cue": targetFile("x", "g", "203.0.113.19")},
		steps: []step{
			{"first run", nil, []string{"d1/h.cue", "d1/x.cue", "d2/g.cue"}},
			{"g edited", map[string]string{"d2/g.cue": renamed(g, "g.example.org", "g2.example.org")}, []string{"d1/h.cue", "d1/x.cue", "d2/g.cue"}},
		},
	}, {
		// A link error in one deployment hid another's firewall problem
		// (--keep-going wrote it), and the next run reused it as checked.
		name: "a collision in one deployment, then fixed, beside a firewall problem in another",
		files: map[string]string{"s/h.cue": h, "s/x.cue": narrowed("x", "h", "203.0.113.9"),
			"s/g.cue": g, "s/y.cue": renamed(targetFile("y", "g", "203.0.113.7"), "y.example.org", "g.example.org")},
		steps: []step{
			{"first run", nil, all4},
			{"y fixed", map[string]string{"s/y.cue": targetFile("y", "g", "203.0.113.7")}, all4},
		},
	}, {
		name: "a target naming no host, then fixed, beside a firewall problem in another deployment",
		files: map[string]string{"s/h.cue": h, "s/x.cue": narrowed("x", "h", "203.0.113.9"),
			"s/g.cue": g, "s/y.cue": targetFile("y", "nohost", "203.0.113.7")},
		steps: []step{
			{"first run", nil, all4},
			{"y names g", map[string]string{"s/y.cue": targetFile("y", "g", "203.0.113.7")}, all4},
		},
	}, {
		name:  "a target naming no host, then not given, beside a firewall problem in another deployment",
		files: map[string]string{"s/h.cue": h, "s/x.cue": narrowed("x", "h", "203.0.113.9"), "o/z.cue": targetFile("z", "nohost", "203.0.113.30")},
		steps: []step{
			{"first run", nil, []string{"s/h.cue", "s/x.cue", "o/z.cue"}},
			{"z dropped", nil, []string{"s/h.cue", "s/x.cue"}},
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			r := companionRun{t, t.TempDir()}
			t.Chdir(r.root)
			for name, data := range tc.files {
				r.write(name, data)
			}
			for _, st := range tc.steps {
				for name, data := range st.write {
					r.write(name, data)
				}
				r.step(st.what, st.inputs...)
			}
		})
	}
}
