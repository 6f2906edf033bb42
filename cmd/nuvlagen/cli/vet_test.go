package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// vetFiles is a small tree the vet command tests run in.
var vetFiles = map[string]string{
	"clean/docker-compose.yml": "services:\n  web:\n    image: nginx:1.27.2\n",
	"warn/docker-compose.yml":  "services:\n  web:\n    image: nginx:latest\n",
	"err/stack.compose.yaml":   "services:\n  web:\n    image: nginx:1.27.2\n    mem_limit: 1g\n",
	"err/notes.yml":            "not: [a compose file\n",
	"empty/README.md":          "nothing to see\n",
	"site.cue": `sites: test: {
	kind:   "host"
	domain: "t.example.org"
	nodes: {
		"m1": {address: "192.0.2.10", role: "manager", labels: type: "frontend"}
		"w1": {address: "192.0.2.11", role: "worker", labels: type: "worker-job"}
		"w2": {address: "192.0.2.12", role: "worker", labels: type: "worker-db"}
	}
	groups: management: ["198.51.100.0/28"]
}
`,
	"placed/docker-compose.yml": "services:\n  web:\n    image: nginx:1.27.2\n    deploy:\n      placement:\n        constraints: [node.labels.type == backend]\n",
}

func TestVet(t *testing.T) {
	dir := t.TempDir()
	for name, content := range vetFiles {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string // substring
		stderr string // substring
	}{
		{"clean", []string{"clean"}, ExitOK, "", ""},
		{"warnings pass", []string{"warn"}, ExitOK, "warn/docker-compose.yml:3:12: warning: service \"web\": image nginx uses the latest tag [image-tag]", ""},
		{"strict fails on warnings", []string{"--strict", "warn"}, ExitInvalid, "[image-tag]", ""},
		{"disable", []string{"--strict", "--disable", "image-tag", "warn"}, ExitOK, "", ""},
		{"errors", []string{"err"}, ExitInvalid, "err/stack.compose.yaml:4:5: error: service \"web\": mem_limit is forbidden", ""},
		{"directory skips non-compose names", []string{"--format", "json", "err"}, ExitInvalid, `"file": "err/stack.compose.yaml"`, ""},
		{"a file named is checked", []string{"err/notes.yml"}, ExitInvalid, "[yaml-syntax]", ""},
		{"github", []string{"--format", "github", "err"}, ExitInvalid, "::error file=err/stack.compose.yaml,line=4,col=5,title=swarm-forbidden::", ""},
		{"sarif", []string{"--format", "sarif", "warn"}, ExitOK, `"version": "2.1.0"`, ""},
		{"json clean", []string{"--format", "json", "clean"}, ExitOK, "[]\n", ""},
		{"site", []string{"--site", "site.cue", "placed"}, ExitInvalid, "no node of site test satisfies node.labels.type == backend [site-placement]", ""},
		{"invalid site", []string{"--site", "clean/docker-compose.yml", "clean"}, ExitInvalid, "", "clean/docker-compose.yml"},
		{"no site, no topology", []string{"placed"}, ExitOK, "", ""},
		{"missing file", []string{"nope.yml"}, ExitUsage, "", "nope.yml: no such file or directory"},
		{"no compose file in a directory", []string{"empty"}, ExitUsage, "", "no *compose*.yml, *compose*.yaml, *stack*.yml or *stack*.yaml file under empty"},
		{"no path", nil, ExitUsage, "", "no file or directory to check"},
		{"unknown rule", []string{"--disable", "nope", "clean"}, ExitUsage, "", `unknown rule "nope"`},
		{"unknown format", []string{"--format", "xml", "clean"}, ExitUsage, "", `unknown format "xml"`},
		{"help", []string{"--help"}, ExitOK, "Usage: nuvlagen vet", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(append([]string{"vet"}, tc.args...), &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout.String(), stderr.String())
			}
			if tc.stdout == "" && stdout.Len() > 0 {
				t.Errorf("want no output, got:\n%s", stdout.String())
			}
			if !strings.Contains(stdout.String(), tc.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdout, stdout.String())
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, stderr.String())
			}
		})
	}
}

