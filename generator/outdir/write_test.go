package outdir

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
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

// TestStagerLinksWhatItWroteBefore: a site staged again keeps, as hard
// links, the files it holds already with the same bytes and mode, and
// writes the others: bytes changed at the same size, a mode changed by
// hand, a new file. An aborted run leaves the old files as they were.
// A site directory that is a link is not linked from.
func TestStagerLinksWhatItWroteBefore(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	stage := func(files pipeline.Files, commit bool) { t.Helper(); stageSite(t, out, files, commit) }
	inode := func(rel string) uint64 {
		t.Helper()
		info, err := os.Lstat(filepath.Join(out, "s", filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		return info.Sys().(*syscall.Stat_t).Ino
	}
	first := pipeline.Files{"s/same": []byte("same\n"), "s/d/same.sh": []byte("#!/bin/sh\n"), "s/edited": []byte("aaaa"), "s/chmod": []byte("x")}
	stage(first, true)
	was := map[string]uint64{}
	for p := range first {
		was[p[2:]] = inode(p[2:])
	}
	if err := os.Chmod(filepath.Join(out, "s", "chmod"), 0o600); err != nil {
		t.Fatal(err)
	}
	second := pipeline.Files{"s/same": []byte("same\n"), "s/d/same.sh": []byte("#!/bin/sh\n"), "s/edited": []byte("bbbb"), "s/chmod": []byte("x"), "s/new": []byte("new")}
	// Aborted: the old files are untouched, and linked nowhere else.
	stage(second, false)
	for rel, ino := range was {
		info, err := os.Lstat(filepath.Join(out, "s", filepath.FromSlash(rel)))
		if err != nil || info.Sys().(*syscall.Stat_t).Ino != ino || info.Sys().(*syscall.Stat_t).Nlink != 1 {
			t.Errorf("%s after an aborted run: %v, %v", rel, info, err)
		}
	}
	stage(second, true)
	for rel, linked := range map[string]bool{"same": true, "d/same.sh": true, "edited": false, "chmod": false} {
		if got := inode(rel) == was[rel]; got != linked {
			t.Errorf("%s: linked %v, want %v", rel, got, linked)
		}
	}
	for p, b := range second {
		info, err := os.Stat(filepath.Join(out, filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(filepath.Join(out, filepath.FromSlash(p)))
		if string(got) != string(b) || info.Mode() != Mode(p) || info.Sys().(*syscall.Stat_t).Nlink != 1 {
			t.Errorf("%s: %q, mode %v, %d links; want %q, mode %v, 1 link", p, got, info.Mode(), info.Sys().(*syscall.Stat_t).Nlink, b, Mode(p))
		}
	}
	// out/s a link to a directory holding the same files (which Commit
	// refuses to replace): staged by writing, not linked to what lies
	// elsewhere.
	elsewhere := filepath.Join(t.TempDir(), "s")
	if err := os.Rename(filepath.Join(out, "s"), elsewhere); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, filepath.Join(out, "s")); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Lstat(filepath.Join(elsewhere, "same"))
	st, err := NewStager(context.Background(), out, false)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Abort()
	if err := st.Stage(0, "s", second, pipeline.Record{}); err != nil {
		t.Fatal(err)
	}
	staged, err := os.Lstat(filepath.Join(st.root, "0", "s", "same"))
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(staged, before) {
		t.Error("linked from the directory a link in out points to")
	}
}

// TestStagerLinkedFileWrittenInPlace: a linked file is shared with the
// directory it replaces until Commit swaps it: a write into the old file
// meanwhile (a shell's >) fails Commit, and nothing is swapped in.
func TestStagerLinkedFileWrittenInPlace(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	files := pipeline.Files{"s/deploy.sh": []byte("#!/bin/sh\necho deploy\n"), "s/README.md": []byte("# s\n")}
	for round := range 2 {
		st, err := NewStager(context.Background(), out, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Stage(0, "s", files, pipeline.Record{}); err != nil {
			t.Fatal(err)
		}
		if round == 0 {
			if err := st.Commit(); err != nil {
				t.Fatal(err)
			}
			continue
		}
		// Same length, other bytes, written in place (O_TRUNC, same inode).
		edited := []byte("#!/bin/sh\necho rm -rf\n")
		if err := os.WriteFile(filepath.Join(out, "s", "deploy.sh"), edited, 0o755); err != nil {
			t.Fatal(err)
		}
		err = st.Commit()
		if err == nil || !strings.Contains(err.Error(), "s/deploy.sh changed while generate ran") {
			t.Fatalf("Commit after an in-place write: %v", err)
		}
		st.Abort()
		if b, _ := os.ReadFile(filepath.Join(out, "s", "deploy.sh")); string(b) != string(edited) {
			t.Errorf("the old directory changed: deploy.sh %q", b)
		}
	}
	// A mode changed meanwhile fails it too.
	stageSite(t, out, files, true)
	st, err := NewStager(context.Background(), out, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Stage(0, "s", files, pipeline.Record{}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(out, "s", "README.md"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(); err == nil || !strings.Contains(err.Error(), "s/README.md changed while generate ran") {
		t.Errorf("Commit after a chmod: %v", err)
	}
	st.Abort()
	// Of two inputs staging the site, the one that loses is not
	// checked: its linked file is not swapped in.
	stageSite(t, out, files, true)
	if st, err = NewStager(context.Background(), out, false); err != nil {
		t.Fatal(err)
	}
	newer := pipeline.Files{"s/deploy.sh": []byte("#!/bin/sh\necho newer\n"), "s/README.md": []byte("# t\n")}
	if err := st.Stage(0, "s", newer, pipeline.Record{}); err != nil {
		t.Fatal(err)
	}
	if err := st.Stage(1, "s", files, pipeline.Record{}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "s", "deploy.sh"), []byte("#!/bin/sh\necho rm -rf\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(); err != nil {
		t.Errorf("Commit failed on the losing input's link: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "s", "deploy.sh")); string(b) != string(newer["s/deploy.sh"]) {
		t.Errorf("deploy.sh = %q, want input 0's", b)
	}
}

// TestStagerWritesOthersFiles: a file of another owner is written, not
// linked (a link keeps its owner: root links any file). Needs root.
func TestStagerWritesOthersFiles(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file to another user (CI runs as root)")
	}
	out := filepath.Join(t.TempDir(), "out")
	files := pipeline.Files{"s/deploy.sh": []byte("#!/bin/sh\n")}
	stage := func() { t.Helper(); stageSite(t, out, files, true) }
	stage()
	p := filepath.Join(out, "s", "deploy.sh")
	if err := os.Chown(p, 1000, 1000); err != nil {
		t.Fatal(err)
	}
	stage()
	info, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st := info.Sys().(*syscall.Stat_t); st.Uid != 0 || st.Gid != uint32(os.Getegid()) {
		t.Errorf("deploy.sh owned by %d:%d after root's generate, want 0:%d", st.Uid, st.Gid, os.Getegid())
	}
}

// stageSite stages files as site s of input 0 into out, then commits or
// aborts.
func stageSite(t *testing.T, out string, files pipeline.Files, commit bool) {
	t.Helper()
	st, err := NewStager(context.Background(), out, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Stage(0, "s", files, pipeline.Record{}); err != nil {
		t.Fatal(err)
	}
	if commit {
		if err := st.Commit(); err != nil {
			t.Fatal(err)
		}
	} else {
		st.Abort()
	}
}
