package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nuvla/nuvlagen/generator/pipeline"
)

// TestGenerateLeavesOnlySites: staging directories never outlive a run,
// successful or not, and a run that fails leaves no out/ it created.
func TestGenerateLeavesOnlySites(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	var out, errOut bytes.Buffer
	if code := Main([]string{"generate", "--out", "o"}, &out, &errOut); code != ExitOK {
		t.Fatalf("generate: exit %d\n%s", code, errOut.String())
	}
	entries, err := os.ReadDir("o")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"example-host", "example-target"}; !slices.Equal(names, want) {
		t.Errorf("out/ holds %v, want only %v", names, want)
	}
	if err := os.WriteFile("bad.cue", []byte("kind: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := Main([]string{"generate", "--site", "bad.cue", "--out", "fresh"}, &out, &errOut); code != ExitInvalid {
		t.Fatalf("generate of a bad site: exit %d", code)
	}
	if _, err := os.Stat("fresh"); !os.IsNotExist(err) {
		t.Errorf("a failed run left %s", filepath.Join(dir, "fresh"))
	}
}

func TestStagerFirstInputWins(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	st, err := newStager(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{3, 1, 2} {
		if err := st.stage(i, "s", pipeline.Files{"s/f": []byte{byte('0' + i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.commit(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, "s", "f"))
	if err != nil || string(b) != "1" {
		t.Errorf("out/s/f = %q, %v; want input 1's", b, err)
	}
	if err := st.stage(0, "x", pipeline.Files{"elsewhere/f": nil}); err == nil {
		t.Error("a path outside the site's directory was staged")
	}
}

// manySites writes n synthetic target sites, one file each, into a new
// directory and returns it: enough of them and a run takes seconds.
func manySites(t *testing.T, n int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "sites")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, in := range pipeline.SyntheticTargets(n, 4) {
		if err := os.WriteFile(filepath.Join(dir, in.Name), in.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// snapshot is every path under dir with its content, "/" after directories.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			files[rel+"/"] = ""
			return nil
		}
		b, err := os.ReadFile(p)
		files[rel] = string(b)
		return err
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return files
}

// changedPaths lists the paths two snapshots disagree on.
func changedPaths(a, b map[string]string) []string {
	var changed []string
	for p, c := range a {
		if c2, ok := b[p]; !ok || c2 != c {
			changed = append(changed, p)
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			changed = append(changed, p)
		}
	}
	slices.Sort(changed)
	return changed
}

// startGenerate starts the nuvlagen binary (this test binary, which
// testscript.Main put on PATH) on args in dir.
func startGenerate(t *testing.T, dir string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	bin, err := exec.LookPath("nuvlagen")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"generate"}, args...)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, &stderr
}

// waitStaging waits until a run has staged at least one site of out, and
// returns its staging directory.
func waitStaging(t *testing.T, out string) string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		stages, _ := filepath.Glob(filepath.Join(out, ".nuvlagen-*", "*", "*", "deploy.sh"))
		if len(stages) > 0 {
			rel, _ := filepath.Rel(out, stages[0])
			return filepath.Join(out, strings.Split(rel, string(filepath.Separator))[0])
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("no site staged within a minute")
	return ""
}

// TestGenerateInterrupted: SIGINT or SIGTERM in the middle of a run over
// many sites stops the writers before the staging directory goes, so that
// nothing is left behind and out/ is as it was.
func TestGenerateInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("runs generate over many sites")
	}
	sites := manySites(t, 80)
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			work := t.TempDir()
			out := filepath.Join(work, "out")
			// An earlier run's output, which the interrupted one must leave as it is.
			var o, e bytes.Buffer
			if code := Main([]string{"generate", "--out", out, "-q"}, &o, &e); code != ExitOK {
				t.Fatalf("generate: exit %d: %s", code, e.String())
			}
			before := snapshot(t, out)
			cmd, stderr := startGenerate(t, work, "--sites", sites, "--out", out, "--jobs", "2", "-q")
			waitStaging(t, out)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 130 {
				t.Errorf("interrupted generate: %v, want exit status 130\nstderr: %s", err, stderr)
			}
			if changed := changedPaths(before, snapshot(t, out)); len(changed) > 0 {
				t.Errorf("out/ changed by an interrupted run: %v", changed)
			}
		})
	}
}
