package runtimetest

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/nuvla/nuvlagen/internal/dockercli"
	"github.com/nuvla/nuvlagen/internal/e2eimage"
	"github.com/nuvla/nuvlagen/internal/swarmlease"
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
	// lease is the Swarm the tests deploy to.
	lease *swarmlease.Lease
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
	if engine.lease, err = swarmlease.Take(engine.d, filepath.Join(os.TempDir(), "nuvlagen-runtimetest.swarm"), advertiseAddr); err != nil {
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

// tearDown gives the Swarm back as setUp found it (a Swarm this run
// created left, after checking that the tests left nothing in it).
func tearDown() error { return engine.lease.Return() }
