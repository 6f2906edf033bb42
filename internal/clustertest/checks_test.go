package clustertest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nuvla/nuvlagen/generator/firewall"
	"github.com/nuvla/nuvlagen/internal/dockercli"
	"github.com/nuvla/nuvlagen/internal/netns"
)

// labelsOf returns node name's labels as the Swarm has them.
func labelsOf(d *dockercli.CLI, name string) (map[string]string, error) {
	out, err := d.Run("node", "inspect", name, "--format", "{{json .Spec.Labels}}")
	if err != nil {
		return nil, err
	}
	labels := map[string]string{}
	if err := json.Unmarshal([]byte(out), &labels); err != nil {
		return nil, fmt.Errorf("node %s labels %q: %w", name, out, err)
	}
	return labels, nil
}

// checkLabels wants every node's labels to be the model's, no more.
func (c *cluster) checkLabels() error {
	var errs []error
	for _, n := range c.nodes {
		got, err := labelsOf(c.manager().d, n.Name)
		if err != nil {
			return err
		}
		want := n.Labels
		if want == nil {
			want = map[string]string{}
		}
		if !maps.Equal(got, want) {
			errs = append(errs, fmt.Errorf("node %s has labels %v, the model says %v", n.Name, got, want))
		}
	}
	return errors.Join(errs...)
}

// constraint is one placement constraint: node.role, node.hostname or
// node.labels.KEY, == or !=, a value.
var constraintRE = regexp.MustCompile(`^\s*(node\.role|node\.hostname|node\.labels\.[^=!\s]+)\s*(==|!=)\s*(\S+)\s*$`)

// satisfies says whether node n, with the Swarm's labels, meets every
// constraint.
func satisfies(n *node, labels map[string]string, constraints []string) (bool, error) {
	for _, cons := range constraints {
		m := constraintRE.FindStringSubmatch(cons)
		if m == nil {
			return false, fmt.Errorf("constraint %q: the test reads node.role, node.hostname and node.labels only", cons)
		}
		var have string
		var ok bool
		switch {
		case m[1] == "node.role":
			have, ok = n.Role, true
		case m[1] == "node.hostname":
			have, ok = n.Name, true
		default:
			have, ok = labels[strings.TrimPrefix(m[1], "node.labels.")]
		}
		if (m[2] == "==") != (ok && have == m[3]) {
			return false, nil
		}
	}
	return true, nil
}

// task is one running task of a service, from docker service ps.
type task struct{ node, state string }

func (c *cluster) tasks(service string) ([]task, error) {
	lines, err := c.manager().d.Lines("service", "ps", "--filter", "desired-state=running", "--format", "{{.Node}}\t{{.CurrentState}}", service)
	if err != nil {
		return nil, err
	}
	var ts []task
	for _, l := range lines {
		node, state, _ := strings.Cut(l, "\t")
		ts = append(ts, task{node, state})
	}
	return ts, nil
}

// checkPlacement wants every service's tasks running, each on a node
// its constraints select, as many as its mode says: its replicas, or
// one on every node the constraints select.
func (c *cluster) checkPlacement(dp *deployment) (string, error) {
	labels := map[string]map[string]string{}
	for _, n := range c.nodes {
		l, err := labelsOf(c.manager().d, n.Name)
		if err != nil {
			return "", err
		}
		labels[n.Name] = l
	}
	var errs []error
	var placed []string
	for _, st := range dp.site.Stacks {
		p := dp.projects[st.Name]
		for _, name := range slices.Sorted(maps.Keys(p.Services)) {
			svc := p.Services[name]
			var constraints []string
			want := 1
			global := false
			if svc.Deploy != nil {
				constraints = svc.Deploy.Placement.Constraints
				if svc.Deploy.Replicas != nil {
					want = *svc.Deploy.Replicas
				}
				global = svc.Deploy.Mode == "global"
			}
			eligible := 0
			for _, n := range c.nodes {
				ok, err := satisfies(n, labels[n.Name], constraints)
				if err != nil {
					return "", fmt.Errorf("service %s: %w", name, err)
				}
				if ok {
					eligible++
				}
			}
			if global {
				want = eligible
			}
			full := st.Name + "_" + name
			ts, err := c.tasks(full)
			if err != nil {
				return "", err
			}
			var on []string
			for _, tk := range ts {
				n := c.node(tk.node)
				if n == nil {
					errs = append(errs, fmt.Errorf("service %s: a task on %q, not a node of the model", full, tk.node))
					continue
				}
				ok, err := satisfies(n, labels[n.Name], constraints)
				if err != nil {
					return "", err
				}
				if !ok {
					errs = append(errs, fmt.Errorf("service %s: a task on %s, which its constraints %q do not select", full, n.Name, constraints))
				}
				if !strings.HasPrefix(tk.state, "Running") {
					errs = append(errs, fmt.Errorf("service %s: the task on %s is %q, not running", full, n.Name, tk.state))
				}
				on = append(on, n.Name)
			}
			if len(ts) != want {
				errs = append(errs, fmt.Errorf("service %s: %d tasks running, want %d (constraints %q)", full, len(ts), want, constraints))
			}
			slices.Sort(on)
			placed = append(placed, fmt.Sprintf("%s on %s", full, strings.Join(slices.Compact(on), ",")))
		}
	}
	return strings.Join(placed, "; "), errors.Join(errs...)
}

