package pipeline

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nuvla/nuvlagen/internal/synthetic"
)

// TestRunDuplicates: of two inputs defining a site, the first keeps it
// and the second is an error; every site is handed to Take; the kept
// sites' warnings are in the result.
func TestRunDuplicates(t *testing.T) {
	files := synthetic.Targets(2, 2)
	inputs := []Input{
		{Name: "a.cue", Data: files[0].Data},
		{Name: "b.cue", Data: files[0].Data},
		{Name: "c.cue", Data: files[1].Data},
		{Name: "bad.cue", Data: []byte("kind: 1\n")},
	}
	var taken atomic.Int32
	res, err := Run(context.Background(), inputs, Options{Jobs: 2, Take: func(int, *Rendered) { taken.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Names(), " "); got != "t0000 t0001" {
		t.Errorf("sites %q, want t0000 t0001", got)
	}
	if n := taken.Load(); n != 3 {
		t.Errorf("Take called %d times, want 3", n)
	}
	if len(res.Errors) != 2 || !strings.Contains(res.Errors[1].Error(), "site t0000 is also defined in a.cue") {
		t.Errorf("errors %v, want bad.cue's, then the duplicate", res.Errors)
	}
	if res.Err() == nil || len(res.Warnings) == 0 {
		t.Errorf("Err() = %v, %d warnings; want an error and the warnings", res.Err(), len(res.Warnings))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, inputs, Options{}); err == nil {
		t.Error("Run with a done context returned no error")
	}
}

// TestDeploymentsRenderInParallel: the sites of three deployments, rendered
// once all are linked, render on several goroutines (one per loader's
// CUE context at a time) and write what one goroutine writes, each
// handed to Take once; make test runs it under the race detector. (The
// detector says nothing of sharing a context: rendering only reads
// finalized values, and a mutation that renders every site on its own
// goroutine passed it too; contexts are kept apart because CUE does not
// promise that reading is safe.)
func TestDeploymentsRenderInParallel(t *testing.T) {
	var inputs []Input
	for k := range 3 {
		inputs = append(inputs, Input{Name: fmt.Sprintf("h%d.cue", k), Data: fmt.Appendf(nil, `name: "h%d"
kind: "host"
domain: "h%d.example.org"
nodes: {
	"h%d-1": {address: "10.%d.0.1", role: "manager", labels: type: "frontend"}
	"h%d-2": {address: "10.%d.0.2", role: "worker", labels: type: "worker-job"}
	"h%d-3": {address: "10.%d.0.3", role: "worker", labels: type: "worker-db"}
}
groups: management: ["198.51.100.0/28"]
`, k, k, k, k, k, k, k, k)})
		inputs = append(inputs, Input{Name: fmt.Sprintf("h%dt.cue", k), Data: fmt.Appendf(nil, `name: "h%dt"
kind: "target"
host: "h%d"
domain: "h%dt.example.org"
nodes: "n": {address: "10.%d.1.1", role: "manager", nfsServer: true}
groups: management: ["198.51.100.0/28"]
`, k, k, k, k)})
	}
	var want Files
	for _, jobs := range []int{1, 2} {
		var taken atomic.Int32
		res, err := Run(context.Background(), inputs, Options{Jobs: jobs, Take: func(int, *Rendered) { taken.Add(1) }})
		if err != nil {
			t.Fatal(err)
		}
		if err := res.Err(); err != nil {
			t.Fatalf("jobs %d: %v", jobs, err)
		}
		if n := int(taken.Load()); n != len(inputs) {
			t.Errorf("jobs %d: Take called %d times, want %d", jobs, n, len(inputs))
		}
		got := res.Files()
		if want == nil {
			want = got
			continue
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("jobs %d writes other files than jobs 1 (-1 +%d):\n%s", jobs, jobs, d)
		}
	}
}
