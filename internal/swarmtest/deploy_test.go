package swarmtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/nuvla/nuvlagen/cmd/nuvlagen/cli"
	nuvlacue "github.com/nuvla/nuvlagen/cue"
	"github.com/nuvla/nuvlagen/generator/compose"
	"github.com/nuvla/nuvlagen/generator/pipeline"
	"github.com/nuvla/nuvlagen/generator/pipeline/pipelinetest"
	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/internal/dockercli"
	"github.com/nuvla/nuvlagen/internal/poll"
)

// namespaceLabel is the label `docker stack deploy` puts on every object
// of a stack.
const namespaceLabel = "com.docker.stack.namespace"

// deployment is one site rendered into a directory, as an operator would
// have it after `nuvlagen generate`, and the daemon it goes to.
type deployment struct {
	d    *dockercli.CLI
	site *site.Site
	// dir is the site's output directory: stacks/<stack>/... below it.
	dir   string
	files pipeline.Files
	// projects are the generated compose files, loaded, by stack.
	projects map[string]*types.Project
	// secretsDir is what `nuvlagen secrets init` wrote for the site,
	// once created, in secretsRoot, the test's own temporary directory.
	secretsDir, secretsRoot string
	// versions are the Swarm names of the secrets, by secret: each file's
	// version, <name>_<digest12>, as deploy.sh names it.
	versions map[string]string
}

// siteSources maps a site's file name to its source, for `nuvlagen
// secrets init`: the embedded examples, and what tests add.
var siteSources = map[string][]byte{}

func init() {
	for _, f := range nuvlacue.Sites() {
		siteSources[f.Name] = f.Data
	}
}

// render renders s and writes its files into a fresh directory.
func render(t *testing.T, d *dockercli.CLI, s *site.Site) *deployment {
	t.Helper()
	src, ok := siteSources[s.File]
	if !ok {
		t.Fatalf("no source of site file %s", s.File)
	}
	res := pipelinetest.Render(t, pipeline.Options{}, pipeline.Input{Name: s.File, Data: src})
	files := pipelinetest.Site(t, res, s.Name)
	dp := &deployment{d: d, site: s, dir: t.TempDir(), files: files, projects: map[string]*types.Project{}}
	for p, b := range files {
		dst := filepath.Join(dp.dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, st := range s.Stacks {
		p, err := compose.Project(st.Name, files[composePath(st.Name)])
		if err != nil {
			t.Fatalf("loading %s: %v", composePath(st.Name), err)
		}
		dp.projects[st.Name] = p
	}
	return dp
}

func composePath(stack string) string { return path.Join("stacks", stack, compose.FileName) }

// sharedNetworks are the overlay networks the site creates before any
// stack: the model's names, in a stable order.
func (dp *deployment) sharedNetworks() []string {
	return []string{dp.site.Networks.Public, dp.site.Networks.Backend}
}

// configNames are the Swarm names of every config the stacks create.
func (dp *deployment) configNames() []string {
	var names []string
	for _, st := range dp.site.Stacks {
		for _, c := range dp.projects[st.Name].Configs {
			names = append(names, c.Name)
		}
	}
	slices.Sort(names)
	return names
}

// deploy does what the site's deploy.sh is to do: create the shared
// networks and the secrets, then deploy every stack in order. When
// deploy.sh exists, this is the one function to replace by running it.
func (dp *deployment) deploy() error {
	if err := dp.createNetworks(); err != nil {
		return err
	}
	if err := dp.createSecrets(); err != nil {
		return err
	}
	for _, st := range dp.site.Stacks {
		warnings, err := dp.deployStack(st.Name)
		if err != nil {
			return err
		}
		if warnings != "" {
			return fmt.Errorf("docker stack deploy %s warns:\n%s", st.Name, warnings)
		}
	}
	return nil
}

// createNetworks creates the shared overlay networks: the public one not
// attachable (only services join it), the backend one attachable (so an
// operator can run a one-off container against the databases).
func (dp *deployment) createNetworks() error {
	n := dp.site.Networks
	record(engine.networks, n.Public, n.Backend)
	if _, err := dp.d.Run("network", "create", "--driver", "overlay", n.Public); err != nil {
		return err
	}
	_, err := dp.d.Run("network", "create", "--driver", "overlay", "--attachable", n.Backend)
	return err
}

// createSecrets runs `nuvlagen secrets init` for the site, as an operator
// would, into a private directory outside any repository, and creates
// every Docker secret of the site from its file there; the required
// variables are read from the same directory for `docker stack deploy`.
func (dp *deployment) createSecrets() error {
	dir, err := os.MkdirTemp("", "nuvlagen-swarmtest-secrets-")
	if err != nil {
		return err
	}
	dp.secretsRoot = dir
	dp.secretsDir = filepath.Join(dir, "secrets")
	src, ok := siteSources[dp.site.File]
	if !ok {
		return fmt.Errorf("no source registered for site file %s", dp.site.File)
	}
	siteFile := filepath.Join(dir, "site.cue")
	if err := os.WriteFile(siteFile, src, 0o600); err != nil {
		return err
	}
	// The other examples beside it, as in cue/sites/: a target's host,
	// whose deployment's secrets are created together.
	for name, other := range siteSources {
		if name != dp.site.File && strings.HasPrefix(name, "cue/sites/") {
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(name)), other, 0o600); err != nil {
				return err
			}
		}
	}
	var stdout, stderr bytes.Buffer
	if code := cli.Main([]string{"secrets", "init", dp.secretsDir, "--site", siteFile, "--site-name", dp.site.Name}, &stdout, &stderr); code != cli.ExitOK {
		return fmt.Errorf("nuvlagen secrets init: exit %d\n%s", code, stderr.String())
	}
	if st, err := os.Stat(filepath.Join(dp.secretsDir, dp.site.Name)); err == nil && st.IsDir() {
		dp.secretsDir = filepath.Join(dp.secretsDir, dp.site.Name) // a deployment's directory
	}
	dp.versions = map[string]string{}
	for _, sec := range dp.site.Secrets {
		file := filepath.Join(dp.secretsDir, sec.Name)
		b, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		digest := hex.EncodeToString(sum[:])
		version := sec.Name + "_" + digest[:12]
		dp.versions[sec.Name] = version
		record(engine.secrets, version)
		if _, err := dp.d.Run("secret", "create", "--label", "nuvlagen.secret="+sec.Name, "--label", "nuvlagen.sha256="+digest, version, file); err != nil {
			return err
		}
	}
	return nil
}

