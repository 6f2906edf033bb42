package scripts_test

import (
	"bytes"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nuvla/nuvlagen/generator/pipeline"
	"github.com/nuvla/nuvlagen/generator/pipeline/pipelinetest"
	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/generator/site/sitetest"
	"github.com/nuvla/nuvlagen/internal/golden"
	"github.com/nuvla/nuvlagen/internal/shellcheck"
)

// rendered holds the embedded example sites rendered once, by site name.
func rendered(t *testing.T) map[string]pipeline.Files {
	t.Helper()
	res := pipelinetest.Embedded(t)
	out := map[string]pipeline.Files{}
	for _, name := range res.Names() {
		out[name] = pipelinetest.Site(t, res, name)
	}
	return out
}

// writeSite writes a site's files under dir, scripts executable, the way
// generate does, and returns the scripts' paths relative to dir.
func writeSite(t *testing.T, dir string, files pipeline.Files) []string {
	t.Helper()
	var scripts []string
	for p, b := range files {
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if path.Ext(p) == ".sh" {
			mode = 0o755
			scripts = append(scripts, p)
		}
		if err := os.WriteFile(dst, b, mode); err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(scripts)
	return scripts
}

// tripwire is a stand-in for every command a dry run must not run.
const tripwire = `#!/bin/sh
echo "$(basename "$0") $*" >>"$TRIPWIRE_LOG"
exit 97
`

func fakeBin(t *testing.T, dir string, names ...string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(tripwire), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func TestScriptsSyntaxAndShellcheck(t *testing.T) {
	shellcheck, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Log("shellcheck is not installed (apt-get install shellcheck): checking with bash -n only")
	}
	for name, files := range rendered(t) {
		dir := t.TempDir()
		for _, sc := range writeSite(t, dir, files) {
			p := filepath.Join(dir, filepath.FromSlash(sc))
			if out, err := exec.Command("bash", "-n", p).CombinedOutput(); err != nil {
				t.Errorf("%s/%s: bash -n: %v\n%s", name, sc, err, out)
			}
			if shellcheck == "" {
				continue
			}
			// The shebang says bash; --norc keeps a user's ~/.shellcheckrc out.
			if out, err := exec.Command(shellcheck, "--norc", "--severity=style", p).CombinedOutput(); err != nil {
				t.Errorf("%s/%s: shellcheck: %v\n%s", name, sc, err, out)
			}
		}
	}
	if shellcheck == "" {
		t.Skip("shellcheck is not installed: only bash -n ran")
	}
}

// dryRunArgs are the arguments each kind of script is dry-run with;
// tlsDirs are the certificates directories of target sites' managers,
// by prepare script.
func dryRunArgs(script string, tlsDirs map[string]string) []string {
	switch script {
	case "deploy.sh":
		return []string{"--dry-run", "--secrets", "/run/nuvla-secrets"}
	case "teardown.sh":
		return []string{"--dry-run", "--remove-secrets", "--remove-networks"}
	case "verify.sh":
		return []string{"--dry-run", "--cacert", "/run/nuvla-secrets/ca/ca.pem"}
	}
	if dir, ok := tlsDirs[script]; ok {
		return []string{"--dry-run", "--docker-tls", dir}
	}
	return []string{"--dry-run"}
}

// managerTLSDirs writes a docker-tls directory, of one CA, for every
// manager of the embedded target sites, by its prepare script's name.
func managerTLSDirs(t *testing.T) map[string]string {
	t.Helper()
	ca := newTestCA(t, "deployment CA")
	dirs := map[string]string{}
	for _, s := range sitetest.Embedded(t) {
		if s.Kind != site.KindTarget {
			continue
		}
		for _, n := range s.Nodes {
			if n.Role == "manager" {
				dirs[n.Name+".sh"] = dockerTLSDir(t, ca, serverLeaf(t, ca, n.Name, n.Address.String(), time.Now()))
			}
		}
	}
	return dirs
}

// TestDryRun runs every script with --dry-run, from another directory,
// with every command that would change a node or the Swarm replaced by a
// tripwire, and compares what it prints with testdata/dryrun/<site>.txtar,
// one section per script.
func TestDryRun(t *testing.T) {
	for name, files := range rendered(t) {
		got := map[string][]byte{}
		dir := t.TempDir()
		bin := filepath.Join(t.TempDir(), "bin")
		fakeBin(t, bin, "docker", "apt-get", "dpkg-query", "systemctl", "exportfs", "sysctl", "install", "mktemp", "chown", "chmod", "mv", "curl")
		log := filepath.Join(t.TempDir(), "tripwire.log")
		tlsDirs := managerTLSDirs(t)
		for _, sc := range writeSite(t, dir, files) {
			args := dryRunArgs(path.Base(sc), tlsDirs)
			cmd := exec.Command(filepath.Join(dir, filepath.FromSlash(sc)), args...)
			cmd.Dir = t.TempDir() // not the script's own: it must find its files itself
			cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "TRIPWIRE_LOG=" + log, "LC_ALL=C"}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Errorf("%s/%s --dry-run: %v\n%s", name, sc, err, stderr.Bytes())
				continue
			}
			if stderr.Len() > 0 {
				t.Errorf("%s/%s --dry-run wrote to stderr:\n%s", name, sc, stderr.Bytes())
			}
			if calls, _ := os.ReadFile(log); len(calls) > 0 {
				t.Errorf("%s/%s --dry-run ran commands:\n%s", name, sc, calls)
			}
			got[sc] = stdout.Bytes()
			if tlsDir, ok := tlsDirs[path.Base(sc)]; ok {
				got[sc] = bytes.ReplaceAll(got[sc], []byte(tlsDir), []byte("DOCKER_TLS_DIR"))
			}
		}
		c := golden.Open(t, filepath.Join("testdata", "dryrun", name+".txtar"), golden.All)
		c.Check(t, golden.Sorted("", got))
	}
}

func TestDeployUsage(t *testing.T) {
	files := rendered(t)["example-host"]
	dir := t.TempDir()
	writeSite(t, dir, files)
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{nil, 2, "deploy.sh: no secrets directory: pass --secrets DIR or set NUVLA_SECRETS_DIR"},
		{[]string{"--bogus"}, 2, "deploy.sh: unknown argument: --bogus"},
		{[]string{"--secrets", "/x", "--timeout", "soon"}, 2, "deploy.sh: --timeout wants a number of seconds, not soon"},
		{[]string{"--secrets"}, 2, "deploy.sh: --secrets needs a directory"},
		{[]string{"--help"}, 0, ""},
	} {
		cmd := exec.Command(filepath.Join(dir, "deploy.sh"), tc.args...)
		cmd.Env = []string{"PATH=/usr/bin:/bin"}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(stderr.String(), "\n")
		if code != tc.code || first != tc.stderr {
			t.Errorf("deploy.sh %q: exit %d, stderr %q; want %d, %q", tc.args, code, first, tc.code, tc.stderr)
		}
	}
}

func TestLibrariesPassShellcheck(t *testing.T) { shellcheck.Glob(t, "lib/*.sh") }
