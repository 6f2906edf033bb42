package swarmtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nuvla/nuvlagen/cmd/nuvlagen/cli"
	"github.com/nuvla/nuvlagen/generator/secrets"
	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/generator/site/sitetest"
	"github.com/nuvla/nuvlagen/internal/dockercli"
	"github.com/nuvla/nuvlagen/internal/poll"
)

// sleeperImage is the one image of the rotation test's site: ./sleeper,
// built here, removed when the test ends.
const sleeperImage = "nuvlagen-e2e/sleeper:rotate"

// rotatedSecret is the secret whose file the rotation test changes, and
// rotatedService the compose service that mounts it.
const rotatedSecret, rotatedService = "grafana_admin_password", "grafana"

// rotationSite is a target site of one node, this Swarm's, which is the
// edge manager and the NFS server, with its share in a directory of the
// test and every image mapped to images[key]. Values are Go-quoted,
// which CUE reads alike.
func rotationSite(node, share string, images map[string]string) []byte {
	var b strings.Builder
	b.WriteString("package nuvla\n\nsites: \"rotate-e2e\": {\n\tkind:   \"target\"\n\tdomain: \"rotate-e2e.nuvlagen.test\"\n")
	fmt.Fprintf(&b, "\tnodes: %s: {address: \"192.0.2.10\", role: \"manager\", nfsServer: true}\n", strconv.Quote(node))
	b.WriteString("\tgroups: {management: [\"198.51.100.0/28\"], nuvla: [\"192.0.2.0/24\"]}\n")
	fmt.Fprintf(&b, "\tnfs: share: %s\n", strconv.Quote(share))
	if len(images) > 0 {
		b.WriteString("\timages: {\n")
		for _, k := range sortedKeys(images) {
			fmt.Fprintf(&b, "\t\t%s: %s\n", k, strconv.Quote(images[k]))
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	return []byte(b.String())
}

// TestRotateSecret deploys a target site with its own deploy.sh, every
// task running (each image is the sleeper, so deploy.sh's wait for the
// stacks to converge is real), then writes a new value into one secret's
// file and runs deploy.sh again, as the runbook says: the service that
// mounts it must then run a task with the new version,
// <name>_<digest12> of the new file, the old version must be gone from
// the Swarm, and the other secrets keep theirs. A third run changes
// nothing.
func TestRotateSecret(t *testing.T) {
	d := requireEngine(t)
	for _, p := range []int{80, 443, 8080} {
		if c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), 2*time.Second); err == nil {
			c.Close()
			t.Fatalf("port %d must be free for Traefik to publish it, but something listens there", p)
		}
	}
	node, err := d.Run("node", "inspect", "self", "--format", "{{.Description.Hostname}}")
	if err != nil {
		t.Fatal(err)
	}
	node = strings.TrimSpace(node)
	l, err := site.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	share := t.TempDir()
	load := func(src []byte) *site.Site {
		t.Helper()
		sites, err := l.Load("rotate-e2e.cue", src)
		if err != nil {
			t.Fatalf("loading the test site: %v\n%s", err, src)
		}
		return sites[0]
	}
	images := map[string]string{}
	for k := range load(rotationSite(node, share, nil)).Images {
		images[k] = sleeperImage
	}
	src := rotationSite(node, share, images)
	siteSources["rotate-e2e.cue"] = src
	s := load(src)
	dp := render(t, d, s)
	dp.refuseIfPresent(t)
	stack, ok := "", false
	for _, st := range s.Stacks {
		if _, found := dp.projects[st.Name].Services[rotatedService]; found {
			stack, ok = st.Name, true
		}
	}
	if !ok {
		t.Fatalf("no stack of the site runs %s", rotatedService)
	}
	service := stack + "_" + rotatedService
	var entrypoints []string
	for _, p := range dp.projects {
		for _, svc := range p.Services {
			if svc.Image != sleeperImage {
				t.Fatalf("service %s runs image %s, not the sleeper: map it in the test site's images", svc.Name, svc.Image)
			}
			if len(svc.Entrypoint) > 0 {
				entrypoints = append(entrypoints, svc.Entrypoint[0])
			}
		}
	}
	buildSleeper(t, d, entrypoints)

	managed := managedLabels(s)
	labelsBefore, err := nodeLabels()
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range s.Stacks {
		record(engine.stacks, st.Name)
	}
	record(engine.networks, s.Networks.Public)
	t.Cleanup(func() {
		dp.cleanUp(t) // the stacks, the networks, the configs
		for _, sec := range s.Secrets {
			all, err := d.Lines("secret", "ls", "--filter", "label=nuvlagen.secret="+sec.Name, "--format", "{{.Name}}")
			if err != nil {
				t.Errorf("listing the versions of %s: %v", sec.Name, err)
			}
			for _, v := range all {
				if _, err := d.Run("secret", "rm", v); err != nil && !dockercli.IsNotFound(err) {
					t.Errorf("removing secret %s: %v", v, err)
				}
			}
		}
		restore := map[string]string{}
		for _, k := range managed {
			if v, ok := labelsBefore[k]; ok {
				restore[k] = v
			}
		}
		if err := setNodeLabels(restore, managed); err != nil {
			t.Errorf("restoring node labels: %v", err)
		}
	})

	// The secrets, as the operator makes them.
	dir := t.TempDir()
	siteFile := filepath.Join(dir, "rotate-e2e.cue")
	if err := os.WriteFile(siteFile, src, 0o600); err != nil {
		t.Fatal(err)
	}
	secretsDir := filepath.Join(dir, "secrets")
	var stdout, stderr bytes.Buffer
	if code := cli.Main([]string{"secrets", "init", secretsDir, "--site", siteFile}, &stdout, &stderr); code != cli.ExitOK {
		t.Fatalf("nuvlagen secrets init: exit %d\n%s", code, stderr.String())
	}
	version := func(name string) (string, string) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(secretsDir, name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		digest := hex.EncodeToString(sum[:])
		return name + "_" + digest[:12], digest
	}
	deploy := func(what string) string {
		t.Helper()
		for _, sec := range s.Secrets {
			v, _ := version(sec.Name)
			record(engine.secrets, v)
		}
		start := time.Now()
		cmd := exec.Command("bash", filepath.Join(dp.dir, "deploy.sh"), "--secrets", secretsDir, "--timeout", "180")
		cmd.Env = d.Env()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("deploy.sh, %s: %v\n%s", what, err, out)
		}
		t.Logf("deploy.sh, %s, in %v", what, time.Since(start).Round(time.Second))
		return string(out)
	}
	deploy("first")
	before := map[string]string{}
	for _, sec := range s.Secrets {
		before[sec.Name], _ = version(sec.Name)
	}
	old := before[rotatedSecret]
	if got := serviceSecrets(t, d, service)[rotatedSecret]; got != old {
		t.Fatalf("after the first deploy, %s mounts %s as %q, want %s", service, rotatedSecret, got, old)
	}

	// The operator writes a new value into the file and deploys again.
	if err := os.WriteFile(filepath.Join(secretsDir, rotatedSecret), []byte("rotated-by-the-operator"), 0o600); err != nil {
		t.Fatal(err)
	}
	rotated, digest := version(rotatedSecret)
	out := deploy("after the secret file changed")
	for _, want := range []string{"+ docker secret create --label nuvlagen.secret=" + rotatedSecret + " --label nuvlagen.sha256=" + digest + " " + rotated, "+ docker secret rm " + old} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy.sh did not print %q:\n%s", want, out)
		}
	}
	if got := serviceSecrets(t, d, service)[rotatedSecret]; got != rotated {
		t.Errorf("after the rotation, service %s mounts %s as %q, want the new version %s", service, rotatedSecret, got, rotated)
	}
	running := runningTaskSecrets(t, d, service)
	if len(running) == 0 {
		t.Errorf("service %s has no running task", service)
	}
	for _, task := range running {
		if task[rotatedSecret] != rotated {
			t.Errorf("a running task of %s mounts %s as %q, want %s", service, rotatedSecret, task[rotatedSecret], rotated)
		}
	}
	if _, err := d.Run("secret", "inspect", old); err == nil || !dockercli.IsNotFound(err) {
		t.Errorf("the old version %s is still in the Swarm (%v)", old, err)
	}
	labels, err := d.Run("secret", "inspect", "--format", "{{index .Spec.Labels \"nuvlagen.secret\"}} {{index .Spec.Labels \"nuvlagen.sha256\"}}", rotated)
	if labels = strings.TrimSpace(labels); err != nil || labels != rotatedSecret+" "+digest {
		t.Errorf("the new version's labels: %q (%v), want %q", labels, err, rotatedSecret+" "+digest)
	}
	for _, sec := range s.Secrets {
		if sec.Name == rotatedSecret {
			continue
		}
		if _, err := d.Run("secret", "inspect", before[sec.Name]); err != nil {
			t.Errorf("secret %s, whose file did not change: its version %s: %v", sec.Name, before[sec.Name], err)
		}
	}
	if !t.Failed() {
		t.Logf("rotated %s: service %s moved from %s to %s, and %s is removed", rotatedSecret, service, old, rotated, old)
	}

	again := deploy("once more, nothing changed")
	for _, line := range strings.Split(again, "\n") {
		if strings.HasPrefix(line, "+ docker secret") {
			t.Errorf("a run with nothing changed changed a secret: %s", line)
		}
	}

	// A task that exits as soon as it starts shows as running for a
	// moment, and Swarm starts another: deploy.sh must not take that for
	// convergence. The last stack is removed, then deployed afresh from a
	// sleeper that fails after a second (the other stacks' tasks keep the
	// image they run, and their specs do not change).
	last := s.Stacks[len(s.Stacks)-1].Name
	if _, err := d.Run("stack", "rm", last); err != nil {
		t.Fatal(err)
	}
	if err := poll.Until(60*time.Second, func() (bool, error) {
		l, err := d.Lines("service", "ls", "--filter", "label="+namespaceLabel+"="+last, "-q")
		return err == nil && len(l) == 0, err
	}); err != nil {
		t.Fatalf("removing stack %s: %v", last, err)
	}
	buildSleeperImage(t, d, entrypoints, "ENV SLEEPER_EXIT_AFTER=1s\n")
	start := time.Now()
	cmd := exec.Command("bash", filepath.Join(dp.dir, "deploy.sh"), "--secrets", secretsDir, "--timeout", "30")
	cmd.Env = d.Env()
	exiting, err := cmd.CombinedOutput()
	if want := "deploy.sh: stack " + last + " has not converged after 30s"; err == nil || !strings.Contains(string(exiting), want) {
		t.Errorf("deploy.sh of a stack whose tasks exit at once: %v, without %q:\n%s", err, want, exiting)
	} else {
		t.Logf("deploy.sh refused, in %v, a stack whose tasks exit at once:\n%s", time.Since(start).Round(time.Second), lastLines(string(exiting), 2))
	}
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// serviceSecrets maps each secret a service's spec mounts, by its target
// file name (the secret's name in the compose file), to the Swarm secret.
func serviceSecrets(t *testing.T, d *dockercli.CLI, service string) map[string]string {
	t.Helper()
	raw, err := d.Inspect("service", service)
	if err != nil || len(raw) != 1 {
		t.Fatalf("docker service inspect %s: %v", service, err)
	}
	return secretRefs(get(raw[0], "Spec", "TaskTemplate", "ContainerSpec", "Secrets"))
}

