package pipeline

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

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
