package clustertest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/internal/dockercli"
	"github.com/nuvla/nuvlagen/internal/netns"
	"github.com/nuvla/nuvlagen/internal/poll"
)

// cluster is one site's nodes, each a network namespace with the
// model's address and a dockerd of its own, and the clients, each a
// namespace with one address; all on one bridge, in a switch namespace.
type cluster struct {
	t     *testing.T
	dir   string
	sw    string
	nodes []*node
	// clients are the namespaces that stand for the sources of the
	// firewall's classes, by name.
	clients map[string]*client
	seq     int
	phases  *phases
	// namespaces are the cluster's, as created.
	namespaces []string
}

// node is one Swarm node.
type node struct {
	site.Node
	ns  string
	dir string
	d   *dockercli.CLI
	// cmd is the dockerd, and exited closed once it has exited.
	cmd    *exec.Cmd
	exited chan struct{}
}

// client is a namespace with one address, outside the cluster.
type client struct {
	name string
	ns   string
	addr netip.Addr
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// newCluster creates the switch, a namespace per node of s linked to it
// with the node's address, and one per client address; everything is
// removed again when t ends, daemons first.
func newCluster(t *testing.T, s *site.Site, clients map[string]netip.Addr, ph *phases) *cluster {
	t.Helper()
	// Sites run at once: the switch and the clients are named by site,
	// the nodes by their names, which the examples do not share.
	c := &cluster{t: t, dir: filepath.Join(rootDir, s.Name), sw: prefix + "-" + s.Name + "-sw", clients: map[string]*client{}, phases: ph}
	t.Cleanup(func() {
		if err := c.remove(); err != nil {
			t.Errorf("removing the cluster: %v", err)
		}
	})
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	must(t, c.addNamespace(c.sw))
	must(t, run("ip", "-n", c.sw, "link", "add", "br0", "type", "bridge"))
	must(t, run("ip", "-n", c.sw, "link", "set", "br0", "up"))
	for _, n := range s.Nodes {
		nd := &node{Node: n, ns: prefix + "-" + n.Name, dir: filepath.Join(c.dir, n.Name)}
		nd.d = dockercli.NewHost(filepath.Join(nd.dir, "home"), "unix://"+filepath.Join(nd.dir, "run", "docker.sock"))
		c.nodes = append(c.nodes, nd)
		must(t, c.addNamespace(nd.ns))
		must(t, c.link(nd.ns, n.Address))
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range clients {
			if !yield(k) {
				return
			}
		}
	}) {
		cl := &client{name: name, ns: prefix + "-" + s.Name + "-c-" + name, addr: clients[name]}
		c.clients[name] = cl
		must(t, c.addNamespace(cl.ns))
		must(t, c.link(cl.ns, cl.addr))
	}
	return c
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (c *cluster) addNamespace(name string) error {
	if err := run("ip", "netns", "add", name); err != nil {
		return err
	}
	c.namespaces = append(c.namespaces, name)
	return run("ip", "-n", name, "link", "set", "lo", "up")
}

// link connects namespace ns's eth0 to the bridge, with addr as a /32
// and every destination on-link: all namespaces share one segment. The
// veth pair is created in the two namespaces, never in the test's.
func (c *cluster) link(ns string, addr netip.Addr) error {
	c.seq++
	peer := fmt.Sprintf("p%d", c.seq)
	for _, args := range [][]string{
		{"link", "add", "name", "eth0", "netns", ns, "type", "veth", "peer", "name", peer, "netns", c.sw},
		{"-n", c.sw, "link", "set", peer, "master", "br0", "up"},
		{"-n", ns, "addr", "add", addr.String() + "/32", "dev", "eth0"},
		{"-n", ns, "link", "set", "eth0", "up"},
		{"-n", ns, "route", "add", "default", "dev", "eth0"},
	} {
		if err := run("ip", args...); err != nil {
			return err
		}
	}
	return nil
}

// nodeScript runs dockerd in the node's mount and UTS namespaces: the
// node's hostname is the model's node name (the Swarm's node hostname,
// which deploy.sh labels nodes by), and /run is the node's own
// directory, so that dockerd's socket, exec root and pid file are at
// their default paths inside (Traefik binds /var/run/docker.sock, which
// must be this node's daemon), the machine's containerd is out of sight
// (dockerd would use it rather than supervise one of its own), and
// every mount dockerd makes stays in a namespace that goes with it.
const nodeScript = `set -e
mount --bind "$1" /run
hostname "$2"
shift 2
exec "$@"`

// start starts the node's dockerd and waits until it answers.
func (n *node) start() error {
	for _, d := range []string{"run", "data", "home"} {
		if err := os.MkdirAll(filepath.Join(n.dir, d), 0o755); err != nil {
			return err
		}
	}
	// A short shutdown timeout: the containers are stand-ins.
	cfg := filepath.Join(n.dir, "daemon.json")
	if err := os.WriteFile(cfg, []byte(`{"shutdown-timeout": 5}`+"\n"), 0o644); err != nil {
		return err
	}
	dockerd, err := exec.LookPath("dockerd")
	if err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(n.dir, "dockerd.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command("nsenter", "--net="+netns.Path(n.ns), "unshare", "--mount", "--uts", "--propagation", "private",
		"/bin/sh", "-c", nodeScript, "sh", filepath.Join(n.dir, "run"), n.Name,
		dockerd, "--config-file", cfg, "--data-root", filepath.Join(n.dir, "data"),
		"--exec-root", "/run/docker", "--pidfile", "/run/docker.pid", "-H", "unix:///run/docker.sock",
		"--storage-driver", "vfs")
	cmd.Stdout, cmd.Stderr = logf, logf
	// A session of its own: an interrupt of the test's process group
	// does not reach it; the cleanup stops it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	n.cmd, n.exited = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(n.exited) }()
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case <-n.exited:
			return fmt.Errorf("dockerd of %s exited: %s", n.Name, n.log())
		default:
		}
		if _, err := n.d.Exec(dockercli.Opts{Timeout: 5 * time.Second}, "version", "--format", "{{.Server.Version}}"); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("dockerd of %s does not answer: %v\n%s", n.Name, err, n.log())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// log is the end of the node's dockerd log.
func (n *node) log() string {
	b, _ := os.ReadFile(filepath.Join(n.dir, "dockerd.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// stop stops the node's dockerd: SIGTERM, which stops its containers
// and its containerd, then SIGKILL after a minute.
func (n *node) stop() error {
	if n.cmd == nil {
		return nil
	}
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(60 * time.Second):
		n.cmd.Process.Kill()
		<-n.exited
		return fmt.Errorf("dockerd of %s did not stop on SIGTERM: killed", n.Name)
	}
	return nil
}

// each runs f on every node at once and joins their errors.
func (c *cluster) each(f func(n *node) error) error {
	errs := make([]error, len(c.nodes))
	var wg sync.WaitGroup
	for i, n := range c.nodes {
		wg.Go(func() {
			if err := f(n); err != nil {
				errs[i] = fmt.Errorf("%s: %w", n.Name, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// remove stops every daemon, empties and deletes every namespace, and
// removes the cluster's directory, whatever state the test left them in.
func (c *cluster) remove() error {
	start := time.Now()
	errs := []error{c.each((*node).stop)}
	for _, name := range c.namespaces {
		emptyNamespace(name)
		if err := run("ip", "netns", "del", name); err != nil {
			errs = append(errs, err)
		}
	}
	if err := unmountUnder(c.dir); err != nil {
		errs = append(errs, err)
	}
	if err := os.RemoveAll(c.dir); err != nil {
		errs = append(errs, err)
	}
	if err := leftoversOf(c.dir, c.namespaces); err != nil {
		errs = append(errs, err)
	}
	c.phases.add("cleanup", time.Since(start))
	c.phases.log(c.t)
	return errors.Join(errs...)
}

// leftoversOf is leftovers for one cluster's directory and namespaces.
func leftoversOf(dir string, namespaces []string) error {
	var errs []error
	names, err := ourNamespaces()
	if err != nil {
		errs = append(errs, err)
	}
	if left := slices.DeleteFunc(names, func(n string) bool { return !slices.Contains(namespaces, n) }); len(left) > 0 {
		errs = append(errs, fmt.Errorf("network namespaces left: %v", left))
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), dir+"/") {
			errs = append(errs, fmt.Errorf("process left: %s", filepath.Dir(p)))
		}
	}
	if m, err := mountsUnder(dir); err != nil || len(m) > 0 {
		errs = append(errs, fmt.Errorf("mounts left: %v %v", m, err))
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("%s is left", dir))
	}
	return errors.Join(errs...)
}

// startDaemons starts every node's dockerd.
func (c *cluster) startDaemons() error { return c.each((*node).start) }

// applyFirewall applies each node's generated rules with the generated
// apply.sh of dir, inside the node's namespace, as an operator does on
// the node (no --confirm: nothing waits for an answer).
func (c *cluster) applyFirewall(dir, backend string) error {
	return c.each(func(n *node) error {
		out, err := exec.Command("nsenter", "--net="+netns.Path(n.ns), "bash", filepath.Join(dir, "apply.sh"), "--backend", backend, n.Name).CombinedOutput()
		if err != nil {
			return fmt.Errorf("apply.sh --backend %s %s: %v\n%s", backend, n.Name, err, out)
		}
		return nil
	})
}

// form initialises the Swarm on the first manager, on its address, and
// joins the other nodes through its 2377 as the model's roles say,
// managers first; then waits until the manager sees every node ready
// under its model name.
func (c *cluster) form() error {
	var first *node
	for _, n := range c.nodes {
		if n.Role == "manager" {
			first = n
			break
		}
	}
	if first == nil {
		return errors.New("the site has no manager")
	}
	a := first.Address.String()
	if _, err := first.d.Run("swarm", "init", "--advertise-addr", a, "--listen-addr", a+":2377"); err != nil {
		return err
	}
	tokens := map[string]string{}
	for _, role := range []string{"manager", "worker"} {
		out, err := first.d.Run("swarm", "join-token", "-q", role)
		if err != nil {
			return err
		}
		tokens[role] = strings.TrimSpace(out)
	}
	for _, role := range []string{"manager", "worker"} {
		for _, n := range c.nodes {
			if n == first || n.Role != role {
				continue
			}
			na := n.Address.String()
			if _, err := n.d.Exec(dockercli.Opts{Timeout: 2 * time.Minute}, "swarm", "join", "--token", tokens[role],
				"--advertise-addr", na, "--listen-addr", na+":2377", a+":2377"); err != nil {
				return err
			}
		}
	}
	return c.ready(2 * time.Minute)
}

// manager is the first manager, which deploy.sh talks to.
func (c *cluster) manager() *node {
	for _, n := range c.nodes {
		if n.Role == "manager" {
			return n
		}
	}
	return nil
}

func (c *cluster) node(name string) *node {
	for _, n := range c.nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// ready waits until the manager lists every node of the model, by its
// hostname, ready and active, in the model's role.
func (c *cluster) ready(timeout time.Duration) error {
	var last string
	err := poll.Until(timeout, func() (bool, error) {
		lines, err := c.manager().d.Lines("node", "ls", "--format", "{{.Hostname}} {{.Status}} {{.Availability}} {{if .ManagerStatus}}manager{{else}}worker{{end}}")
		if err != nil {
			return false, err
		}
		var want []string
		for _, n := range c.nodes {
			want = append(want, n.Name+" Ready Active "+n.Role)
		}
		slices.Sort(lines)
		slices.Sort(want)
		last = strings.Join(lines, "; ")
		if !slices.Equal(lines, want) {
			return false, fmt.Errorf("nodes %q, want %q", lines, want)
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("the Swarm: %w (last: %s)", err, last)
	}
	return nil
}

// loadImages builds the images on the first manager and loads them, as
// docker save wrote them, into every other node.
func (c *cluster) loadImages(build func(d *dockercli.CLI) error, tags []string) error {
	first := c.manager()
	if err := build(first.d); err != nil {
		return err
	}
	tar := filepath.Join(c.dir, "images.tar")
	if _, err := first.d.Exec(dockercli.Opts{Timeout: 5 * time.Minute}, append([]string{"save", "--output", tar}, tags...)...); err != nil {
		return err
	}
	defer os.Remove(tar)
	return c.each(func(n *node) error {
		if n == first {
			return nil
		}
		_, err := n.d.Exec(dockercli.Opts{Timeout: 5 * time.Minute}, "load", "--quiet", "--input", tar)
		return err
	})
}

// phases records how long each phase of a site's run took.
type phases struct {
	mu    sync.Mutex
	names []string
	took  map[string]time.Duration
	start time.Time
}

func newPhases() *phases { return &phases{took: map[string]time.Duration{}, start: time.Now()} }

func (p *phases) add(name string, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.took[name]; !ok {
		p.names = append(p.names, name)
	}
	p.took[name] += d
}

// run runs one phase, timed, and fails t when it fails.
func (p *phases) run(t *testing.T, name string, f func() error) {
	t.Helper()
	start := time.Now()
	err := f()
	p.add(name, time.Since(start))
	t.Logf("phase %s: %v", name, time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("phase %s: %v", name, err)
	}
}

func (p *phases) log(t *testing.T) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	for _, n := range p.names {
		fmt.Fprintf(&b, "\n  %-24s %8v", n, p.took[n].Round(100*time.Millisecond))
	}
	fmt.Fprintf(&b, "\n  %-24s %8v", "total", time.Since(p.start).Round(100*time.Millisecond))
	t.Logf("time per phase:%s", b.String())
}

// withTimeout is a context for one check.
func withTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
