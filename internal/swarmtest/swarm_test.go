package swarmtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/generator/site/sitetest"
	"github.com/nuvla/nuvlagen/internal/dockercli"
	"github.com/nuvla/nuvlagen/internal/poll"
)

// TestDeployExampleSites deploys each embedded example site in turn to
// the Swarm, compares the normalised specs with testdata/<site>.txtar,
// checks them against the compose files, and checks that the scheduler
// holds back exactly the tasks no node's labels allow and places all of
// them once the node carries the labels of the model's nodes.
func TestDeployExampleSites(t *testing.T) {
	d := requireEngine(t)
	sites := sitetest.Embedded(t)
	for _, s := range sites {
		t.Run(s.Name, func(t *testing.T) {
			dp, snap := deploySite(t, d, s)
			t.Run("golden", func(t *testing.T) {
				got, err := snap.normalise()
				if err != nil {
					t.Fatal(err)
				}
				compareGolden(t, s.Name, goldenComment(s.Name), got)
			})
			t.Run("specs", func(t *testing.T) { checkSpecs(t, dp, snap) })
			t.Run("streams", func(t *testing.T) { checkStreams(t, dp, snap) })
			t.Run("held-back-without-labels", func(t *testing.T) { checkHeldBack(t, dp, snap) })
			t.Run("placed-with-model-labels", func(t *testing.T) { checkPlaced(t, dp, snap) })
		})
	}
}

func goldenComment(name string) string {
	return fmt.Sprintf(`What a single-node Swarm stored after deploying site %s: 'docker inspect'
of every service, network, secret and config, normalised (IDs, versions,
timestamps, VIPs, subnets and VXLAN IDs dropped; network IDs replaced by
names). Rewrite with UPDATE_GOLDEN=1 go test ./internal/swarmtest and review
the diff.
`, name)
}

// deploySite renders s, deploys it with cleanup registered first, and
// inspects the result. The node starts without any of the labels the
// model's nodes carry.
func deploySite(t *testing.T, d *dockercli.CLI, s *site.Site) (*deployment, *snapshot) {
	t.Helper()
	dp := render(t, d, s)
	dp.refuseIfPresent(t)
	t.Cleanup(func() { dp.cleanUp(t) })
	managed := managedLabels(s)
	before, err := nodeLabels()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		restore := map[string]string{}
		for _, k := range managed {
			if v, ok := before[k]; ok {
				restore[k] = v
			}
		}
		if err := setNodeLabels(restore, managed); err != nil {
			t.Errorf("restoring node labels: %v", err)
		}
	})
	if err := setNodeLabels(nil, managed); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := dp.deploy(); err != nil {
		t.Fatalf("deploying site %s: %v", s.Name, err)
	}
	t.Logf("deployed %d stacks of site %s in %v", len(s.Stacks), s.Name, time.Since(start).Round(time.Millisecond))
	snap, err := dp.snapshot()
	if err != nil {
		t.Fatal(err)
	}
	return dp, snap
}

// managedLabels are the label keys of the model's nodes: the test sets
// and removes only these on the real node.
func managedLabels(s *site.Site) []string {
	var k []string
	for _, n := range s.Nodes {
		k = append(k, keys(n.Labels)...)
	}
	slices.Sort(k)
	return slices.Compact(k)
}

// task is one Swarm task, as `docker inspect` shows it.
type task struct {
	Service string
	NodeID  string
	State   string
	Err     string
}

// tasks returns the tasks of every service of the snapshot, by service
// name, including the history of rejected ones.
func (dp *deployment) tasks(snap *snapshot) (map[string][]task, error) {
	names := map[string]string{}
	var services []string
	for name, v := range snap.services {
		names[str(v, "ID")] = name
		services = append(services, name)
	}
	slices.Sort(services)
	ids, err := dp.d.Lines(append([]string{"service", "ps", "-q", "--no-trunc"}, services...)...)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return map[string][]task{}, nil
	}
	raw, err := dp.d.InspectJSON(append([]string{"inspect", "--type", "task"}, ids...)...)
	if err != nil {
		return nil, err
	}
	out := map[string][]task{}
	for _, r := range raw {
		tk := task{Service: names[str(r, "ServiceID")], NodeID: str(r, "NodeID"), State: str(r, "Status", "State"), Err: str(r, "Status", "Err")}
		out[tk.Service] = append(out[tk.Service], tk)
	}
	return out, nil
}

