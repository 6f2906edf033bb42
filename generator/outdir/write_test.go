package outdir

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/nuvla/nuvlagen/generator/pipeline"
)

func TestStagerFirstInputWins(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	st, err := NewStager(context.Background(), out, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{3, 1, 2} {
		if err := st.Stage(i, "s", pipeline.Files{"s/f": []byte{byte('0' + i)}}, pipeline.Record{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Commit(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, "s", "f"))
	if err != nil || string(b) != "1" {
		t.Errorf("out/s/f = %q, %v; want input 1's", b, err)
	}
	if err := st.Stage(0, "x", pipeline.Files{"elsewhere/f": nil}, pipeline.Record{}); err == nil {
		t.Error("a path outside the site's directory was staged")
	}
}

func TestStaleStage(t *testing.T) {
	dir := t.TempDir()
	// A process that has exited, its pid not yet reused.
	done := exec.Command("true")
	if err := done.Run(); err != nil {
		t.Skip("no true(1):", err)
	}
	start, _ := procStart(os.Getpid())
	host, _ := os.Hostname()
	for _, tc := range []struct {
		name, owner string
		stale       bool
	}{
		{fmt.Sprintf("%s%d-%d-7", StagePrefix, os.Getpid(), start), "", false},
		{fmt.Sprintf("%s%d-%d-7", StagePrefix, os.Getpid(), start+1), "", true}, // the pid, reused
		{fmt.Sprintf("%s%d-0-7", StagePrefix, done.Process.Pid), "", true},
		{fmt.Sprintf("%s%d-0-7", StagePrefix, done.Process.Pid), "host " + host + "\n", true},
		{fmt.Sprintf("%s%d-0-7", StagePrefix, done.Process.Pid), "host elsewhere.example\n", false},
		{StagePrefix + "x-1-2", "", false},
		{".nuvlagen-123", "", false},
	} {
		d := filepath.Join(dir, tc.name)
		os.RemoveAll(d)
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if tc.owner != "" {
			os.WriteFile(filepath.Join(d, ownerName), []byte("pid 1\n"+tc.owner), 0o644)
		}
		if _, stale := staleStage(d, tc.name); stale != tc.stale {
			t.Errorf("staleStage(%s, owner %q) = %v, want %v", tc.name, tc.owner, stale, tc.stale)
		}
	}
}
