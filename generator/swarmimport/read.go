// Package swarmimport adopts a running Swarm: it reads what the Docker
// Engine API tells of the nodes, services, networks, secrets and configs
// (Read), writes the site file they suggest through CUE's syntax tree and
// printer (Build), and says what deploying that site would change in the
// Swarm (Compare), with the same differ nuvlagen diff uses.
package swarmimport

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// stackLabel is the label docker stack deploy puts on what it creates.
const stackLabel = "com.docker.stack.namespace"

// Snapshot is what import reads of a Swarm, sorted by name.
type Snapshot struct {
	Nodes    []Node
	Services []Service
	Networks []Network
	Secrets  []string
	Configs  []string
}

// Node is one Swarm node.
type Node struct {
	Hostname string
	// Addr is the address the node is reached at: a manager's
	// ManagerStatus.Addr (without its port), else Status.Addr.
	Addr   string
	Role   string
	Labels map[string]string
}

// Service is one Swarm service, as its spec says.
type Service struct {
	// Name is the service's name in the Swarm; Stack its
	// com.docker.stack.namespace ("" outside a stack) and Short its name
	// in the stack's compose file.
	Name, Stack, Short string
	Image              string
	// Global is true for a service on every node; Replicas is the count
	// of a replicated one.
	Global   bool
	Replicas uint64
	// Networks are the names of the networks it is attached to.
	Networks []string
	// Constraints are its placement constraints.
	Constraints []string
	// Env is its environment, "NAME=value": values may be secrets, and
	// are never printed (Compare says only whether they differ).
	Env []string
	// Labels are the service's labels (a compose file's deploy.labels).
	Labels map[string]string
}

// Network is an overlay network; Stack is set when a stack created it.
type Network struct {
	Name, Stack string
}

// Read asks the engine behind c for its Swarm's objects.
func Read(ctx context.Context, c client.APIClient) (*Snapshot, error) {
	s := &Snapshot{}
	nodes, err := c.NodeList(ctx, client.NodeListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing the Swarm's nodes: %w", err)
	}
	for _, n := range nodes.Items {
		s.Nodes = append(s.Nodes, node(n))
	}
	nets, err := c.NetworkList(ctx, client.NetworkListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing networks: %w", err)
	}
	names := map[string]string{} // ID → name, for the services' attachments
	for _, n := range nets.Items {
		names[n.ID] = n.Name
		if n.Scope == "swarm" && n.Driver == "overlay" && !n.Ingress {
			s.Networks = append(s.Networks, Network{Name: n.Name, Stack: n.Labels[stackLabel]})
		}
	}
	svcs, err := c.ServiceList(ctx, client.ServiceListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing services: %w", err)
	}
	for _, v := range svcs.Items {
		s.Services = append(s.Services, service(v, names))
	}
	secrets, err := c.SecretList(ctx, client.SecretListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing secrets: %w", err)
	}
	for _, v := range secrets.Items {
		s.Secrets = append(s.Secrets, v.Spec.Name)
	}
	configs, err := c.ConfigList(ctx, client.ConfigListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing configs: %w", err)
	}
	for _, v := range configs.Items {
		s.Configs = append(s.Configs, v.Spec.Name)
	}
	slices.SortFunc(s.Nodes, func(a, b Node) int { return cmp.Compare(a.Hostname, b.Hostname) })
	slices.SortFunc(s.Services, func(a, b Service) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(s.Networks, func(a, b Network) int { return cmp.Compare(a.Name, b.Name) })
	slices.Sort(s.Secrets)
	slices.Sort(s.Configs)
	return s, nil
}

func node(n swarm.Node) Node {
	out := Node{Hostname: n.Description.Hostname, Addr: n.Status.Addr, Role: string(n.Spec.Role), Labels: n.Spec.Labels}
	// A manager's Status.Addr can be 0.0.0.0 (it listens on every
	// address); the address it advertises to the Swarm is its own.
	if n.ManagerStatus != nil && n.ManagerStatus.Addr != "" {
		if host, _, err := net.SplitHostPort(n.ManagerStatus.Addr); err == nil {
			out.Addr = host
		}
	}
	return out
}

func service(v swarm.Service, networks map[string]string) Service {
	out := Service{Name: v.Spec.Name, Stack: v.Spec.Labels[stackLabel], Labels: v.Spec.Labels}
	out.Short = out.Name
	if out.Stack != "" {
		out.Short = strings.TrimPrefix(out.Name, out.Stack+"_")
	}
	if cs := v.Spec.TaskTemplate.ContainerSpec; cs != nil {
		out.Image, out.Env = cs.Image, cs.Env
	}
	if p := v.Spec.TaskTemplate.Placement; p != nil {
		out.Constraints = slices.Sorted(slices.Values(p.Constraints))
	}
	switch {
	case v.Spec.Mode.Global != nil:
		out.Global = true
	case v.Spec.Mode.Replicated != nil && v.Spec.Mode.Replicated.Replicas != nil:
		out.Replicas = *v.Spec.Mode.Replicated.Replicas
	}
	for _, a := range v.Spec.TaskTemplate.Networks {
		name := networks[a.Target]
		if name == "" {
			name = a.Target // stack deploy names networks by name, not ID
		}
		out.Networks = append(out.Networks, name)
	}
	slices.Sort(out.Networks)
	return out
}
