package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nuvla/nuvlagen/generator/inputfile"
	"github.com/nuvla/nuvlagen/internal/golden"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = Main(args, &o, &e)
	return code, o.String(), e.String()
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func editFile(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	if err := os.WriteFile(path, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDiffDirs runs `diff OLD NEW` on two output directories: identical
// trees print nothing and exit 0, with --exit-code too; a change prints a
// report and exits 1 only with --exit-code.
func TestDiffDirs(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if code, _, stderr := run(t, "generate", "--out", "a"); code != ExitOK {
		t.Fatalf("generate: %d\n%s", code, stderr)
	}
	copyTree(t, "a", "b")

	for _, args := range [][]string{{"diff", "a", "b"}, {"diff", "--exit-code", "a", "b"}, {"diff", "--format", "markdown", "a", "b"}, {"diff", "--format", "json", "--exit-code", "a", "b"}} {
		code, stdout, stderr := run(t, args...)
		if code != ExitOK || stdout != "" || stderr != "" {
			t.Errorf("%v on identical trees: exit %d, stdout %q, stderr %q; want 0 and no output", args, code, stdout, stderr)
		}
	}

	editFile(t, "b/example-host/stacks/nuvla/docker-compose.yml", "image: nuvla/api:6.18.0", "image: nuvla/api:6.19.0")
	code, stdout, _ := run(t, "diff", "a", "b")
	if code != ExitOK || !strings.Contains(stdout, "api: image nuvla/api 6.18.0 → 6.19.0") {
		t.Errorf("diff a b: exit %d, want 0, and the image change in:\n%s", code, stdout)
	}
	if strings.Contains(stdout, "\x1b[") {
		t.Errorf("text output to a buffer is coloured:\n%q", stdout)
	}
	if code, _, _ := run(t, "diff", "--exit-code", "a", "b"); code != ExitInvalid {
		t.Errorf("diff --exit-code on a change: exit %d, want %d", code, ExitInvalid)
	}
	if _, stdout, _ := run(t, "diff", "--color", "always", "a", "b"); !strings.Contains(stdout, "\x1b[") {
		t.Errorf("--color always: no colour in:\n%s", stdout)
	}
	_, stdout, _ = run(t, "diff", "--format", "json", "a", "b")
	var r struct {
		Sites []struct {
			Name  string
			Files []struct{ Path string }
		}
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || len(r.Sites) != 1 || r.Sites[0].Name != "example-host" {
		t.Errorf("--format json: %v\n%s", err, stdout)
	}

	for _, args := range [][]string{
		{"diff"}, {"diff", "a"}, {"diff", "a", "b", "c"},
		{"diff", "--format", "yaml", "a", "b"}, {"diff", "--color", "sometimes", "a", "b"},
		{"diff", "a", "missing"}, {"diff", "--site", "x.cue", "a", "b"},
	} {
		if code, _, stderr := run(t, args...); code != ExitUsage || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want %d and a message", args, code, stderr, ExitUsage)
		}
	}
	if code, stdout, _ := run(t, "diff", "--help"); code != ExitOK || !strings.Contains(stdout, "--exit-code") {
		t.Errorf("diff --help: exit %d\n%s", code, stdout)
	}
}

// TestDiffBase runs `diff --base REV` in a scratch repository holding the
// model: it renders REV's model and sites and the work tree's.
func TestDiffBase(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	repo := t.TempDir()
	copyTree(t, filepath.Join(golden.Root(t), "cue"), filepath.Join(repo, "cue"))
	// Neither the user's nor the system's git configuration.
	t.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	gitRun := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=test", "-c", "user.email=test@example.org"}, args...)...)
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	gitRun("init", "-q")
	gitRun("add", ".")
	gitRun("commit", "-q", "-m", "model")
	t.Chdir(repo)

	if code, stdout, stderr := run(t, "diff", "--base", "HEAD", "--exit-code"); code != ExitOK || stdout != "" {
		t.Fatalf("diff --base HEAD on a clean tree: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	// A site change and a model change, in the work tree only.
	editFile(t, "cue/sites/example-host.cue", `groups: management:`, `images: api: "nuvla/api:6.19.0"
	groups: management:`)
	editFile(t, "cue/nuvla.cue", `replicas: 5`, `replicas: 3`)
	code, stdout, stderr := run(t, "diff", "--base", "HEAD", "--exit-code")
	if code != ExitInvalid {
		t.Errorf("diff --base HEAD --exit-code on a change: exit %d, want %d\n%s", code, ExitInvalid, stderr)
	}
	for _, want := range []string{"nuvla/docker-compose.yml", "api: image nuvla/api 6.18.0 → 6.19.0", "job-executor: replicas 5 → 3"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("diff --base HEAD: no %q in:\n%s", want, stdout)
		}
	}

	// --site: a file new in the work tree is an added site.
	src, err := os.ReadFile("cue/sites/example-target.cue")
	if err != nil {
		t.Fatal(err)
	}
	// Another target of the same host: its own name, domain and addresses.
	for _, r := range [][2]string{{`"example-target"`, `"extra"`}, {`target.example.org`, `extra.example.org`}, {`203.0.113.1`, `203.0.113.4`}} {
		src = bytes.ReplaceAll(src, []byte(r[0]), []byte(r[1]))
	}
	os.WriteFile("extra.cue", src, 0o644)
	code, stdout, stderr = run(t, "diff", "--base", "HEAD", "--site", "extra.cue", "--site", "cue/sites/example-target.cue")
	if code != ExitOK || !strings.Contains(stdout, "site extra (added)") || strings.Contains(stdout, "example-target") {
		t.Errorf("diff --base HEAD --site extra.cue: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	if code, _, stderr := run(t, "diff", "--base", "no-such-rev"); code != ExitUsage || !strings.Contains(stderr, "no-such-rev") {
		t.Errorf("diff --base no-such-rev: exit %d, stderr %q", code, stderr)
	}
	if code, _, _ := run(t, "diff", "--base", "HEAD", "a"); code != ExitUsage {
		t.Errorf("diff --base with a directory: exit %d, want %d", code, ExitUsage)
	}

	// A work-tree site that does not load is invalid input.
	editFile(t, "cue/sites/example-host.cue", `kind:   "host"`, `kind:   "hots"`)
	if code, _, stderr := run(t, "diff", "--base", "HEAD"); code != ExitInvalid || !strings.Contains(stderr, "example-host.cue:") {
		t.Errorf("diff --base with an invalid site: exit %d, want %d\n%s", code, ExitInvalid, stderr)
	}
}

// TestCheckExplains: check fails on a hand edit of out/ and explains it
// the way diff does, from what is on disk to what generate writes.
func TestCheckExplains(t *testing.T) {
	t.Chdir(t.TempDir())
	if code, _, stderr := run(t, "generate"); code != ExitOK {
		t.Fatalf("generate: %d\n%s", code, stderr)
	}
	if code, stdout, _ := run(t, "check"); code != ExitOK || !strings.Contains(stdout, "up to date") {
		t.Fatalf("check after generate: exit %d\n%s", code, stdout)
	}
	editFile(t, "out/example-host/stacks/nuvla/docker-compose.yml", "replicas: 5", "replicas: 6")
	code, stdout, stderr := run(t, "check")
	if code != ExitInvalid || !strings.Contains(stdout, "job-executor: replicas 6 → 5") || !strings.Contains(stdout, "-      replicas: 6") {
		t.Errorf("check after a hand edit: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// TestDiffBaseSitesOnly: a repository of site files only (no cue/) is
// rendered with the built-in model; --sites DIR takes the directory's site
// files on both sides, so a file removed or added is a site removed or
// added.
func TestDiffBaseSitesOnly(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	repo := t.TempDir()
	t.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	gitRun := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=test", "-c", "user.email=test@example.org"}, args...)...)
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	src, err := os.ReadFile(filepath.Join(golden.Root(t), "cue", "sites", "example-host.cue"))
	if err != nil {
		t.Fatal(err)
	}
	siteFile := func(name string) []byte {
		return bytes.ReplaceAll(src, []byte(`"example-host"`), []byte(`"`+name+`"`))
	}
	os.MkdirAll(filepath.Join(repo, "sites"), 0o755)
	os.WriteFile(filepath.Join(repo, "sites", "a.cue"), siteFile("a"), 0o644)
	os.WriteFile(filepath.Join(repo, "sites", "b.cue"), siteFile("b"), 0o644)
	gitRun("init", "-q")
	gitRun("add", ".")
	gitRun("commit", "-q", "-m", "sites")
	t.Chdir(repo)

	if code, stdout, stderr := run(t, "diff", "--base", "HEAD", "--sites", "sites", "--exit-code"); code != ExitOK || stdout != "" {
		t.Fatalf("clean tree: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr := run(t, "diff", "--base", "HEAD"); code != ExitUsage || !strings.Contains(stderr, "--sites") {
		t.Errorf("no model and no sites named: exit %d, stderr %q", code, stderr)
	}

	os.Remove(filepath.Join("sites", "b.cue"))
	os.WriteFile(filepath.Join("sites", "c.cue"), siteFile("c"), 0o644)
	editFile(t, filepath.Join("sites", "a.cue"), `groups: management:`, `images: ui: "nuvla/ui:2.49.0"
	groups: management:`)
	code, stdout, stderr := run(t, "diff", "--base", "HEAD", "--sites", "sites")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"a/nuvla/ui: image nuvla/ui 2.50.0 → 2.49.0 (downgrade)", "site b (removed)", "site c (added)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("no %q in:\n%s", want, stdout)
		}
	}
}

// TestDiffBaseCommittedOutput: when REV's model does not render with this
// nuvlagen, the example sites are compared with REV's committed out/, and
// a note says so.
func TestDiffBaseCommittedOutput(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	repo := t.TempDir()
	copyTree(t, filepath.Join(golden.Root(t), "cue"), filepath.Join(repo, "cue"))
	t.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	gitRun := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=test", "-c", "user.email=test@example.org"}, args...)...)
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	t.Chdir(repo)
	if code, _, stderr := run(t, "generate"); code != ExitOK {
		t.Fatalf("generate: %s", stderr)
	}
	// REV: the output as generated, and a model this nuvlagen rejects.
	editFile(t, "out/example-host/stacks/nuvla/docker-compose.yml", "replicas: 5", "replicas: 4")
	editFile(t, "cue/sites/example-host.cue", `kind:   "host"`, `kind:   "hots"`)
	gitRun("init", "-q")
	gitRun("add", ".")
	gitRun("commit", "-q", "-m", "rev")
	editFile(t, "cue/sites/example-host.cue", `kind:   "hots"`, `kind:   "host"`)

	code, stdout, stderr := run(t, "diff", "--base", "HEAD")
	if code != ExitOK || !strings.Contains(stderr, "comparing with the output committed in out/ at HEAD") || !strings.Contains(stdout, "job-executor: replicas 4 → 5") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	// Named site files have no committed output to fall back on.
	if code, _, stderr := run(t, "diff", "--base", "HEAD", "--site", "cue/sites/example-host.cue"); code != ExitUsage || !strings.Contains(stderr, "rendering HEAD") {
		t.Errorf("--site: exit %d, stderr %q", code, stderr)
	}
}

// TestDiffRefuses: diff reads only regular files up to --max-file-size,
// in OLD and NEW and at --base REV, and says which file it refused, with
// exit status 2.
func TestDiffRefuses(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, d := range []string{"a/s/stacks/app", "b/s/stacks/app"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(d+"/docker-compose.yml", []byte("services:\n  web:\n    image: nginx:1.27.2\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mkfifo(t, "b/s/stacks/app/fifo.yml")
	tests := []struct {
		args   []string
		stderr string
	}{
		{[]string{"diff", "a", "b"}, "nuvlagen diff: b/s/stacks/app/fifo.yml: not a regular file (a FIFO)\n"},
		{[]string{"diff", "--max-file-size", "16B", "a", "a"}, "nuvlagen diff: a/s/stacks/app/docker-compose.yml: 41B, larger than the 16B limit (--max-file-size)\n"},
		{[]string{"diff", "--max-file-size", "0", "a", "a"}, `invalid argument "0" for "--max-file-size" flag`},
	}
	for _, tc := range tests {
		code, stdout, stderr := runBounded(t, tc.args...)
		if code != ExitUsage || stdout != "" || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("%q: exit %d, want %d; stdout %q; stderr %q, want %q", tc.args, code, ExitUsage, stdout, stderr, tc.stderr)
		}
	}

	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	// --base: a site file too large at REV, and a FIFO in the work tree.
	t.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	src, err := os.ReadFile(filepath.Join(golden.Root(t), "cue", "sites", "example-host.cue"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("site.cue", src, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "site.cue"}, {"commit", "-q", "-m", "site"}} {
		cmd := exec.Command("git", append([]string{"-c", "user.name=test", "-c", "user.email=test@example.org"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	code, _, stderr := runBounded(t, "diff", "--base", "HEAD", "--site", "site.cue", "--max-file-size", "100B")
	if want := "HEAD:site.cue: " + inputfile.HumanSize(int64(len(src))) + ", larger than the 100B limit (--max-file-size)"; code != ExitUsage || !strings.Contains(stderr, want) {
		t.Errorf("diff --base with a site too large at HEAD: exit %d, stderr %q, want %q", code, stderr, want)
	}
	if err := os.Remove("site.cue"); err != nil {
		t.Fatal(err)
	}
	mkfifo(t, "site.cue")
	code, _, stderr = runBounded(t, "diff", "--base", "HEAD", "--site", "site.cue")
	// The site file is the user's input, as for generate: status 1.
	if want := "site.cue: not a regular file (a FIFO)"; code != ExitInvalid || !strings.Contains(stderr, want) {
		t.Errorf("diff --base with a FIFO site in the work tree: exit %d, stderr %q, want %q", code, stderr, want)
	}
}
