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

// TestIncrementalCompanions: deployments whose sites are found beside
// the inputs (files not given, which linking loads) are rendered again
// when a full run would render them otherwise: a target in another
// host's directory, a host given where one beside a target was, an
// error in a file beside one deployment (the others' sites are as a full
// run writes them, and the errors the same).
func TestIncrementalCompanions(t *testing.T) {
	if testing.Short() {
		t.Skip("renders many times")
	}
	t.Run("a target beside another host", func(t *testing.T) {
		r := companionRun{t, t.TempDir()}
		t.Chdir(r.root)
		r.write("d1/h.cue", hostFile("h", "192.0.2"))
		r.write("d2/g.cue", hostFile("g", "198.51.100"))
		r.write("d2/y.cue", targetFile("y", "h", "203.0.113.9"))
		r.step("first run", "d1/h.cue", "d2/g.cue")
		r.write("d1/h.cue", strings.Replace(hostFile("h", "192.0.2"), "h.example.org", "h2.example.org", 1))
		r.step("h edited", "d1/h.cue", "d2/g.cue")
		r.write("d2/y.cue", targetFile("y", "h", "203.0.113.19"))
		r.step("y edited", "d1/h.cue", "d2/g.cue")
	})
	t.Run("a host given where one beside its target was", func(t *testing.T) {
		r := companionRun{t, t.TempDir()}
		t.Chdir(r.root)
		r.write("s/t.cue", targetFile("t", "h", "203.0.113.5"))
		r.write("s/h.cue", hostFile("h", "192.0.2"))
		r.write("o/h.cue", hostFile("h", "198.51.100"))
		r.step("first run", "s/t.cue")
		r.step("another h given", "s/t.cue", "o/h.cue")
	})
	t.Run("an error beside one deployment", func(t *testing.T) {
		r := companionRun{t, t.TempDir()}
		t.Chdir(r.root)
		r.write("d1/h.cue", hostFile("h", "192.0.2"))
		r.write("d1/x.cue", targetFile("x", "h", "203.0.113.9"))
		r.write("d2/g.cue", hostFile("g", "198.51.100"))
		r.write("d2/v.cue", targetFile("v", "g", "203.0.113.7"))
		r.step("first run", "d1/h.cue", "d2/g.cue", "d2/v.cue")
		r.write("d1/h.cue", strings.Replace(hostFile("h", "192.0.2"), "h.example.org", "x.example.org", 1))
		r.step("h's domain is its target's", "d1/h.cue", "d2/g.cue", "d2/v.cue")
	})
}
