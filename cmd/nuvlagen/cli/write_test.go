package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nuvla/nuvlagen/generator/outdir"
	"github.com/nuvla/nuvlagen/internal/synthetic"
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
	if want := []string{"example-host", "example-target", "example-target-2"}; !slices.Equal(names, want) {
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

// manySites writes n synthetic target sites, one file each, into a new
// directory and returns it: enough of them and a run takes seconds.
func manySites(t *testing.T, n int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "sites")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, in := range synthetic.Targets(n, 4) {
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

// TestGenerateRemovesLeftovers: a run killed outright leaves its staging
// directory; check explains it, and the next generate removes it, but
// never the staging directory of a run still going.
func TestGenerateRemovesLeftovers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs generate over many sites")
	}
	sites := manySites(t, 40)
	work := t.TempDir()
	t.Chdir(work)
	cmd, _ := startGenerate(t, work, "--sites", sites, "--out", "out", "--jobs", "2", "-q")
	stage := waitStaging(t, "out")
	cmd.Process.Kill()
	cmd.Wait()
	if _, err := os.Stat(stage); err != nil {
		t.Fatalf("SIGKILL left no staging directory: %v", err)
	}
	name := filepath.Base(stage)
	if !strings.HasPrefix(name, outdir.StagePrefix+strconv.Itoa(cmd.Process.Pid)+"-") {
		t.Errorf("staging directory %s is not named after its writer, pid %d", name, cmd.Process.Pid)
	}
	// One whose writer runs (this process) stays.
	live := filepath.Join("out", outdir.StageName("1"))
	if err := os.Mkdir(live, 0o755); err != nil {
		t.Fatal(err)
	}

	// The killed run had many sites; one is enough to check and generate.
	one := filepath.Join(sites, "t0000.cue")
	var out, errOut bytes.Buffer
	if code := Main([]string{"check", "--site", one}, &out, &errOut); code != ExitInvalid {
		t.Errorf("check: exit %d, want %d", code, ExitInvalid)
	}
	for _, want := range []string{
		fmt.Sprintf("not generated: out/%s is the leftover of an interrupted generate (pid %d, no longer running); the next generate removes it\n", name, cmd.Process.Pid),
		fmt.Sprintf("not generated: %s is the staging directory of a generate running now (pid %d); check again when it is done\n", filepath.ToSlash(live), os.Getpid()),
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check does not say %q; stdout:\n%s", want, out.String())
		}
	}

	out.Reset()
	errOut.Reset()
	if code := Main([]string{"generate", "--site", one}, &out, &errOut); code != ExitOK {
		t.Fatalf("generate: exit %d: %s", code, errOut.String())
	}
	if want := fmt.Sprintf("nuvlagen generate: removed out/%s, the staging directory of an interrupted run\n", name); !strings.Contains(errOut.String(), want) {
		t.Errorf("generate does not say %q; stderr:\n%s", want, errOut.String())
	}
	if _, err := os.Stat(stage); !os.IsNotExist(err) {
		t.Errorf("generate left the leftover %s: %v", stage, err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("generate removed the staging directory of a running process: %v", err)
	}
	os.Remove(live)
	out.Reset()
	if code := Main([]string{"check", "--site", one}, &out, &errOut); code != ExitOK {
		t.Errorf("check after generate: exit %d\n%s", code, out.String())
	}
}
