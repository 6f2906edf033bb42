package exit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nuvla/nuvlagen/generator/inputfile"
	"github.com/nuvla/nuvlagen/generator/outdir"
	"github.com/nuvla/nuvlagen/generator/pipeline"
)

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, OK},
		{Findings, Invalid},
		{UsageErr, Usage},
		{fmt.Errorf("wrapped: %w", Findings), Invalid},
		{&pipeline.InvalidError{Errs: []error{errors.New("bad site")}}, Invalid},
		{Printed(&pipeline.InvalidError{}), Invalid},
		{&inputfile.UnreadableError{Errs: []error{errors.New("x.cue: no such file")}}, Invalid},
		{&outdir.ForeignFilesError{Dir: "out/s", Files: []string{"notes.txt"}}, Invalid},
		{context.Canceled, Interrupted},
		{Printed(errors.New("files not read")), Usage},
		{errors.New("internal"), Usage},
	} {
		if got := Status(tc.err); got != tc.want {
			t.Errorf("Status(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
	if IsPrinted(errors.New("x")) || !IsPrinted(fmt.Errorf("w: %w", Findings)) {
		t.Error("IsPrinted")
	}
}

// TestInterruptible: a signal stops the context, with a cause that says
// which and maps to Interrupted.
func TestInterruptible(t *testing.T) {
	ctx, stop := Interruptible()
	defer stop()
	self, err := os.FindProcess(os.Getpid())
	if err == nil {
		err = self.Signal(syscall.SIGTERM)
	}
	if err != nil {
		t.Skip(err) // no signals here
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("SIGTERM did not stop the context")
	}
	cause := context.Cause(ctx)
	if Status(cause) != Interrupted || !strings.Contains(cause.Error(), "terminated") {
		t.Errorf("cause %v: status %d", cause, Status(cause))
	}
}