// checkHeldBack leaves the node without any label of the model's nodes:
// every task whose constraints need one must be held back by the
// scheduler as "no suitable node", every other one placed. This is the
// failure case of a stack whose constraint no node satisfies.
func checkHeldBack(t *testing.T, dp *deployment, snap *snapshot) {
	placed := schedulePhase(t, dp, snap, "no labels", nil, true)
	t.Logf("node with no labels: placed %d services, held back %d", len(placed), len(snap.services)-len(placed))
}

// checkPlaced gives the node each model node's labels in turn: what that
// node allows must be placed, and in the end every service must have
// been placed at least once.
func checkPlaced(t *testing.T, dp *deployment, snap *snapshot) {
	placed := map[string]bool{}
	for _, n := range dp.site.Nodes {
		p := schedulePhase(t, dp, snap, "the labels of "+n.Name, n.Labels, false)
		for name := range p {
			placed[name] = true
		}
		t.Logf("node with the labels of %s %v: placed %d services", n.Name, n.Labels, len(p))
	}
	for _, name := range sortedKeys(snap.services) {
		if !placed[name] {
			t.Errorf("service %s: never placed, whichever model node's labels the node carried", name)
		}
	}
}

// schedulePhase sets the node's labels (among the model's keys) and waits
// until the scheduler has placed every service they allow; with
// expectHeld, also until every other non-global service has a task
// pending as "no suitable node". It returns the services placed.
func schedulePhase(t *testing.T, dp *deployment, snap *snapshot, what string, labels map[string]string, expectHeld bool) map[string]bool {
	t.Helper()
	if err := setNodeLabels(labels, managedLabels(dp.site)); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{} // service → should be placed
	for name, v := range snap.services {
		// The real node is a manager, whatever the model node is.
		ok, err := satisfies(constraints(v), "manager", labels)
		if err != nil {
			t.Fatal(err)
		}
		want[name] = ok
	}
	var last map[string][]task
	err := poll.Until(60*time.Second, func() (bool, error) {
		var err error
		if last, err = dp.tasks(snap); err != nil {
			return false, err
		}
		for name, ok := range want {
			if ok && !anyPlaced(last[name]) {
				return false, nil
			}
			// A global service with no matching node has no task at all.
			if !ok && expectHeld && !isGlobal(snap.services[name]) && !heldBack(last[name]) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		for _, name := range sortedKeys(want) {
			t.Logf("  %s (should be placed: %v): %+v", name, want[name], last[name])
		}
		t.Errorf("node with %s: the tasks are not scheduled as the constraints say: %v", what, err)
		return nil
	}
	placed := map[string]bool{}
	for _, name := range sortedKeys(want) {
		if want[name] {
			placed[name] = true
		} else if expectHeld && !isGlobal(snap.services[name]) {
			tk := last[name][slices.IndexFunc(last[name], isHeldBack)]
			t.Logf("as expected, with no node labelled %s is %s: %q (constraints %v)", name, tk.State, tk.Err, constraints(snap.services[name]))
		}
	}
	return placed
}

func isHeldBack(tk task) bool {
	return tk.NodeID == "" && tk.State == "pending" && strings.Contains(tk.Err, "no suitable node")
}

func heldBack(ts []task) bool { return slices.ContainsFunc(ts, isHeldBack) && !anyPlaced(ts) }

func anyPlaced(ts []task) bool {
	return slices.ContainsFunc(ts, func(tk task) bool { return tk.NodeID != "" })
}

func isGlobal(v map[string]any) bool { return get(v, "Spec", "Mode", "Global") != nil }

func sortedKeys[V any](m map[string]V) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	slices.Sort(k)
	return k
}

// renamedSite is example-host with both shared networks renamed.
const renamedSite = `sites: "renamed": {
	kind:   "host"
	domain: "renamed.example.org"
	nodes: {
		"host-manager-1": {address: "192.0.2.10", role: "manager", labels: type: "frontend"}
		"host-worker-1": {address: "192.0.2.11", role: "worker", labels: type: "worker-job"}
		"host-worker-2": {address: "192.0.2.12", role: "worker", labels: type: "worker-db"}
	}
	groups: management: ["198.51.100.0/28"]
	networks: {public: "edge-renamed-e2e", backend: "store_renamed-e2e"}
}
`

// TestRenamedNetworks deploys a site whose shared networks both have
// other names: it deploys, the specs hold, and no object on the daemon
// refers to the default names.
func TestRenamedNetworks(t *testing.T) {
	d := requireEngine(t)
	l, err := site.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	siteSources["renamed.cue"] = []byte(renamedSite)
	sites, err := l.Load("renamed.cue", []byte(renamedSite))
	if err != nil {
		t.Fatal(err)
	}
	s := sites[0]
	defaults := []string{"traefik-public", "nuvla-backend"}
	existing, err := d.Lines("network", "ls", "--format", "{{.Name}}")
	if err != nil {
		t.Fatal(err)
	}
	dp, snap := deploySite(t, d, s)
	checkSpecs(t, dp, snap)
	checkStreams(t, dp, snap) // off by default: no Kafka, no producers
	for kind, objs := range map[string]map[string]map[string]any{"service": snap.services, "network": snap.networks, "secret": snap.secrets, "config": snap.configs} {
		for name, v := range objs {
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			text := string(b)
			if kind == "config" {
				data, _ := base64.StdEncoding.DecodeString(str(v, "Spec", "Data"))
				text += string(data)
			}
			if kind == "service" {
				text += strings.Join(snap.serviceNetworks(v), " ")
			}
			for _, def := range defaults {
				if strings.Contains(text, def) {
					t.Errorf("%s %s refers to the default network name %s", kind, name, def)
				}
			}
		}
	}
	after, err := d.Lines("network", "ls", "--format", "{{.Name}}")
	if err != nil {
		t.Fatal(err)
	}
	for _, def := range defaults {
		if slices.Contains(after, def) && !slices.Contains(existing, def) {
			t.Errorf("deploying created a network with the default name %s", def)
		}
	}
	for _, n := range dp.sharedNetworks() {
		if !slices.Contains(after, n) {
			t.Errorf("renamed network %s not on the daemon", n)
		}
	}
}

// TestMissingExternalNetwork deploys a stack before the site's networks
// exist: `docker stack deploy` must refuse, naming the network, and
// create nothing.
func TestMissingExternalNetwork(t *testing.T) {
	d := requireEngine(t)
	s := sitetest.Kind(t, site.KindTarget)
	dp := render(t, d, s)
	dp.refuseIfPresent(t)
	t.Cleanup(func() { dp.cleanUp(t) })
	stack := s.Stacks[0].Name
	_, err := dp.deployStack(stack)
	if err == nil {
		t.Fatalf("docker stack deploy %s succeeded without the network %s", stack, s.Networks.Public)
	}
	want := fmt.Sprintf("network %q is declared as external, but could not be found", s.Networks.Public)
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("docker stack deploy %s failed, but not with %q:\n%v", stack, want, err)
	}
	t.Logf("as expected, without its network stack %s does not deploy: %v", stack, err.(*dockercli.CmdError).Stderr)
	for _, kind := range []string{"service", "config", "network"} {
		left, err := d.Lines(kind, "ls", "--filter", "label="+namespaceLabel+"="+stack, "--format", "{{.Name}}")
		if err != nil {
			t.Fatal(err)
		}
		if len(left) > 0 {
			t.Errorf("the failed deploy of %s still created %ss %v", stack, kind, left)
		}
	}
}