// container is one task's container as its node's daemon has it.
type container struct {
	node *node
	pid  int
	// ips are its addresses, by network name.
	ips map[string]string
}

// containersOf returns the containers of a service, on every node.
func (c *cluster) containersOf(service string) ([]container, error) {
	var out []container
	for _, n := range c.nodes {
		ids, err := n.d.Lines("ps", "--quiet", "--filter", "label=com.docker.swarm.service.name="+service)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			v, err := n.d.InspectJSON("container", "inspect", id)
			if err != nil {
				return nil, err
			}
			var ci []struct {
				State           struct{ Pid int }
				NetworkSettings struct {
					Networks map[string]struct{ IPAddress string }
				}
			}
			b, _ := json.Marshal(v)
			if err := json.Unmarshal(b, &ci); err != nil || len(ci) != 1 {
				return nil, fmt.Errorf("inspecting container %s: %v", id, err)
			}
			ct := container{node: n, pid: ci[0].State.Pid, ips: map[string]string{}}
			for name, nw := range ci[0].NetworkSettings.Networks {
				ct.ips[name] = nw.IPAddress
			}
			out = append(out, ct)
		}
	}
	return out, nil
}

// answer is what the stand-in replies.
type answer struct {
	Host  string `json:"host"`
	Path  string `json:"path"`
	Local string `json:"local"`
}

// get makes one HTTP(S) request with the dialer and decodes the
// stand-in's answer.
func get(ctx context.Context, dial func(context.Context, string, string) (net.Conn, error), roots *x509.CertPool, url, host string) (answer, error) {
	tr := &http.Transport{DialContext: dial, TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: host, MinVersion: tls.VersionTLS12}, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return answer{}, err
	}
	req.Host = host
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return answer{}, fmt.Errorf("GET %s (Host %s): %s: %.200s", url, host, resp.Status, b)
	}
	var a answer
	if err := json.Unmarshal(b, &a); err != nil {
		return answer{}, fmt.Errorf("GET %s (Host %s): not the stand-in's answer: %.200s", url, host, b)
	}
	return a, nil
}

// overlay is one check of traffic that crosses the overlay between
// nodes, over VXLAN.
type overlay struct {
	name string
	run  func(ctx context.Context) error
}

