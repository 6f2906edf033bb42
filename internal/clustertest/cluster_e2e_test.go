package clustertest

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nuvla/nuvlagen/generator/firewall"
	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/internal/dockercli"
	"github.com/nuvla/nuvlagen/internal/e2eimage"
	"github.com/nuvla/nuvlagen/internal/poll"
)

// outside is the address of a client in no class but users: 198.51.100.0/24
// outside the example sites' management /28.
var outside = netip.MustParseAddr("198.51.100.200")

// swapVar, set, swaps the sites' backends (iptables on the target, nft
// on the host): a run of each backend on each site takes two runs.
const swapVar = "NUVLAGEN_E2E_CLUSTER_SWAP"

// TestCluster deploys each example site to a Swarm of its own nodes,
// behind the generated firewall, one backend per site.
func TestCluster(t *testing.T) {
	backends := []string{"nft", "iptables"}
	if os.Getenv(swapVar) != "" {
		slices.Reverse(backends)
	}
	for _, tc := range []struct{ site, backend string }{
		{"example-target", backends[0]},
		{"example-host", backends[1]},
	} {
		t.Run(tc.site+"/"+tc.backend, func(t *testing.T) {
			require(t)
			// At once: most of a deployment is waiting for tasks to start.
			t.Parallel()
			deploySite(t, tc.site, tc.backend)
		})
	}
}

// clientsOf are the clients the probes come from: one address of each
// class the site's groups give (management; nuvla on a target), and one
// in users alone.
func clientsOf(t *testing.T, rs *firewall.Ruleset, s *site.Site) map[string]netip.Addr {
	t.Helper()
	clients := map[string]netip.Addr{}
	for class, prefixes := range rs.Groups {
		if class == firewall.Cluster || class == firewall.Users || len(prefixes) == 0 {
			continue
		}
		a := prefixes[0].Addr()
		if prefixes[0].Bits() < 32 {
			a = a.Next()
		}
		clients[class] = a
	}
	d, err := rs.Query(outside, s.Nodes[0].Name, "tcp", 22)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Classes, []string{firewall.Users}) {
		t.Fatalf("%s is in classes %v of site %s, want users alone", outside, d.Classes, s.Name)
	}
	clients["outside"] = outside
	for name, a := range clients {
		for _, n := range s.Nodes {
			if n.Address == a {
				t.Fatalf("client %s's address %s is node %s's", name, a, n.Name)
			}
		}
	}
	return clients
}

// staleLabel is the label an earlier model left on a node that no longer
// has it: the edge, moved away from the last node. deploy.sh must take
// it off.
const staleLabel = "edge"

func deploySite(t *testing.T, name, backend string) {
	ph := newPhases()
	dir := filepath.Join(rootDir, name)
	t.Cleanup(func() { os.RemoveAll(dir) })
	var dp *deployment
	ph.run(t, "render", func() error { dp = newDeployment(t, name, dir); return nil })
	rs, err := firewall.Compile(dp.site)
	must(t, err)

	var c *cluster
	ph.run(t, "namespaces", func() error { c = newCluster(t, dp.site, clientsOf(t, rs, dp.site), ph); return nil })
	ph.run(t, "daemons", c.startDaemons)
	// The firewall goes on before the Swarm forms: the joins (2377), the
	// gossip (7946) and the overlay (4789/udp) pass through it.
	ph.run(t, "firewall "+backend, func() error { return c.applyFirewall(filepath.Join(dp.dir, "firewall"), backend) })
	ph.run(t, "swarm", c.form)
	mgr := c.manager()

	images, entrypoints := dp.images()
	ph.run(t, "images", func() error {
		return c.loadImages(func(d *dockercli.CLI) error {
			var standins []string
			for _, img := range images {
				if !strings.HasPrefix(img, "nuvlagen-e2e/") {
					return fmt.Errorf("image %s is not a local one", img)
				}
				if img != e2eimage.TraefikImage {
					standins = append(standins, img)
				}
			}
			for i, build := range []func(dir string) error{
				func(dir string) error { return e2eimage.BuildStandin(d, dir, entrypoints, standins...) },
				func(dir string) error { return e2eimage.BuildTraefik(d, dir, setup.traefik) },
			} {
				ctx := filepath.Join(c.dir, fmt.Sprintf("build%d", i))
				if err := os.MkdirAll(ctx, 0o755); err != nil {
					return err
				}
				if err := build(ctx); err != nil {
					return err
				}
				if err := os.RemoveAll(ctx); err != nil {
					return err
				}
			}
			return nil
		}, images)
	})
	ph.run(t, "secrets init", func() error { return dp.secretsInit(filepath.Join(dir, "private")) })

	// The edge as an earlier model had it, on the last node: deploy.sh
	// prunes the labels it manages from the nodes that should not carry
	// them.
	last := c.nodes[len(c.nodes)-1]
	if _, err := mgr.d.Run("node", "update", "--label-add", staleLabel+"=true", last.Name); err != nil {
		t.Fatal(err)
	}
	ph.run(t, "deploy.sh", func() error {
		out, err := dp.script(mgr, "deploy.sh", "--secrets", dp.secretsDir, "--timeout", "300")
		t.Logf("deploy.sh:\n%s", out)
		if err != nil {
			// What the Swarm says of each task, for the failure.
			var ps string
			if ids, lerr := mgr.d.Lines("service", "ls", "--quiet"); lerr == nil && len(ids) > 0 {
				ps, _ = mgr.d.Run(append([]string{"service", "ps", "--no-trunc", "--format", "{{.Name}} {{.Node}} {{.CurrentState}} {{.Error}}"}, ids...)...)
			}
			t.Logf("tasks:\n%s", ps)
		}
		return err
	})
	ph.run(t, "labels", func() error {
		if err := c.checkLabels(); err != nil {
			return err
		}
		if _, ok := last.Labels[staleLabel]; !ok {
			t.Logf("the stale %s label on %s is gone", staleLabel, last.Name)
		}
		return nil
	})
	ph.run(t, "placement", func() error {
		var placed string
		err := poll.Until(60*time.Second, func() (bool, error) {
			var err error
			placed, err = c.checkPlacement(dp)
			return err == nil, err
		})
		t.Logf("placed: %s", placed)
		return err
	})

	var checks []overlay
	ph.run(t, "overlay", func() error {
		monitoring := stackOf(dp, "monitoring")
		tt, err := c.taskToTask(monitoring+"_prometheus", monitoring+"_node-exporter", 9100)
		if err != nil {
			return err
		}
		var edge *node
		for _, n := range c.nodes {
			if n.Labels["edge"] == "true" {
				edge = n
			}
		}
		tr, err := c.throughTraefik(dp, c.clients["outside"], edge)
		if err != nil {
			return err
		}
		if dp.site.Kind == site.KindHost && len(tr) == 0 {
			return errors.New("no routed service runs off the edge: nothing to route across the overlay")
		}
		checks = append(tt, tr...)
		out, err := runOverlay(checks, 90*time.Second)
		t.Logf("overlay:%s", out)
		return err
	})
	ph.run(t, "probes", func() error {
		out, err := c.checkProbes(rs)
		t.Logf("probes:%s", out)
		if err != nil {
			return err
		}
		// The cluster still works.
		if err := c.ready(30 * time.Second); err != nil {
			return err
		}
		out, err = runOverlay(checks, 30*time.Second)
		t.Logf("overlay after the probes:%s", out)
		return err
	})
	ph.run(t, "broken vxlan", func() error { return c.brokenVXLAN(dp, backend, checks) })

	ph.run(t, "teardown.sh", func() error {
		out, err := dp.script(mgr, "teardown.sh", "--remove-secrets", "--remove-networks", "--timeout", "180")
		t.Logf("teardown.sh:\n%s", out)
		if err != nil {
			return err
		}
		return c.empty()
	})
}

