// Package swarmlease lends the engine's single-node Swarm to one test
// package's run (internal/swarmtest, internal/runtimetest) and gives the
// engine back as it was found: a Swarm the run created is left again, and
// the docker_gwbridge that joining created is removed, whatever endpoint
// the engine was slow to take off it.
package swarmlease

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/nuvla/nuvlagen/internal/dockercli"
	"github.com/nuvla/nuvlagen/internal/poll"
)

// gwbridge is the local bridge the engine creates on joining a Swarm and
// keeps after leaving it.
const gwbridge = "docker_gwbridge"

// ingressSandbox is the key of the Swarm's ingress sandbox among the
// bridge's endpoints. Leaving the Swarm deletes it, a moment later or,
// on a loaded engine, not at all.
const ingressSandbox = "ingress-sbox"

// Lease is the Swarm one run uses.
type Lease struct {
	d         *dockercli.CLI
	ownerFile string
	// NodeID is the single node's ID.
	NodeID string
	// Created is whether Take initialised the Swarm: only then does
	// Return leave it.
	Created        bool
	networksBefore []string
}

// owner is what the owner file holds: the Swarm a run created, so that
// the next run recognises one a crashed run left behind.
type owner struct {
	NodeID string
	// HadGwbridge is whether docker_gwbridge existed before that Swarm.
	HadGwbridge bool
}

// Take returns the engine's Swarm: the single-node Swarm it is a manager
// of, or one it initialises on advertiseAddr. ownerFile records a Swarm
// Take created until Return leaves it; a Swarm an earlier run recorded
// there and did not leave is left first.
func Take(d *dockercli.CLI, ownerFile, advertiseAddr string) (*Lease, error) {
	l := &Lease{d: d, ownerFile: ownerFile}
	if _, err := d.Run("version", "--format", "{{.Server.Version}}"); err != nil {
		return nil, fmt.Errorf("docker engine not reachable: %w", err)
	}
	state, err := l.state()
	if err != nil {
		return nil, err
	}
	if prev, ok := readOwner(ownerFile); ok {
		ours := state.local == "active" && prev.NodeID == state.nodeID
		if ours {
			// An earlier run created this Swarm and died before leaving
			// it: start afresh, which drops whatever it left.
			if _, err := d.Run("swarm", "leave", "--force"); err != nil {
				return nil, fmt.Errorf("leaving the Swarm an earlier run left behind: %w", err)
			}
		}
		// The file stays until the bridge that Swarm made is gone, so a
		// run that fails here is repeated by the next. Another Swarm
		// since (active, another node ID) has that bridge for its own.
		if ours || state.local != "active" {
			if !prev.HadGwbridge {
				if err := removeBridge(d, gwbridge, time.Minute); err != nil {
					return nil, fmt.Errorf("removing the %s an earlier run left behind: %w", gwbridge, err)
				}
			}
		}
		os.Remove(ownerFile)
		if state, err = l.state(); err != nil {
			return nil, err
		}
	}
	if l.networksBefore, err = d.Lines("network", "ls", "--format", "{{.Name}}"); err != nil {
		return nil, err
	}
	switch state.local {
	case "inactive":
		if _, err := d.Run("swarm", "init", "--advertise-addr", advertiseAddr, "--listen-addr", advertiseAddr+":2377"); err != nil {
			return nil, fmt.Errorf("the engine refuses Swarm mode: %w", err)
		}
		l.Created = true
		if state, err = l.state(); err != nil {
			return nil, err
		}
		b, err := json.Marshal(owner{NodeID: state.nodeID, HadGwbridge: slices.Contains(l.networksBefore, gwbridge)})
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(ownerFile, b, 0o644); err != nil {
			return nil, err
		}
	case "active":
		if !state.manager {
			return nil, errors.New("this node is in a Swarm but not a manager: cannot deploy stacks")
		}
		nodes, err := d.Lines("node", "ls", "-q")
		if err != nil {
			return nil, err
		}
		if len(nodes) != 1 {
			return nil, fmt.Errorf("this node is in a Swarm of %d nodes: the tests label and schedule on a single node only", len(nodes))
		}
	default:
		return nil, fmt.Errorf("the node's Swarm state is %q: neither inactive nor active", state.local)
	}
	l.NodeID = state.nodeID
	return l, nil
}

