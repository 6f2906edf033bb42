package runtimetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/nuvla/nuvlagen/cmd/nuvlagen/cli"
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

// testSite is what the test's site file says.
type testSite struct {
	name, node, share string
	// host makes it a host site; otherwise it is a target site.
	host bool
	// aliases are two more names of node: a host site has a node of
	// each of three types, and the Swarm here has one node (below).
	aliases [2]string
	acme    bool
	images  map[string]string
}

// source is the site file, whose node is this machine's Swarm node and
// whose images are the local ones. A target site runs all its stacks on
// that node (Traefik and the monitoring pinned to the edge manager,
// Minio to the NFS server, both this node), its NFS share a directory
// of the test. A host site's model wants three nodes, a frontend, a
// worker-job and a worker-db one: they are this node under three names
// (its hostname, its ID and a prefix of the ID, all of which the docker
// CLI takes for a node), so that the generated deploy.sh labels nodes
// that exist; onOneNode then lets the services of every type run on
// it. Values are Go-quoted, which CUE reads alike.
func (ts testSite) source() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "package nuvla\n\nsites: %s: {\n", strconv.Quote(ts.name))
	fmt.Fprintf(&b, "\tdomain: %s\n", strconv.Quote(ts.name+".nuvlagen.test"))
	if ts.host {
		b.WriteString("\tkind:   \"host\"\n")
		b.WriteString("\tnodes: {\n")
		fmt.Fprintf(&b, "\t\t%s: {address: \"192.0.2.10\", role: \"manager\", labels: type: \"frontend\"}\n", strconv.Quote(ts.node))
		fmt.Fprintf(&b, "\t\t%s: {address: \"192.0.2.11\", role: \"worker\", labels: type: \"worker-job\"}\n", strconv.Quote(ts.aliases[0]))
		fmt.Fprintf(&b, "\t\t%s: {address: \"192.0.2.12\", role: \"worker\", labels: type: \"worker-db\"}\n", strconv.Quote(ts.aliases[1]))
		b.WriteString("\t}\n")
		b.WriteString("\tgroups: management: [\"198.51.100.0/28\"]\n")
	} else {
		b.WriteString("\tkind:   \"target\"\n")
		fmt.Fprintf(&b, "\tnodes: %s: {address: \"192.0.2.10\", role: \"manager\", nfsServer: true}\n", strconv.Quote(ts.node))
		b.WriteString("\tgroups: {management: [\"198.51.100.0/28\"], nuvla: [\"192.0.2.0/24\"]}\n")
		fmt.Fprintf(&b, "\tnfs: share: %s\n", strconv.Quote(ts.share))
	}
	if ts.acme {
		b.WriteString("\ttls: {mode: \"acme\", email: \"ops@example.org\"}\n")
	}
	if len(ts.images) > 0 {
		b.WriteString("\timages: {\n")
		for _, k := range slices.Sorted(maps.Keys(ts.images)) {
			fmt.Fprintf(&b, "\t\t%s: %s\n", k, strconv.Quote(ts.images[k]))
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	return []byte(b.String())
}

// withLocalImages maps every image of the model to a local one: the
// model's keys, as a site without images: has them.
func (ts testSite) withLocalImages(t *testing.T) testSite {
	t.Helper()
	ts.images = nil
	images := map[string]string{}
	for k := range load(t, ts.name+".cue", ts.source()).Images {
		images[k] = standinImage(k)
	}
	images["traefik"] = traefikImage
	images["prometheus"] = prometheusImage
	ts.images = images
	return ts
}

// typeConstraint is how a host site's services select their node type.
const typeConstraint = "- node.labels.type == "

// onOneNode rewrites a host site's rendered compose files for a Swarm
// of one node, which can carry one type label only: every
// `node.labels.type == T` placement constraint becomes
// `node.hostname == <node>`. It is the one change the test makes to a
// rendered site; the routes, labels and configuration files are as
// generated.
func onOneNode(t *testing.T, files pipeline.Files, node string) pipeline.Files {
	t.Helper()
	out := pipeline.Files{}
	n := 0
	for p, b := range files {
		if path.Base(p) == compose.FileName {
			lines := strings.SplitAfter(string(b), "\n")
			for i, l := range lines {
				if j := strings.Index(l, typeConstraint); j >= 0 && strings.TrimSpace(l[:j]) == "" {
					lines[i] = l[:j] + "- node.hostname == " + node + "\n"
					n++
				}
			}
			b = []byte(strings.Join(lines, ""))
		}
		out[p] = b
	}
	if n == 0 {
		t.Fatalf("the host site's compose files have no %q constraint to rewrite", typeConstraint)
	}
	return out
}

// deployment is one site rendered into a directory, as an operator has
// it after `nuvlagen generate`.
type deployment struct {
	d    *dockercli.CLI
	site *site.Site
	src  []byte
	// dir is the site's output directory.
	dir   string
	files pipeline.Files
	// projects are the generated compose files, loaded, by stack.
	projects map[string]*types.Project
	// secretsDir is what `nuvlagen secrets init` wrote.
	secretsDir string
}

// load loads the test site's file as the model reads it.
func load(t *testing.T, file string, src []byte) *site.Site {
	t.Helper()
	l, err := site.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	sites, err := l.Load(file, src)
	if err != nil {
		t.Fatalf("loading the test site: %v\n%s", err, src)
	}
	if len(sites) != 1 {
		t.Fatalf("the test site file holds %d sites", len(sites))
	}
	return sites[0]
}

// render renders ts through the pipeline, as generate does, and writes
// its files into a fresh directory, scripts executable.
func render(t *testing.T, d *dockercli.CLI, ts testSite) *deployment {
	t.Helper()
	file := ts.name + ".cue"
	src := ts.source()
	s := load(t, file, src)
	files := renderFiles(t, file, src, s.Name)
	if ts.host {
		files = onOneNode(t, files, ts.node)
	}
	dp := &deployment{d: d, site: s, src: src, dir: t.TempDir(), files: files, projects: map[string]*types.Project{}}
	for p, b := range files {
		dst := filepath.Join(dp.dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(p, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(dst, b, mode); err != nil {
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

// renderFiles renders a site file through the pipeline, as generate
// does, and returns the files of site name.
func renderFiles(t *testing.T, file string, src []byte, name string) pipeline.Files {
	t.Helper()
	res := pipelinetest.Render(t, pipeline.Options{}, pipeline.Input{Name: file, Data: src})
	return pipelinetest.Site(t, res, name)
}

func composePath(stack string) string { return path.Join("stacks", stack, compose.FileName) }

// service finds the stack of the compose service called name: the
// routes' expectations name services as the model does, stacks as the
// rendered site has them.
func (dp *deployment) service(name string) (stack string, svc types.ServiceConfig, ok bool) {
	for _, st := range dp.site.Stacks {
		if s, found := dp.projects[st.Name].Services[name]; found {
			return st.Name, s, true
		}
	}
	return "", types.ServiceConfig{}, false
}

// images are the images and the entrypoint paths of every service.
func (dp *deployment) images() (images, entrypoints []string) {
	for _, p := range dp.projects {
		for _, svc := range p.Services {
			images = append(images, svc.Image)
			if len(svc.Entrypoint) > 0 {
				entrypoints = append(entrypoints, svc.Entrypoint[0])
			}
		}
	}
	return sortedUnique(images), sortedUnique(entrypoints)
}

// secretsInit runs `nuvlagen secrets init` for the site, as an operator
// would, into a private directory.
func (dp *deployment) secretsInit(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	siteFile := filepath.Join(dir, dp.site.Name+".cue")
	if err := os.WriteFile(siteFile, dp.src, 0o600); err != nil {
		t.Fatal(err)
	}
	dp.secretsDir = filepath.Join(dir, "secrets")
	var stdout, stderr bytes.Buffer
	if code := cli.Main([]string{"secrets", "init", dp.secretsDir, "--site", siteFile, "--site-name", dp.site.Name}, &stdout, &stderr); code != cli.ExitOK {
		t.Fatalf("nuvlagen secrets init: exit %d\n%s", code, stderr.String())
	}
	if st, err := os.Stat(filepath.Join(dp.secretsDir, dp.site.Name)); err == nil && st.IsDir() {
		dp.secretsDir = filepath.Join(dp.secretsDir, dp.site.Name) // a deployment's directory
	}
	// What secrets init cannot know (a host's S3 keys for Elasticsearch's
	// snapshots) the operator writes in; deploy.sh refuses the
	// placeholder.
	for _, sec := range dp.site.Secrets {
		if sec.Kind == "placeholder" {
			if err := os.WriteFile(filepath.Join(dp.secretsDir, sec.Name), []byte("runtimetest-"+sec.Name), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// secret reads a file of the secrets directory.
func (dp *deployment) secret(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dp.secretsDir, name))
	if err != nil {
		t.Fatalf("reading the secrets directory: %v", err)
	}
	return b
}

// deploy runs the generated deploy.sh itself, with the secrets
// directory, and fails t with its output when it fails.
func (dp *deployment) deploy(t *testing.T) {
	t.Helper()
	start := time.Now()
	cmd := exec.Command("bash", filepath.Join(dp.dir, "deploy.sh"), "--secrets", dp.secretsDir, "--timeout", "180")
	cmd.Env = dp.d.Env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("deploy.sh of site %s: %v\n%s", dp.site.Name, err, out)
	}
	t.Logf("deploy.sh deployed site %s in %v", dp.site.Name, time.Since(start).Round(time.Second))
}

// inventory is what the daemon holds, by kind, to compare before and
// after a run.
type inventory map[string][]string

var inventoryKinds = []string{"service", "network", "secret", "config", "volume", "container"}

func takeInventory(d *dockercli.CLI) (inventory, error) {
	inv := inventory{}
	for _, kind := range inventoryKinds {
		args := []string{kind, "ls", "--format", "{{.Name}}"}
		if kind == "container" {
			args = []string{"ps", "--all", "--format", "{{.Names}}"}
		}
		l, err := d.Lines(args...)
		if err != nil {
			return nil, err
		}
		slices.Sort(l)
		inv[kind] = l
	}
	return inv, nil
}

// added are the names of kind in inv that before did not have.
func (inv inventory) added(before inventory, kind string) []string {
	var out []string
	for _, n := range inv[kind] {
		if !slices.Contains(before[kind], n) {
			out = append(out, n)
		}
	}
	return out
}

// nodeLabels returns the node's labels.
func nodeLabels(d *dockercli.CLI) (map[string]string, error) {
	out, err := d.Run("node", "inspect", "self", "--format", "{{json .Spec.Labels}}")
	if err != nil {
		return nil, err
	}
	labels := map[string]string{}
	if err := json.Unmarshal([]byte(out), &labels); err != nil {
		return nil, fmt.Errorf("node labels %q: %w", out, err)
	}
	return labels, nil
}

// guard refuses to run when the daemon holds what the site would create
// or the ports Traefik publishes are taken, and registers the cleanup
// that removes everything the deployment creates: the stacks, then
// every network, secret, config and volume that was not there before,
// the node's labels put back; it then checks that the daemon holds what
// it held before.
func (dp *deployment) guard(t *testing.T) {
	t.Helper()
	d := dp.d
	checkPortsFree(t)
	before, err := takeInventory(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range dp.site.Stacks {
		for _, kind := range []string{"service", "network", "config"} {
			l, err := d.Lines(kind, "ls", "--filter", "label="+namespaceLabel+"="+st.Name, "--format", "{{.Name}}")
			if err != nil {
				t.Fatal(err)
			}
			if len(l) > 0 {
				t.Fatalf("refusing to deploy site %s: stack %s already has %ss %v; this test removes only what it creates", dp.site.Name, st.Name, kind, l)
			}
		}
	}
	if n := dp.site.Networks.Public; slices.Contains(before["network"], n) {
		t.Fatalf("refusing to deploy site %s: network %s exists; this test removes only what it creates", dp.site.Name, n)
	}
	labelsBefore, err := nodeLabels(d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := dp.cleanUp(before, labelsBefore); err != nil {
			t.Errorf("cleaning up site %s: %v", dp.site.Name, err)
		}
	})
}

func (dp *deployment) cleanUp(before inventory, labelsBefore map[string]string) error {
	d := dp.d
	var errs []error
	for _, st := range slices.Backward(dp.site.Stacks) {
		if _, err := d.Run("stack", "rm", st.Name); err != nil && !strings.Contains(err.Error(), "Nothing found in stack") {
			errs = append(errs, err)
		}
	}
	// Services go at once, their containers and networks shortly after.
	errs = append(errs, poll.Until(90*time.Second, func() (bool, error) {
		for _, st := range dp.site.Stacks {
			for _, args := range [][]string{
				{"service", "ls", "--filter", "label=" + namespaceLabel + "=" + st.Name, "-q"},
				{"network", "ls", "--filter", "label=" + namespaceLabel + "=" + st.Name, "-q"},
				{"ps", "--all", "--filter", "label=" + namespaceLabel + "=" + st.Name, "-q"},
			} {
				l, err := d.Lines(args...)
				if err != nil || len(l) > 0 {
					return false, err
				}
			}
		}
		return true, nil
	}))
	now, err := takeInventory(d)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, kind := range []string{"network", "secret", "config", "volume"} {
		for _, n := range now.added(before, kind) {
			errs = append(errs, poll.Until(60*time.Second, func() (bool, error) {
				if _, err := d.Run(kind, "inspect", n); err != nil && dockercli.IsNotFound(err) {
					return true, nil
				}
				_, err := d.Run(kind, "rm", n)
				if err != nil && dockercli.IsNotFound(err) {
					err = nil
				}
				return false, err
			}))
		}
	}
	if labels, err := nodeLabels(d); err != nil {
		errs = append(errs, err)
	} else {
		args := []string{"node", "update"}
		for _, k := range slices.Sorted(maps.Keys(labels)) {
			if _, ok := labelsBefore[k]; !ok {
				args = append(args, "--label-rm", k)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(labelsBefore)) {
			if labels[k] != labelsBefore[k] {
				args = append(args, "--label-add", k+"="+labelsBefore[k])
			}
		}
		if len(args) > 2 {
			// node update takes no "self": the node's ID.
			if id, err := d.Run("node", "inspect", "self", "--format", "{{.ID}}"); err != nil {
				errs = append(errs, err)
			} else if _, err := d.Run(append(args, strings.TrimSpace(id))...); err != nil {
				errs = append(errs, err)
			}
		}
	}
	// Verified: the daemon holds nothing the run added.
	after, err := takeInventory(d)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	// Only what was added counts: the engine is shared, and what another
	// user removed meanwhile is not this test's to restore (it removes
	// nothing it did not create: the guard refused to run beside a stack
	// of the site's names).
	for _, kind := range inventoryKinds {
		left := after.added(before, kind)
		if kind == "container" {
			// Others' containers come and go; the stacks' are named
			// <stack>_<service>.<slot>.<task>.
			left = slices.DeleteFunc(left, func(n string) bool {
				return !slices.ContainsFunc(dp.site.Stacks, func(st site.Stack) bool { return strings.HasPrefix(n, st.Name+"_") })
			})
		}
		if len(left) > 0 {
			errs = append(errs, fmt.Errorf("%ss left behind: %v", kind, left))
		}
	}
	if labels, err := nodeLabels(d); err != nil {
		errs = append(errs, err)
	} else if !maps.Equal(labels, labelsBefore) {
		errs = append(errs, fmt.Errorf("node labels after the run %v, before %v", labels, labelsBefore))
	}
	return errors.Join(errs...)
}

// publishedPorts are the ports Traefik publishes on the node.
var publishedPorts = []int{80, 443, 8080}

// checkPortsFree fails t (or skips it) when a port Traefik publishes is
// taken: the client must reach this run's Traefik and nothing else. It
// connects rather than listens, which a user other than root cannot do
// below 1024.
func checkPortsFree(t *testing.T) {
	t.Helper()
	for _, p := range publishedPorts {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), 2*time.Second)
		if err == nil {
			c.Close()
			missing(t, "port %d must be free for Traefik to publish it, but something listens there", p)
		}
	}
}

// eventually retries check until it passes or timeout passes, and
// returns its last error: Traefik's Swarm provider polls the engine, so
// a change takes seconds to show.
func eventually(timeout time.Duration, check func() error) error {
	var last error
	err := poll.Until(timeout, func() (bool, error) {
		last = check()
		return last == nil, nil
	})
	if err != nil {
		return last
	}
	return nil
}
