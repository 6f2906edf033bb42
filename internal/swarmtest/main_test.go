package swarmtest

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nuvla/nuvlagen/internal/dockercli"
	"github.com/nuvla/nuvlagen/internal/e2eimage"
)

// requireVar makes a missing or unusable engine a failure instead of a
// skip; `make e2e-swarm` sets it, so a run meant to prove the deployment
// cannot pass by skipping.
const requireVar = "NUVLAGEN_E2E_SWARM"

// advertiseAddr is where a Swarm this package creates listens. Loopback
// keeps the control plane off every real interface; the engine accepts
// it for a single-node Swarm.
const advertiseAddr = "127.0.0.1"

// engine is the daemon the tests deploy to, set up once by TestMain.
var engine struct {
	d *dockercli.CLI
	// skip says why the tests cannot run; empty when they can.
	skip string
	// nodeID is the single node's ID.
	nodeID string
	// createdSwarm is true when this run initialised the Swarm: only then
	// does it leave the Swarm again.
	createdSwarm bool
	// networksBefore are the daemon's networks before the run, to verify
	// it leaves none behind.
	networksBefore []string
	// labelsBefore are the node's labels before the run.
	labelsBefore map[string]string

	mu sync.Mutex
	// stacks, networks and secrets are every name this run created or
	// deployed, checked once more at the end.
	stacks, networks, secrets map[string]bool
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	engine.stacks, engine.networks, engine.secrets = map[string]bool{}, map[string]bool{}, map[string]bool{}
	// An exclusive lock, so that two runs on one machine (from any work
	// tree) never share the daemon's fixed names; the kernel drops it if
	// the process dies.
	unlock, err := e2eimage.Lock(filepath.Join(os.TempDir(), "nuvlagen-swarmtest.lock"), 15*time.Minute)
	if err != nil {
		engine.skip = err.Error()
		return m.Run()
	}
	defer unlock()
	// The CLI's HOME, under the lock: a fixed path, so that a run that
	// dies leaves no new directory behind.
	home := filepath.Join(os.TempDir(), "nuvlagen-swarmtest-home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer os.RemoveAll(home)
	engine.d = dockercli.New(home)
	if err := setUp(); err != nil {
		engine.skip = err.Error()
		return m.Run()
	}
	code := m.Run()
	if err := tearDown(); err != nil {
		fmt.Fprintf(os.Stderr, "swarmtest: the run left something behind or could not clean up:\n%v\n", err)
		return 1
	}
	if testing.Verbose() {
		fmt.Printf("swarmtest: nothing left behind (stacks, networks, secrets, configs, node labels); left the Swarm this run created: %v\n", engine.createdSwarm)
	}
	return code
}

// requireEngine skips t, or fails it under NUVLAGEN_E2E_SWARM=1, when
// the engine cannot run Swarm services here.
func requireEngine(t *testing.T) *dockercli.CLI {
	t.Helper()
	if engine.skip == "" {
		return engine.d
	}
	if os.Getenv(requireVar) != "" {
		t.Fatalf("%s is set but the Swarm tests cannot run: %s", requireVar, engine.skip)
	}
	t.Skipf("Swarm deploy tests skipped (set %s=1 to make this a failure): %s", requireVar, engine.skip)
	return nil
}

// owner is what ownerFile holds.
type owner struct {
	NodeID string
	// HadGwbridge is whether docker_gwbridge existed before the Swarm.
	HadGwbridge bool
}

// ownerFile records the node ID of a Swarm this package created, so that
// a run that crashed before leaving it is recognised by the next one.
func ownerFile() string { return filepath.Join(os.TempDir(), "nuvlagen-swarmtest.swarm") }

func setUp() error {
	d := engine.d
	if _, err := d.Run("version", "--format", "{{.Server.Version}}"); err != nil {
		return fmt.Errorf("docker engine not reachable: %w", err)
	}
	state, err := swarmState()
	if err != nil {
		return err
	}
	if state.local == "active" {
		var prev owner
		if b, err := os.ReadFile(ownerFile()); err == nil && json.Unmarshal(b, &prev) == nil && prev.NodeID == state.nodeID {
			// A previous run created this Swarm and died before leaving
			// it: start afresh, which drops whatever it left.
			if _, err := d.Run("swarm", "leave", "--force"); err != nil {
				return fmt.Errorf("leaving the Swarm an earlier run left behind: %w", err)
			}
			if !prev.HadGwbridge {
				if _, err := d.Run("network", "rm", "docker_gwbridge"); err != nil && !isNotFound(err) {
					return fmt.Errorf("removing the docker_gwbridge an earlier run left behind: %w", err)
				}
			}
			os.Remove(ownerFile())
			if state, err = swarmState(); err != nil {
				return err
			}
		}
	}
	if engine.networksBefore, err = d.Lines("network", "ls", "--format", "{{.Name}}"); err != nil {
		return err
	}
	switch state.local {
	case "inactive":
		if _, err := d.Run("swarm", "init", "--advertise-addr", advertiseAddr, "--listen-addr", advertiseAddr+":2377"); err != nil {
			return fmt.Errorf("the engine refuses Swarm mode: %w", err)
		}
		engine.createdSwarm = true
		if state, err = swarmState(); err != nil {
			return err
		}
		b, err := json.Marshal(owner{NodeID: state.nodeID, HadGwbridge: slices.Contains(engine.networksBefore, "docker_gwbridge")})
		if err != nil {
			return err
		}
		if err := os.WriteFile(ownerFile(), b, 0o644); err != nil {
			return err
		}
	case "active":
		if !state.manager {
			return errors.New("this node is in a Swarm but not a manager: cannot deploy stacks")
		}
		nodes, err := d.Lines("node", "ls", "-q")
		if err != nil {
			return err
		}
		if len(nodes) != 1 {
			return fmt.Errorf("this node is in a Swarm of %d nodes: the tests label and schedule on a single node only", len(nodes))
		}
	default:
		return fmt.Errorf("the node's Swarm state is %q: neither inactive nor active", state.local)
	}
	engine.nodeID = state.nodeID
	labels, err := nodeLabels()
	if err != nil {
		return err
	}
	engine.labelsBefore = labels
	return nil
}

type swarmInfo struct {
	local   string
	manager bool
	nodeID  string
}

func swarmState() (swarmInfo, error) {
	out, err := engine.d.Run("info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}} {{.Swarm.NodeID}}")
	if err != nil {
		return swarmInfo{}, fmt.Errorf("docker info: %w", err)
	}
	f := strings.Fields(out)
	if len(f) < 2 {
		return swarmInfo{}, fmt.Errorf("docker info: unexpected Swarm state %q", out)
	}
	s := swarmInfo{local: f[0], manager: f[1] == "true"}
	if len(f) > 2 {
		s.nodeID = f[2]
	}
	return s, nil
}

// tearDown verifies that the tests left nothing behind, restores the
// node's labels if a test did not, and leaves the Swarm if this run
// created it.
func tearDown() error {
	d := engine.d
	var errs []error
	engine.mu.Lock()
	defer engine.mu.Unlock()
	for stack := range engine.stacks {
		for _, kind := range []string{"service", "network", "config"} {
			left, err := d.Lines(kind, "ls", "--filter", "label=com.docker.stack.namespace="+stack, "--format", "{{.Name}}")
			if err != nil {
				errs = append(errs, err)
			} else if len(left) > 0 {
				errs = append(errs, fmt.Errorf("stack %s left %ss %v", stack, kind, left))
			}
		}
	}
	for kind, names := range map[string]map[string]bool{"network": engine.networks, "secret": engine.secrets} {
		all, err := d.Lines(kind, "ls", "--format", "{{.Name}}")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, n := range all {
			if names[n] {
				errs = append(errs, fmt.Errorf("%s %s is left", kind, n))
			}
		}
	}
	if labels, err := nodeLabels(); err != nil {
		errs = append(errs, err)
	} else if !maps.Equal(labels, engine.labelsBefore) {
		errs = append(errs, fmt.Errorf("node labels are %v, were %v before the run", labels, engine.labelsBefore))
		if err := setNodeLabels(engine.labelsBefore, keys(labels)); err != nil {
			errs = append(errs, err)
		}
	}
	if !engine.createdSwarm {
		return errors.Join(errs...)
	}
	// The Swarm is ours: it must be as empty as swarm init left it.
	for _, kind := range []string{"service", "secret", "config"} {
		if left, err := d.Lines(kind, "ls", "--format", "{{.Name}}"); err != nil {
			errs = append(errs, err)
		} else if len(left) > 0 {
			errs = append(errs, fmt.Errorf("%ss left in the Swarm: %v", kind, left))
		}
	}
	if _, err := d.Run("swarm", "leave", "--force"); err != nil {
		return errors.Join(append(errs, err)...)
	}
	os.Remove(ownerFile())
	// Joining a Swarm made the engine create docker_gwbridge, a local
	// bridge that stays after leaving.
	after, err := d.Lines("network", "ls", "--format", "{{.Name}}")
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	if slices.Contains(after, "docker_gwbridge") && !slices.Contains(engine.networksBefore, "docker_gwbridge") {
		if _, err := d.Run("network", "rm", "docker_gwbridge"); err != nil {
			errs = append(errs, err)
		}
		if after, err = d.Lines("network", "ls", "--format", "{{.Name}}"); err != nil {
			errs = append(errs, err)
		}
	}
	slices.Sort(after)
	before := slices.Sorted(slices.Values(engine.networksBefore))
	if !slices.Equal(after, before) {
		errs = append(errs, fmt.Errorf("networks after the run %v, before %v", after, before))
	}
	return errors.Join(errs...)
}

func keys(m map[string]string) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	slices.Sort(k)
	return k
}

func record(set map[string]bool, names ...string) {
	engine.mu.Lock()
	defer engine.mu.Unlock()
	for _, n := range names {
		set[n] = true
	}
}
