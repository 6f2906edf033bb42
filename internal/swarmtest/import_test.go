package swarmtest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/nuvla/nuvlagen/cmd/nuvlagen/cli"
	"github.com/nuvla/nuvlagen/generator/swarmimport"
	"github.com/nuvla/nuvlagen/internal/dockercli"
	"github.com/nuvla/nuvlagen/internal/golden"
	"github.com/nuvla/nuvlagen/internal/poll"
)

// guideStack is an upstream directory the installation guide deploys,
// and the stack name it gives it.
type guideStack struct{ dir, stack string }

// The guide's stacks, in its order: a host runs Nuvla, a target the
// containers Nuvla deploys, its data served by Minio.
var (
	guideHost   = []guideStack{{"traefik", "traefik"}, {"monitoring", "prometheus"}, {"db", "db"}, {"core", "nuvla"}}
	guideTarget = []guideStack{{"traefik", "traefik"}, {"monitoring", "prometheus"}, {"minio", "minio"}}
)

// guideNetworks are the networks the guide creates by hand (the
// monitoring files name the backend on a target too).
var guideNetworks = []string{"traefik-public", "nuvla-backend"}

// guideFiles are files the upstream compose files name but the
// repository does not ship (the guide's generate-certificates.sh makes
// the secrets; the rules are commented out of every service, yet stack
// deploy reads every top-level config).
var guideFiles = []string{
	"traefik/secrets/nuvla.crt", "traefik/secrets/nuvla.key",
	"monitoring/prometheus/rules/swarm_node.rules.yml", "monitoring/prometheus/rules/swarm_task.rules.yml",
	"db/secrets/s3_access_key", "db/secrets/s3_secret_key",
	"core/secrets/session.crt", "core/secrets/session.key",
}

// TestImportGuideInstallation installs Nuvla's stacks as the guide does
// (its networks, the upstream files deployed with the guide's stack
// names; images are never pulled, so the services have specs and no
// tasks), imports the Swarm and compares the site file and the report
// with a golden. A target's imported site generates through the command
// line, and the report shows what the model does differently from the
// guide, and nothing else. A host needs nodes of three types, which a
// single node cannot be: its import writes the file and says so.
func TestImportGuideInstallation(t *testing.T) {
	d := requireEngine(t)
	t.Run("target", func(t *testing.T) {
		dir := installGuide(t, d, guideTarget, nil)
		res, report := importSwarm(t, "guide-target", nil)
		// The imported file generates, through the command line as an
		// operator runs it.
		siteFile := filepath.Join(dir, "guide-target.cue")
		if err := os.WriteFile(siteFile, res.Site, 0o644); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		if code := cli.Main([]string{"generate", "--quiet", "--site", siteFile, "--out", filepath.Join(dir, "out")}, &stdout, &stderr); code != cli.ExitOK {
			t.Fatalf("nuvlagen generate --site <imported>: exit %d\n%s\n%s", code, stderr.String(), res.Site)
		}
		if _, err := os.Stat(filepath.Join(dir, "out", "guide-target", "deploy.sh")); err != nil {
			t.Fatalf("generate wrote no deploy.sh: %v", err)
		}
		checkImportGolden(t, d, "import-guide-target.golden", res, report)
	})
	t.Run("host", func(t *testing.T) {
		installGuide(t, d, guideHost, map[string]string{"type": "frontend"})
		var loadErr *swarmimport.LoadError
		res, report := importSwarm(t, "guide-host", &loadErr)
		if !strings.Contains(loadErr.Error(), "worker-db") || !strings.Contains(loadErr.Error(), "worker-job") {
			t.Errorf("the error does not name the node types the host lacks: %v", loadErr)
		}
		checkImportGolden(t, d, "import-guide-host.golden", res, loadErr.Error()+"\n"+report)
	})
}