// deployEnv is the environment of `docker stack deploy`: the site's
// required variables, from the secrets directory when there is one, and
// the names of the secrets' versions.
func (dp *deployment) deployEnv() ([]string, error) {
	var env []string
	versionOf := map[string]string{}
	for _, sec := range dp.site.Secrets {
		versionOf[compose.SecretVariable(sec.Name)] = dp.versions[sec.Name]
	}
	for k, v := range pipeline.CheckEnv(dp.site) {
		if version, ok := versionOf[k]; ok {
			if version != "" { // else no secret was created: CheckEnv's name
				v = version
			}
		} else if dp.secretsDir != "" {
			b, err := os.ReadFile(filepath.Join(dp.secretsDir, k))
			if err != nil {
				return nil, err
			}
			v = strings.TrimSpace(string(b))
		}
		env = append(env, k+"="+v)
	}
	slices.Sort(env)
	return env, nil
}

// deployStack runs `docker stack deploy` in the stack's directory, with
// the site's required variables set, without resolving images: there is
// no registry here. What the command prints on stderr is returned as
// warnings: a generated file must deploy without any.
func (dp *deployment) deployStack(stack string) (warnings string, err error) {
	record(engine.stacks, stack)
	env, err := dp.deployEnv()
	if err != nil {
		return "", err
	}
	var stderr strings.Builder
	_, err = dp.d.Exec(dockercli.Opts{Dir: filepath.Join(dp.dir, "stacks", stack), Env: env, Stderr: &stderr},
		"stack", "deploy", "--resolve-image", "never", "--detach=true", "-c", compose.FileName, stack)
	return strings.TrimSpace(stderr.String()), err
}

// refuseIfPresent fails t when the daemon already holds an object the
// site would create. Stack, network, secret and config names come from
// the site and cannot be made unique per run; a run that finds them
// refuses rather than deploy over, and later delete, objects it did not
// create.
func (dp *deployment) refuseIfPresent(t *testing.T) {
	t.Helper()
	var found []string
	for _, st := range dp.site.Stacks {
		for _, kind := range []string{"service", "network", "config"} {
			l, err := dp.d.Lines(kind, "ls", "--filter", "label="+namespaceLabel+"="+st.Name, "--format", "{{.Name}}")
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range l {
				found = append(found, kind+" "+n)
			}
		}
	}
	want := map[string][]string{"network": dp.sharedNetworks(), "config": dp.configNames()}
	for _, sec := range dp.site.Secrets {
		want["secret"] = append(want["secret"], sec.Name)
	}
	// Any version of the site's secrets, as deploy.sh names them.
	version := regexp.MustCompile(`^(.*)_[0-9a-f]{12}$`)
	for _, sec := range dp.site.Secrets {
		want["secret-version"] = append(want["secret-version"], sec.Name)
	}
	for _, kind := range []string{"network", "secret", "config"} {
		l, err := dp.d.Lines(kind, "ls", "--format", "{{.Name}}")
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range l {
			m := version.FindStringSubmatch(n)
			if slices.Contains(want[kind], n) || kind == "secret" && m != nil && slices.Contains(want["secret-version"], m[1]) {
				found = append(found, kind+" "+n)
			}
		}
	}
	if len(found) > 0 {
		slices.Sort(found)
		found = slices.Compact(found)
		t.Fatalf("refusing to deploy site %s: the daemon already has %s; another run or a real deployment owns them, and this test only removes what it creates",
			dp.site.Name, strings.Join(found, ", "))
	}
}