// TestVetRefuses: files vet must not read (a FIFO, which would block it
// forever, a device, a file over the size limit) or check (nested too
// deep) are reported by name, with exit status 2, and never stall it.
func TestVetRefuses(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.MkdirAll("tree", 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("tree/docker-compose.yml", "services:\n  web:\n    image: nginx:1.27.2\n")
	write("deep-compose.yml", "services:\n  web:\n    image: nginx:1.27.2\nx-nest:\n  "+strings.Repeat("- ", 5000)+"x\n")
	write("small-compose.yml", "services:\n  web:\n    image: nginx:1.27.2\n")
	// A sparse file: over the default limit without writing it.
	big, err := os.Create("big-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := big.Truncate(5 << 20); err != nil {
		t.Fatal(err)
	}
	big.Close()
	fifo := mkfifo(t, "fifo-compose.yml")
	mkfifo(t, "tree/stack.compose.yml")
	// A site file that cannot be read is invalid input (status 1), as
	// for every command; compose files refused are status 2.
	code, stdout, stderr := runBounded(t, "vet", "--site", fifo, "small-compose.yml")
	if want := "fifo-compose.yml: not a regular file (a FIFO)\n"; code != ExitInvalid || stdout != "" || !strings.Contains(stderr, want) {
		t.Errorf("vet --site FIFO: exit %d, want %d; stdout %q; stderr %q, want %q", code, ExitInvalid, stdout, stderr, want)
	}
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"a FIFO named", []string{fifo}, "fifo-compose.yml: not a regular file (a FIFO)\n"},
		{"a FIFO met in a directory", []string{"tree"}, "tree/stack.compose.yml: not a regular file (a FIFO)\n"},
		{"over the default limit", []string{"big-compose.yml"}, "big-compose.yml: 5MiB, larger than the 4MiB limit (--max-file-size)\n"},
		{"over --max-file-size", []string{"--max-file-size", "32B", "small-compose.yml"}, "small-compose.yml: 41B, larger than the 32B limit (--max-file-size)\n"},
		{"too deep", []string{"deep-compose.yml"}, "deep-compose.yml:5:201: nesting deeper than 100 levels; not checked\n"},
		{"a bad size", []string{"--max-file-size", "8XB", "small-compose.yml"}, `invalid argument "8XB" for "--max-file-size" flag: want a positive size such as 8MiB, got "8XB"`},
	}
	if _, err := os.Stat("/dev/null"); err == nil {
		tests = append(tests, struct {
			name   string
			args   []string
			stderr string
		}{"a device", []string{"/dev/null"}, "/dev/null: not a regular file (a character device)\n"})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runBounded(t, append([]string{"vet"}, tc.args...)...)
			if code != ExitUsage || stdout != "" || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d, want %d; stdout %q; stderr %q, want %q", code, ExitUsage, stdout, stderr, tc.stderr)
			}
		})
	}
	// A larger limit lets a file through.
	if code, _, stderr := runBounded(t, "vet", "--max-file-size", "6MiB", "big-compose.yml"); code == ExitUsage {
		t.Errorf("--max-file-size 6MiB: exit %d\n%s", code, stderr)
	}
}

// runBounded runs the CLI, failing the test instead of hanging when it
// does not return: a blocked read is the bug these tests look for.
func runBounded(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	go func() {
		var o, e bytes.Buffer
		c := Main(args, &o, &e)
		done <- result{c, o.String(), e.String()}
	}()
	select {
	case r := <-done:
		return r.code, r.stdout, r.stderr
	case <-time.After(time.Minute):
		t.Fatalf("nuvlagen %q did not return within a minute", args)
		return
	}
}

// TestGenerateAndCheckRefuseFIFOs: generate's site file and check's
// output files are read only when they are regular files.
func TestGenerateAndCheckRefuseFIFOs(t *testing.T) {
	t.Chdir(t.TempDir())
	mkfifo(t, "site.cue")
	code, _, stderr := runBounded(t, "generate", "--site", "site.cue", "--out", "out")
	if want := "site.cue: not a regular file (a FIFO)"; code != ExitInvalid || !strings.Contains(stderr, want) {
		t.Errorf("generate with a FIFO site: exit %d, stderr %q, want %q", code, stderr, want)
	}
	if _, err := os.Stat("out"); err == nil {
		t.Errorf("generate with a FIFO site wrote out/")
	}
	if code, _, stderr := runBounded(t, "generate", "--out", "out"); code != 0 {
		t.Fatalf("generate: exit %d: %s", code, stderr)
	}
	mkfifo(t, "out/example-host/stacks/fifo.yml")
	code, stdout, stderr := runBounded(t, "check", "--out", "out")
	if code == 0 || !strings.Contains(stdout+stderr, "fifo.yml") {
		t.Errorf("check with a FIFO in out/: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
