package pipeline

import (
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nuvla/nuvlagen/generator/compose"
	"github.com/nuvla/nuvlagen/generator/site"
)

// dockerStackConfig runs the real `docker stack config` on every compose
// file in files, with the stack's configuration files beside it and the
// site's required variables set, as an operator's deployment would. It
// needs the docker CLI only, no daemon; without the CLI it skips.
func dockerStackConfig(t *testing.T, files Files, sites []*site.Site) {
	t.Helper()
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("docker CLI not installed: `docker stack config` not run")
	}
	env := map[string]string{}
	for _, s := range sites {
		for k, v := range CheckEnv(s) {
			env[k] = v
		}
	}
	dir := t.TempDir()
	for p, b := range files {
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for _, p := range files.Paths() {
		if path.Base(p) != compose.FileName {
			continue
		}
		n++
		cmd := exec.Command(docker, "stack", "config", "-c", compose.FileName)
		cmd.Dir = filepath.Join(dir, filepath.FromSlash(path.Dir(p)))
		// Only what the CLI needs: no DOCKER_HOST, no operator variables.
		cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("docker stack config -c %s: %v\n%s", p, err, out)
			continue
		}
		if strings.Contains(string(out), "Ignoring unsupported options") || strings.Contains(string(out), "Ignoring deprecated options") {
			t.Errorf("docker stack config -c %s warns:\n%s", p, out)
		}
	}
	if n == 0 {
		t.Error("no compose file to check")
	}
}

// TestEmbeddedSitesDockerStackConfig checks the examples that out/ holds.
func TestEmbeddedSitesDockerStackConfig(t *testing.T) {
	sites, err := newLoader(t).Embedded()
	if err != nil {
		t.Fatal(err)
	}
	files, err := render(sites)
	if err != nil {
		t.Fatal(err)
	}
	dockerStackConfig(t, files, sites)
}