// cleanUp removes everything the site's deployment may have created, in
// reverse order, and waits until the daemon has let go of it. It is
// registered before anything is created, so that a failed step still
// leaves nothing behind.
func (dp *deployment) cleanUp(t *testing.T) {
	t.Helper()
	d := dp.d
	var errs []error
	if dp.secretsRoot != "" {
		// The secrets directory's parent is this deployment's alone.
		if err := os.RemoveAll(dp.secretsRoot); err != nil {
			errs = append(errs, err)
		}
	}
	for _, st := range slices.Backward(dp.site.Stacks) {
		if _, err := d.Run("stack", "rm", st.Name); err != nil && !strings.Contains(err.Error(), "Nothing found in stack") {
			errs = append(errs, err)
		}
	}
	// Services go at once, their tasks and the stack networks shortly after;
	// the shared networks and the secrets are in use until then.
	errs = append(errs, poll.Until(60*time.Second, func() (bool, error) {
		for _, st := range dp.site.Stacks {
			for _, kind := range []string{"service", "network", "config"} {
				l, err := d.Lines(kind, "ls", "--filter", "label="+namespaceLabel+"="+st.Name, "-q")
				if err != nil || len(l) > 0 {
					return false, err
				}
			}
		}
		return true, nil
	}))
	var secrets []string
	for _, s := range dp.site.Secrets {
		if v, ok := dp.versions[s.Name]; ok {
			secrets = append(secrets, v)
		}
	}
	for _, o := range []struct {
		kind  string
		names []string
	}{{"network", dp.sharedNetworks()}, {"secret", secrets}, {"config", dp.configNames()}} {
		for _, n := range o.names {
			// Removal is done when the object no longer inspects: a
			// network the manager deleted is listed by the node until
			// its local copy goes too.
			errs = append(errs, poll.Until(60*time.Second, func() (bool, error) {
				if _, err := d.Run(o.kind, "inspect", n); err != nil && dockercli.IsNotFound(err) {
					return true, nil
				}
				_, err := d.Run(o.kind, "rm", n)
				if err != nil && dockercli.IsNotFound(err) {
					err = nil
				}
				return false, err
			}))
		}
	}
	if err := errors.Join(errs...); err != nil {
		t.Errorf("cleaning up site %s: %v", dp.site.Name, err)
	}
}

// nodeLabels returns the single node's labels.
func nodeLabels() (map[string]string, error) {
	out, err := engine.d.Run("node", "inspect", "self", "--format", "{{json .Spec.Labels}}")
	if err != nil {
		return nil, err
	}
	labels := map[string]string{}
	if err := json.Unmarshal([]byte(out), &labels); err != nil {
		return nil, fmt.Errorf("node labels %q: %w", out, err)
	}
	return labels, nil
}

// setNodeLabels gives the node exactly labels among the keys managed:
// managed keys absent from labels are removed, other keys left alone.
func setNodeLabels(labels map[string]string, managed []string) error {
	args := []string{"node", "update"}
	cur, err := nodeLabels()
	if err != nil {
		return err
	}
	for _, k := range managed {
		if _, ok := labels[k]; !ok {
			if _, has := cur[k]; has {
				args = append(args, "--label-rm", k)
			}
		}
	}
	for _, k := range keys(labels) {
		args = append(args, "--label-add", k+"="+labels[k])
	}
	if len(args) == 2 {
		return nil
	}
	// The manager updates the node object itself now and then (its
	// status): an update made from an older version of it is refused
	// as "update out of sequence", and made again.
	var last error
	if err := poll.Until(15*time.Second, func() (bool, error) {
		_, last = engine.d.Run(append(args, engine.lease.NodeID)...)
		return last == nil || !strings.Contains(last.Error(), "update out of sequence"), last
	}); err != nil {
		return err
	}
	return last
}
