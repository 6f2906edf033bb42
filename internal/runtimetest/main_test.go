package runtimetest

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nuvla/nuvlagen/internal/dockercli"
	"github.com/nuvla/nuvlagen/internal/e2eimage"
	"github.com/nuvla/nuvlagen/internal/poll"
)

// requireVar makes anything missing a failure instead of a skip: the
// engine, the ports, Traefik's build, promtool. CI sets it, as does
// `make e2e-runtime`, so a run meant to prove the site serves cannot
// pass by skipping.
const requireVar = "NUVLAGEN_E2E_SWARM"

// advertiseAddr is where a Swarm this package creates listens: loopback
// keeps the control plane off every real interface.
const advertiseAddr = "127.0.0.1"

// lockFile is the lock internal/swarmtest takes too: both deploy fixed
// names (networks, secrets, stacks) to the one daemon, so their runs,
// from any work tree on the machine, take turns.
var lockFile = filepath.Join(os.TempDir(), "nuvlagen-swarmtest.lock")

// buildOnlyRun is the -run of `make runtime-traefik`.
const buildOnlyRun = "^TestTraefikBuild$"

// engine is the daemon, set up once by TestMain.
var engine struct {
	d *dockercli.CLI
	// skip says why the tests cannot run; empty when they can.
	skip string
	// createdSwarm is true when this run initialised the Swarm: only
	// then does it leave it again.
	createdSwarm bool
	// networksBefore are the daemon's networks before the run.
	networksBefore []string
	// traefik is the Traefik binary, or traefikErr why there is none.
	traefik    string
	traefikErr error
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if testing.Short() {
		engine.skip = "-short"
		return m.Run()
	}
	// Traefik is built before the lock is taken: the Swarm tests of
	// other packages need not wait for a build that does not use it.
	// Without an engine, nothing would run it: no build.
	if err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").Run(); err != nil {
		engine.traefikErr = fmt.Errorf("not built: docker engine not reachable: %w", err)
	} else {
		var testTimeout time.Duration
		if f := flag.Lookup("test.timeout"); f != nil {
			testTimeout, _ = f.Value.(flag.Getter).Get().(time.Duration)
		}
		engine.traefik, engine.traefikErr = e2eimage.FindTraefik(buildTimeoutFor(testTimeout))
	}
	// `make runtime-traefik` runs the build's test alone: no lock, no
	// Swarm.
	if f := flag.Lookup("test.run"); f != nil && f.Value.String() == buildOnlyRun {
		return m.Run()
	}
	unlock, err := e2eimage.Lock(lockFile, 15*time.Minute)
	if err != nil {
		engine.skip = err.Error()
		return m.Run()
	}
	defer unlock()
	home := filepath.Join(os.TempDir(), "nuvlagen-runtimetest-home")
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
		fmt.Fprintf(os.Stderr, "runtimetest: could not leave the Swarm as found:\n%v\n", err)
		return 1
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
	missing(t, "the Swarm engine: %s", engine.skip)
	return nil
}

// missing skips t, or fails it under NUVLAGEN_E2E_SWARM=1, because what
// format says is missing.
func missing(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(requireVar) != "" {
		t.Fatalf("%s is set but the runtime test cannot run: %s", requireVar, msg)
	}
	t.Skipf("runtime test skipped (set %s=1 to make this a failure): %s", requireVar, msg)
}

// ownerFile records the node ID of a Swarm this package created, so that
// the next run recognises one a crashed run left behind.
func ownerFile() string { return filepath.Join(os.TempDir(), "nuvlagen-runtimetest.swarm") }

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
		if b, err := os.ReadFile(ownerFile()); err == nil && strings.TrimSpace(string(b)) == state.nodeID {
			if _, err := d.Run("swarm", "leave", "--force"); err != nil {
				return fmt.Errorf("leaving the Swarm an earlier run left behind: %w", err)
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
		if err := os.WriteFile(ownerFile(), []byte(state.nodeID+"\n"), 0o644); err != nil {
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
			return fmt.Errorf("this node is in a Swarm of %d nodes: the test runs a single-node site", len(nodes))
		}
	default:
		return fmt.Errorf("the node's Swarm state is %q: neither inactive nor active", state.local)
	}
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

// tearDown leaves the Swarm if this run created it, and then checks that
// the daemon's networks are those it had before (docker_gwbridge, which
// joining a Swarm creates, removed again).
func tearDown() error {
	if !engine.createdSwarm {
		return nil
	}
	d := engine.d
	var errs []error
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
	after, err := d.Lines("network", "ls", "--format", "{{.Name}}")
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	if slices.Contains(after, "docker_gwbridge") && !slices.Contains(engine.networksBefore, "docker_gwbridge") {
		// Leaving takes the ingress endpoint off it a moment later.
		err := poll.Until(30*time.Second, func() (bool, error) {
			_, err := d.Run("network", "rm", "docker_gwbridge")
			return err == nil, err
		})
		if err != nil {
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