// taskToTask is, for every node other than from's, a request from a task
// of service from (on the edge) to the task of the global service to on
// that node, on a network they share, at port: container to container
// across the overlay.
func (c *cluster) taskToTask(from, to string, port int) ([]overlay, error) {
	src, err := c.containersOf(from)
	if err != nil {
		return nil, err
	}
	if len(src) != 1 {
		return nil, fmt.Errorf("service %s has %d containers, want 1", from, len(src))
	}
	dst, err := c.containersOf(to)
	if err != nil {
		return nil, err
	}
	var checks []overlay
	for _, d := range dst {
		if d.node == src[0].node {
			continue
		}
		var ip, network string
		for _, nw := range slices.Sorted(maps.Keys(d.ips)) {
			if _, ok := src[0].ips[nw]; ok && nw != "ingress" {
				ip, network = d.ips[nw], nw
				break
			}
		}
		if ip == "" {
			return nil, fmt.Errorf("%s on %s and %s on %s share no network", from, src[0].node.Name, to, d.node.Name)
		}
		dial := netns.Dialer(fmt.Sprintf("/proc/%d/ns/net", src[0].pid))
		url := "http://" + net.JoinHostPort(ip, strconv.Itoa(port)) + "/overlay"
		want := net.JoinHostPort(ip, strconv.Itoa(port))
		checks = append(checks, overlay{
			name: fmt.Sprintf("%s on %s -> %s on %s (%s, network %s)", from, src[0].node.Name, to, d.node.Name, want, network),
			run: func(ctx context.Context) error {
				a, err := get(ctx, dial, nil, url, ip)
				if err != nil {
					return err
				}
				if a.Local != want {
					return fmt.Errorf("answered on %s, want %s", a.Local, want)
				}
				return nil
			},
		})
	}
	if len(checks) == 0 {
		return nil, fmt.Errorf("no task of %s on a node other than %s's", to, from)
	}
	return checks, nil
}

var (
	hostRE = regexp.MustCompile("Host\\(`([^`]+)`\\)")
	pathRE = regexp.MustCompile("Path(?:Prefix)?\\(`([^`]+)`\\)")
)

// throughTraefik is, for every routed service whose task runs on
// another node than the edge's, a request from client cl to the edge's
// 443 with the router's host and path, answered by that task: through
// the generated firewall, Traefik's swarm provider and the overlay.
func (c *cluster) throughTraefik(dp *deployment, cl *client, edge *node) ([]overlay, error) {
	roots := x509.NewCertPool()
	b, err := os.ReadFile(filepath.Join(dp.secretsDir, "traefik_tls_crt"))
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("traefik_tls_crt holds no PEM block")
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, err
	}
	roots.AddCert(cert)
	var checks []overlay
	for _, st := range dp.site.Stacks {
		p := dp.projects[st.Name]
		for _, name := range slices.Sorted(maps.Keys(p.Services)) {
			svc := p.Services[name]
			if svc.Deploy == nil || svc.Deploy.Labels["traefik.enable"] != "true" {
				continue
			}
			full := st.Name + "_" + name
			cts, err := c.containersOf(full)
			if err != nil {
				return nil, err
			}
			if len(cts) != 1 || cts[0].node == edge {
				continue
			}
			ip := cts[0].ips[dp.site.Networks.Public]
			for _, k := range slices.Sorted(maps.Keys(svc.Deploy.Labels)) {
				if !strings.HasSuffix(k, ".rule") || !strings.HasPrefix(k, "traefik.http.routers.") {
					continue
				}
				router := strings.TrimSuffix(strings.TrimPrefix(k, "traefik.http.routers."), ".rule")
				rule := svc.Deploy.Labels[k]
				h, pth := hostRE.FindStringSubmatch(rule), pathRE.FindStringSubmatch(rule)
				if h == nil {
					continue
				}
				reqPath := "/"
				if pth != nil {
					reqPath = pth[1]
				}
				url := "https://" + net.JoinHostPort(edge.Address.String(), "443") + reqPath
				dial := netns.Dialer(netns.Path(cl.ns))
				node := cts[0].node.Name
				checks = append(checks, overlay{
					name: fmt.Sprintf("%s (%s) -> Traefik on %s -> router %s (%s%s) -> %s on %s (%s)", cl.name, cl.addr, edge.Name, router, h[1], reqPath, full, node, ip),
					run: func(ctx context.Context) error {
						a, err := get(ctx, dial, roots, url, h[1])
						if err != nil {
							return err
						}
						if ahost, _, _ := net.SplitHostPort(a.Local); ahost != ip {
							return fmt.Errorf("answered on %s, not by the task on %s (%s)", a.Local, node, ip)
						}
						return nil
					},
				})
			}
		}
	}
	return checks, nil
}