// readOwner reads the owner file: JSON, or a node ID alone as the files
// internal/runtimetest wrote before this package (with the bridge then
// taken to be the Swarm's).
func readOwner(path string) (owner, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return owner{}, false
	}
	var o owner
	if json.Unmarshal(b, &o) == nil && o.NodeID != "" {
		return o, true
	}
	if id := strings.TrimSpace(string(b)); id != "" && !strings.ContainsAny(id, " {}\"\n") {
		return owner{NodeID: id}, true
	}
	return owner{}, false
}

type swarmInfo struct {
	local   string
	manager bool
	nodeID  string
}

func (l *Lease) state() (swarmInfo, error) {
	out, err := l.d.Run("info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}} {{.Swarm.NodeID}}")
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

// Return leaves the Swarm if Take created it and checks that the engine
// has the networks it had before (docker_gwbridge removed again). A
// Swarm Take created must be as empty as swarm init left it: leaving it
// would drop a service, secret or config a test left unseen, so each is
// reported first.
func (l *Lease) Return() error {
	if !l.Created {
		return nil
	}
	d := l.d
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
	os.Remove(l.ownerFile)
	if !slices.Contains(l.networksBefore, gwbridge) {
		if err := removeBridge(d, gwbridge, time.Minute); err != nil {
			errs = append(errs, err)
		}
	}
	after, err := d.Lines("network", "ls", "--format", "{{.Name}}")
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	slices.Sort(after)
	before := slices.Sorted(slices.Values(l.networksBefore))
	if !slices.Equal(after, before) {
		errs = append(errs, fmt.Errorf("networks after the run %v, before %v", after, before))
	}
	return errors.Join(errs...)
}

// removeBridge removes the bridge network name (docker_gwbridge, after
// the Swarm was left). An endpoint the engine keeps on it past that
// moment is the ingress sandbox or one of a container that no longer
// exists: both are taken off by force. An endpoint of a container that
// still exists is a container the run left behind: it is named in the
// error, not touched.
func removeBridge(d *dockercli.CLI, name string, timeout time.Duration) error {
	var attached []string
	listed := -1
	err := poll.Until(timeout, func() (bool, error) {
		_, err := d.Run("network", "rm", name)
		if err == nil || dockercli.IsNotFound(err) {
			return true, nil
		}
		eps, ierr := endpoints(d, name)
		if ierr != nil {
			return false, errors.Join(err, ierr)
		}
		attached, listed = attached[:0], len(eps)
		for _, ep := range eps {
			if ep.key != ingressSandbox {
				if _, cerr := d.Run("container", "inspect", "--format", "{{.Id}}", ep.key); cerr == nil || !dockercli.IsNotFound(cerr) {
					attached = append(attached, ep.name)
					continue
				}
			}
			// By the container's ID (no container has it any more), so
			// that no live container of the same name is taken off; the
			// ingress sandbox by its name. The engine may take it off at
			// the same moment: an error here is looked at through the
			// next rm.
			target := ep.key
			if ep.key == ingressSandbox {
				target = ep.name
			}
			d.Run("network", "disconnect", "--force", name, target)
		}
		return false, err
	})
	switch {
	case err == nil:
		return nil
	case len(attached) > 0:
		return fmt.Errorf("%w; containers still attached to %s: %s", err, name, strings.Join(attached, ", "))
	case listed == 0:
		// The engine holds an endpoint it does not list: only a restart
		// of the daemon drops it, which a test does not do.
		return fmt.Errorf("%w; the engine lists no endpoint on %s", err, name)
	}
	return err
}

type endpoint struct{ key, name string }

// endpoints lists the network's endpoints: the key the engine gives
// each (a container ID, or ingress-sbox) and its name.
func endpoints(d *dockercli.CLI, network string) ([]endpoint, error) {
	out, err := d.Run("network", "inspect", "--format", "{{json .Containers}}", network)
	if err != nil {
		return nil, err
	}
	var m map[string]struct{ Name string }
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		return nil, fmt.Errorf("docker network inspect %s: %w", network, err)
	}
	var eps []endpoint
	for k, v := range m {
		eps = append(eps, endpoint{key: k, name: v.Name})
	}
	slices.SortFunc(eps, func(a, b endpoint) int { return strings.Compare(a.key, b.key) })
	return eps, nil
}
