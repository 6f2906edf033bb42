package swarmlease

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nuvla/nuvlagen/internal/dockercli"
	"github.com/nuvla/nuvlagen/internal/e2eimage"
)

// requireVar makes a missing engine a failure instead of a skip, as in
// internal/swarmtest.
const requireVar = "NUVLAGEN_E2E_SWARM"

// engine returns a CLI for the engine under the lock internal/swarmtest
// and internal/runtimetest take: the three packages change the one
// engine's Swarm, so they take turns.
func engine(t *testing.T) *dockercli.CLI {
	t.Helper()
	d := dockercli.New(t.TempDir())
	if _, err := d.Run("version", "--format", "{{.Server.Version}}"); err != nil {
		if os.Getenv(requireVar) != "" {
			t.Fatalf("%s is set but the engine is not reachable: %v", requireVar, err)
		}
		t.Skipf("swarm lease test skipped (set %s=1 to make this a failure): docker engine not reachable: %v", requireVar, err)
	}
	unlock, err := e2eimage.Lock(filepath.Join(os.TempDir(), "nuvlagen-swarmtest.lock"), 20*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(unlock)
	return d
}

func networks(t *testing.T, d *dockercli.CLI) []string {
	t.Helper()
	l, err := d.Lines("network", "ls", "--format", "{{.Name}}")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(l)
	return l
}

func swarmState(t *testing.T, d *dockercli.CLI) string {
	t.Helper()
	out, err := d.Run("info", "--format", "{{.Swarm.LocalNodeState}}")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// A lease, and one a crashed run left behind, give the engine back as it
// was: the same Swarm state, the same networks (docker_gwbridge gone
// again when joining made it).
func TestLeaseGivesTheEngineBack(t *testing.T) {
	d := engine(t)
	stateBefore, netsBefore := swarmState(t, d), networks(t, d)
	ownerFile := filepath.Join(t.TempDir(), "owner")

	crashed, err := Take(d, ownerFile, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if crashed.Created != (stateBefore == "inactive") {
		t.Fatalf("Take on a Swarm %s: Created %v", stateBefore, crashed.Created)
	}
	// The crashed run never returns its lease: the next one recognises
	// the Swarm by the owner file and starts afresh.
	l, err := Take(d, ownerFile, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if crashed.Created && l.NodeID == crashed.NodeID {
		t.Errorf("the second Take kept the Swarm (node %s) the crashed run left behind", l.NodeID)
	}
	if err := l.Return(); err != nil {
		t.Fatal(err)
	}
	if got := swarmState(t, d); got != stateBefore {
		t.Errorf("Swarm state after the leases: %s, before: %s", got, stateBefore)
	}
	if got := networks(t, d); !slices.Equal(got, netsBefore) {
		t.Errorf("networks after the leases: %v, before: %v", got, netsBefore)
	}
	if crashed.Created {
		if _, err := os.Stat(ownerFile); !os.IsNotExist(err) {
			t.Errorf("the owner file is left after Return: %v", err)
		}
	}
}

// A bridge with a live container on it is not taken from the container:
// removeBridge names it; once the container is gone, the bridge goes.
func TestRemoveBridgeNamesAttachedContainers(t *testing.T) {
	d := engine(t)
	const (
		image     = "nuvlagen-swarmlease-test:standin"
		network   = "nuvlagen-swarmlease-test"
		container = "nuvlagen-swarmlease-test"
	)
	for _, args := range [][]string{{"container", "inspect", container}, {"network", "inspect", network}} {
		if _, err := d.Run(args...); err == nil {
			t.Fatalf("refusing to run: %s %s exists; this test removes only what it creates", args[0], args[2])
		}
	}
	if err := e2eimage.BuildStandin(d, t.TempDir(), nil, image); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Run("image", "rm", "--force", image) })
	if _, err := d.Run("network", "create", "--driver", "bridge", network); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Run("network", "rm", network) })
	if _, err := d.Run("run", "--detach", "--name", container, "--network", network, image); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Run("rm", "--force", container) })

	err := removeBridge(d, network, 2*time.Second)
	if err == nil || !strings.Contains(err.Error(), "containers still attached to "+network+": "+container) {
		t.Fatalf("removing a bridge a live container is on: %v, want the container named", err)
	}
	if _, err := d.Run("container", "inspect", container); err != nil {
		t.Fatalf("the container is gone after removeBridge: %v", err)
	}
	if _, err := d.Run("rm", "--force", container); err != nil {
		t.Fatal(err)
	}
	if err := removeBridge(d, network, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Run("network", "inspect", network); err == nil {
		t.Error("the bridge is left after removeBridge")
	}
}

// The owner file is this package's JSON, or a node ID alone as
// internal/runtimetest wrote it before; anything else is no owner.
func TestReadOwner(t *testing.T) {
	for _, tc := range []struct {
		body string
		want owner
		ok   bool
	}{
		{`{"NodeID":"abc123","HadGwbridge":true}`, owner{NodeID: "abc123", HadGwbridge: true}, true},
		{"abc123\n", owner{NodeID: "abc123"}, true},
		{"", owner{}, false},
		{`{"HadGwbridge":true}`, owner{}, false},
		{"two words\n", owner{}, false},
	} {
		p := filepath.Join(t.TempDir(), "owner")
		if err := os.WriteFile(p, []byte(tc.body), 0o644); err != nil {
			t.Fatal(err)
		}
		if got, ok := readOwner(p); got != tc.want || ok != tc.ok {
			t.Errorf("readOwner(%q) = %+v, %v; want %+v, %v", tc.body, got, ok, tc.want, tc.ok)
		}
	}
	if _, ok := readOwner(filepath.Join(t.TempDir(), "none")); ok {
		t.Error("a missing owner file reads as an owner")
	}
}