// runningTaskSecrets returns, for each task of service that runs and is
// meant to, the secrets its own spec mounts.
func runningTaskSecrets(t *testing.T, d *dockercli.CLI, service string) []map[string]string {
	t.Helper()
	ids, err := d.Lines("service", "ps", "-q", "--no-trunc", "--filter", "desired-state=running", service)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	if len(ids) == 0 {
		return nil
	}
	raw, err := d.InspectJSON(append([]string{"inspect", "--type", "task"}, ids...)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range raw {
		if str(r, "Status", "State") == "running" {
			out = append(out, secretRefs(get(r, "Spec", "ContainerSpec", "Secrets")))
		}
	}
	return out
}

func secretRefs(v any) map[string]string {
	out := map[string]string{}
	list, _ := v.([]any)
	for _, s := range list {
		m, _ := s.(map[string]any)
		out[filepath.Base(str(m, "File", "Name"))] = str(m, "SecretName")
	}
	return out
}

// buildSleeper builds the sleeper image, the binary at /sleeper and at
// each entrypoint path, removed again when t ends.
func buildSleeper(t *testing.T, d *dockercli.CLI, entrypoints []string) {
	t.Helper()
	t.Cleanup(func() {
		if _, err := d.Run("image", "rm", "--force", sleeperImage); err != nil && !dockercli.IsNotFound(err) {
			t.Errorf("removing image %s: %v", sleeperImage, err)
		}
	})
	buildSleeperImage(t, d, entrypoints, "")
}

// buildSleeperImage builds (or builds again) the sleeper image with the
// Dockerfile lines extra.
func buildSleeperImage(t *testing.T, d *dockercli.CLI, entrypoints []string, extra string) {
	t.Helper()
	ctx := t.TempDir()
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(ctx, "sleeper"), "./sleeper")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the sleeper: %v: %s", err, out)
	}
	var b strings.Builder
	b.WriteString("FROM scratch\nCOPY sleeper /sleeper\n")
	slices.Sort(entrypoints)
	for _, p := range slices.Compact(entrypoints) {
		fmt.Fprintf(&b, "COPY sleeper %s\n", p)
	}
	b.WriteString(extra)
	b.WriteString("ENTRYPOINT [\"/sleeper\"]\n")
	if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(dockercli.Opts{Dir: ctx, Timeout: 5 * time.Minute}, "build", "--quiet", "--tag", sleeperImage, "."); err != nil {
		t.Fatalf("docker build %s: %v", sleeperImage, err)
	}
}