// stackOf is the name of the site's stack of role.
func stackOf(dp *deployment, role string) string {
	for _, st := range dp.site.Stacks {
		if st.Role == role {
			return st.Name
		}
	}
	return role
}

// brokenVXLAN applies, on every node, the generated rules with 4789/udp
// taken out of the swarm-cluster rule, and wants every overlay check to
// fail while the nodes stay ready (gossip and the control plane are
// untouched); then applies the generated rules again and wants every
// check to pass.
func (c *cluster) brokenVXLAN(dp *deployment, backend string, checks []overlay) error {
	src := filepath.Join(dp.dir, "firewall")
	dst := filepath.Join(c.dir, "broken-firewall")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return err
		}
		if ext := filepath.Ext(e.Name()); (backend == "nft" && ext == ".nft") || (backend == "iptables" && ext == ".iptables") {
			nb := withoutVXLAN(b)
			if string(nb) == string(b) {
				return fmt.Errorf("%s: no 4789/udp rule to take out", e.Name())
			}
			b = nb
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o755); err != nil {
			return err
		}
	}
	if err := c.applyFirewall(dst, backend); err != nil {
		return err
	}
	out, err := runOverlay(checks, 6*time.Second)
	c.t.Logf("overlay with 4789/udp dropped between the nodes:%s", out)
	for _, ck := range checks {
		if !strings.Contains(out, "FAIL "+ck.name) {
			return fmt.Errorf("with 4789/udp dropped, the overlay check %s still passes", ck.name)
		}
	}
	if err == nil {
		return errors.New("with 4789/udp dropped, the overlay checks pass")
	}
	if err := c.ready(10 * time.Second); err != nil {
		return fmt.Errorf("with 4789/udp dropped, the nodes should stay ready: %w", err)
	}
	if err := c.applyFirewall(src, backend); err != nil {
		return err
	}
	out, err = runOverlay(checks, 60*time.Second)
	c.t.Logf("overlay with the generated rules again:%s", out)
	return err
}

// withoutVXLAN takes 4789 out of a node's rules: the nft set
// { 4789, 7946 } and its ct original proto-dst rule, or iptables'
// multiport 4789,7946 and its --ctorigdstport rule.
func withoutVXLAN(b []byte) []byte {
	var out []string
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if strings.Contains(line, "proto-dst 4789 ") || strings.Contains(line, "--ctorigdstport 4789 ") {
			continue
		}
		line = strings.ReplaceAll(line, "udp dport { 4789, 7946 }", "udp dport { 7946 }")
		line = strings.ReplaceAll(line, "--dports 4789,7946 ", "--dports 7946 ")
		out = append(out, line)
	}
	return []byte(strings.Join(out, ""))
}

// empty wants the Swarm to hold nothing of the site after teardown.sh
// --remove-secrets --remove-networks: no service, secret, config, or
// overlay network but ingress.
func (c *cluster) empty() error {
	d := c.manager().d
	return poll.Until(60*time.Second, func() (bool, error) {
		for _, args := range [][]string{
			{"service", "ls", "--format", "{{.Name}}"},
			{"secret", "ls", "--format", "{{.Name}}"},
			{"config", "ls", "--format", "{{.Name}}"},
			{"network", "ls", "--filter", "driver=overlay", "--format", "{{.Name}}"},
		} {
			l, err := d.Lines(args...)
			if err != nil {
				return false, err
			}
			l = slices.DeleteFunc(l, func(s string) bool { return s == "ingress" })
			if len(l) > 0 {
				return false, fmt.Errorf("after teardown.sh, docker %s lists %v", args[0], l)
			}
		}
		return true, nil
	})
}
