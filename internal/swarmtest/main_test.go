package swarmtest

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nuvla/nuvlagen/internal/dockercli"
	"github.com/nuvla/nuvlagen/internal/e2eimage"
	"github.com/nuvla/nuvlagen/internal/swarmlease"
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
	// lease is the Swarm the tests deploy to.
	lease *swarmlease.Lease
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
		fmt.Printf("swarmtest: nothing left behind (stacks, networks, secrets, configs, node labels); left the Swarm this run created: %v\n", engine.lease.Created)
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

func setUp() (err error) {
	if engine.lease, err = swarmlease.Take(engine.d, filepath.Join(os.TempDir(), "nuvlagen-swarmtest.swarm"), advertiseAddr); err != nil {
		return err
	}
	engine.labelsBefore, err = nodeLabels()
	return err
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
	return errors.Join(append(errs, engine.lease.Return())...)
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