// TestCredentialKeyRefused deploys the example host and runs its
// generated deploy.sh with another CREDENTIAL_ENCRYPTION_KEY in the
// secrets directory: it must stop before changing anything, naming the
// variable and the service that runs with the deployed value, and create
// no secret; with the deployed value it goes past that check.
func TestCredentialKeyRefused(t *testing.T) {
	d := requireEngine(t)
	s := sitetest.Kind(t, site.KindHost)
	dp, _ := deploySite(t, d, s)
	keyFile := filepath.Join(dp.secretsDir, secrets.CredentialKey)
	deployed, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	api := ""
	for _, st := range s.Stacks {
		if _, ok := dp.projects[st.Name].Services["api"]; ok {
			api = st.Name + "_api"
		}
	}
	inventory := func() string {
		t.Helper()
		secrets, err := d.Lines("secret", "ls", "--format", "{{.Name}}")
		if err != nil {
			t.Fatal(err)
		}
		spec, err := d.Run("service", "inspect", "--format", "{{.Version.Index}}", api)
		if err != nil {
			t.Fatal(err)
		}
		labels, err := nodeLabels()
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("secrets %v, %s at version %s, node labels %v", secrets, api, spec, labels)
	}
	run := func() (string, error) {
		cmd := exec.Command("bash", filepath.Join(dp.dir, "deploy.sh"), "--secrets", dp.secretsDir, "--allow-placeholders", "--timeout", "5")
		cmd.Env = d.Env()
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	if err := os.WriteFile(keyFile, []byte("another-key-of-at-least-32-characters-0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := inventory()
	out, err := run()
	if err == nil {
		t.Fatalf("deploy.sh with another %s succeeded:\n%s", secrets.CredentialKey, out)
	}
	for _, want := range []string{
		"deploy.sh: refusing to change a value that must stay as deployed (it encrypts stored data, which could not be read with another)",
		"  " + secrets.CredentialKey + " (service " + api + " runs with another value)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy.sh did not say %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\n+ ") || strings.HasPrefix(out, "+ ") {
		t.Errorf("deploy.sh changed something before refusing:\n%s", out)
	}
	if after := inventory(); after != before {
		t.Errorf("the refused run changed the Swarm:\nbefore %s\nafter  %s", before, after)
	}
	if !t.Failed() {
		t.Logf("as expected, another %s is refused:\n%s", secrets.CredentialKey, out)
	}

	// With the deployed value the check passes; deploy.sh then goes on
	// (and fails later here: the example's nodes are not this Swarm's).
	if err := os.WriteFile(keyFile, deployed, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _ = run()
	if strings.Contains(out, "refusing to change") {
		t.Errorf("deploy.sh refuses the deployed %s:\n%s", secrets.CredentialKey, out)
	}
}