// installGuide deploys stacks from a copy of testdata/guide, the node
// labelled with labels, and registers their removal.
func installGuide(t *testing.T, d *dockercli.CLI, stacks []guideStack, labels map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "guide"))); err != nil {
		t.Fatal(err)
	}
	for _, f := range guideFiles {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("placeholder of "+filepath.Base(f)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Refuse to touch what this test did not create.
	for _, st := range stacks {
		if l, err := d.Lines("service", "ls", "--filter", "label="+namespaceLabel+"="+st.stack, "-q"); err != nil || len(l) > 0 {
			t.Fatalf("refusing to deploy: stack %s exists (%v) or cannot be listed: %v", st.stack, l, err)
		}
	}
	for _, n := range guideNetworks {
		if _, err := d.Run("network", "inspect", n); err == nil {
			t.Fatalf("refusing to deploy: network %s exists", n)
		}
	}
	before, err := nodeLabels()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cleanUpGuide(t, d, stacks, before, keys(labels)) })
	record(engine.networks, guideNetworks...)
	for _, n := range guideNetworks {
		if _, err := d.Run("network", "create", "--driver=overlay", n); err != nil {
			t.Fatal(err)
		}
	}
	if err := setNodeLabels(labels, keys(labels)); err != nil {
		t.Fatal(err)
	}
	env := []string{"ADMIN_HASHED_PASSWORD=$$apr1$$placeholder", "CREDENTIAL_ENCRYPTION_KEY=placeholder-of-32-characters-key"}
	for _, st := range stacks {
		record(engine.stacks, st.stack)
		if _, err := d.Exec(dockercli.Opts{Dir: filepath.Join(dir, st.dir), Env: env, Stderr: new(strings.Builder)},
			"stack", "deploy", "--resolve-image", "never", "--detach=true", "-c", "docker-compose.yml", st.stack); err != nil {
			t.Fatalf("deploying the guide's %s as stack %s: %v", st.dir, st.stack, err)
		}
	}
	return dir
}

// importSwarm imports the Swarm through the Engine API, as nuvlagen
// import does; with loadErr, the site must not load and *loadErr is why.
func importSwarm(t *testing.T, name string, loadErr **swarmimport.LoadError) (*swarmimport.Result, string) {
	t.Helper()
	c, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := swarmimport.Import(ctx, c, swarmimport.Options{SiteName: name})
	switch {
	case loadErr != nil && !errors.As(err, loadErr):
		t.Fatalf("import: want a site that does not load, got %v", err)
	case loadErr == nil && err != nil:
		t.Fatal(err)
	}
	var report bytes.Buffer
	if err := swarmimport.Write(&report, res); err != nil {
		t.Fatal(err)
	}
	return res, report.String()
}

// checkImportGolden compares the site file and the report with a golden.
// The node's hostname and address are this machine's: the golden names
// them NODE and NODE-ADDRESS.
func checkImportGolden(t *testing.T, d *dockercli.CLI, name string, res *swarmimport.Result, report string) {
	t.Helper()
	self, err := d.Run("node", "inspect", "self", "--format", "{{.Description.Hostname}} {{.ManagerStatus.Addr}}")
	if err != nil {
		t.Fatal(err)
	}
	host, addr, _ := strings.Cut(strings.TrimSpace(self), " ")
	addr, _, _ = strings.Cut(addr, ":")
	got := "-- site file --\n" + string(res.Site) + "-- report --\n" + report
	got = regexp.MustCompile(`\b`+regexp.QuoteMeta(host)+`\b`).ReplaceAllString(got, "NODE")
	got = strings.ReplaceAll(got, addr, "NODE-ADDRESS")
	golden.CheckFile(t, filepath.Join("testdata", name), []byte(got))
}

// cleanUpGuide removes the guide's stacks, the networks and the node
// label, and waits until the daemon has let go of them.
func cleanUpGuide(t *testing.T, d *dockercli.CLI, stacks []guideStack, labels map[string]string, managed []string) {
	var errs []error
	for i := len(stacks) - 1; i >= 0; i-- {
		if _, err := d.Run("stack", "rm", stacks[i].stack); err != nil && !strings.Contains(err.Error(), "Nothing found in stack") {
			errs = append(errs, err)
		}
	}
	errs = append(errs, poll.Until(60*time.Second, func() (bool, error) {
		for _, st := range stacks {
			for _, kind := range []string{"service", "network", "config", "secret"} {
				l, err := d.Lines(kind, "ls", "--filter", "label="+namespaceLabel+"="+st.stack, "-q")
				if err != nil || len(l) > 0 {
					return false, err
				}
			}
		}
		return true, nil
	}))
	for _, n := range guideNetworks {
		errs = append(errs, poll.Until(60*time.Second, func() (bool, error) {
			if _, err := d.Run("network", "inspect", n); err != nil && dockercli.IsNotFound(err) {
				return true, nil
			}
			_, err := d.Run("network", "rm", n)
			if err != nil && dockercli.IsNotFound(err) {
				err = nil
			}
			return false, err
		}))
	}
	restore := map[string]string{}
	for _, k := range managed {
		if v, ok := labels[k]; ok {
			restore[k] = v
		}
	}
	errs = append(errs, setNodeLabels(restore, managed))
	if err := errors.Join(errs...); err != nil {
		t.Errorf("cleaning up the guide's installation: %v", err)
	}
}