// runOverlay runs every check at once, each retried until it passes or
// timeout passes; it returns what each did.
func runOverlay(checks []overlay, timeout time.Duration) (string, error) {
	type result struct {
		took time.Duration
		err  error
	}
	results := make([]result, len(checks))
	var wg sync.WaitGroup
	for i, ck := range checks {
		wg.Go(func() {
			start := time.Now()
			var last error
			for {
				ctx, cancel := withTimeout(5 * time.Second)
				last = ck.run(ctx)
				cancel()
				if last == nil || time.Since(start) > timeout {
					break
				}
				time.Sleep(time.Second)
			}
			results[i] = result{time.Since(start), last}
		})
	}
	wg.Wait()
	var b strings.Builder
	var errs []error
	for i, ck := range checks {
		r := results[i]
		if r.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ck.name, r.err))
			fmt.Fprintf(&b, "\n  FAIL %s after %v: %v", ck.name, r.took.Round(time.Millisecond), r.err)
		} else {
			fmt.Fprintf(&b, "\n  ok   %s (%v)", ck.name, r.took.Round(time.Millisecond))
		}
	}
	return b.String(), errors.Join(errs...)
}

// probePorts are the TCP ports the probes try on every node: each rule's
// ports of the example sites, and ports no rule opens.
var probePorts = []int{22, 80, 111, 443, 2049, 2376, 2377, 3000, 5000, 7946, 8080, 9000, 9100, 29765, 30000, 33333, 40000, 61000}

// probe says whether a new TCP connection from namespace path to addr
// gets through: connected or refused (the node answered), or dropped
// (no answer within the timeout).
func probe(path string, addr netip.AddrPort) (bool, error) {
	ctx, cancel := withTimeout(2 * time.Second)
	defer cancel()
	conn, err := netns.Dialer(path)(ctx, "tcp", addr.String())
	switch {
	case err == nil:
		conn.Close()
		return true, nil
	case errors.Is(err, syscall.ECONNREFUSED):
		return true, nil
	case errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err):
		return false, nil
	}
	return false, err
}

// checkProbes sends a new TCP connection from every client (and from a
// node of the cluster) to every probe port of every node and compares
// what gets through with the model's answer (firewall.Ruleset.Query).
func (c *cluster) checkProbes(rs *firewall.Ruleset) (string, error) {
	type source struct {
		name, path string
		addr       netip.Addr
	}
	var sources []source
	for _, name := range slices.Sorted(maps.Keys(c.clients)) {
		cl := c.clients[name]
		sources = append(sources, source{name, netns.Path(cl.ns), cl.addr})
	}
	peer := c.nodes[len(c.nodes)-1]
	sources = append(sources, source{"cluster (" + peer.Name + ")", netns.Path(peer.ns), peer.Address})
	type result struct {
		src     source
		node    *node
		port    int
		through bool
		err     error
	}
	var results []result
	for _, src := range sources {
		for _, n := range c.nodes {
			if n == peer && src.addr == peer.Address {
				continue
			}
			for _, p := range probePorts {
				results = append(results, result{src: src, node: n, port: p})
			}
		}
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range results {
		r := &results[i]
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			r.through, r.err = probe(r.src.path, netip.AddrPortFrom(r.node.Address, uint16(r.port)))
		})
	}
	wg.Wait()
	var errs []error
	count := map[string]int{}
	for _, r := range results {
		if r.err != nil {
			errs = append(errs, fmt.Errorf("%s -> %s tcp/%d: %v", r.src.name, r.node.Name, r.port, r.err))
			continue
		}
		d, err := rs.Query(r.src.addr, r.node.Name, "tcp", r.port)
		if err != nil {
			return "", err
		}
		if r.through != d.Allowed {
			errs = append(errs, fmt.Errorf("%s (%s) -> %s tcp/%d: got through %v, the model says allowed %v", r.src.name, r.src.addr, r.node.Name, r.port, r.through, d.Allowed))
		}
		if r.through {
			count[r.src.name+" through"]++
		} else {
			count[r.src.name+" dropped"]++
		}
	}
	var b strings.Builder
	for _, src := range sources {
		fmt.Fprintf(&b, "\n  from %s (%s): %d got through, %d dropped", src.name, src.addr, count[src.name+" through"], count[src.name+" dropped"])
	}
	return b.String(), errors.Join(errs...)
}
