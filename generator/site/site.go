// Package site loads site descriptions: CUE files unified with the embedded
// Nuvla model, checked, and decoded into typed Go values.
package site

import (
	"cmp"
	"encoding/json"
	"net/netip"
	"slices"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/token"
)

// Kinds of site.
const (
	KindHost   = "host"
	KindTarget = "target"
)

// Minio's storage modes (cue/minio.cue #MinioStorage): plain files per
// object, which users' containers read over NFS, or Minio's own format.
const (
	StorageFS = "fs"
	StorageXL = "xl"
)

// Site is one Swarm cluster, decoded from the model.
type Site struct {
	Name           string
	Kind           string
	Domain         string
	TLS            TLS
	Nodes          []Node // sorted by name
	Groups         Groups
	Networks       Networks
	EphemeralPorts PortRange
	NFS            *NFS // target sites only
	S3Domain       string
	// Edge is the manager that runs Traefik: where the site's domains
	// point, and the target manager Nuvla drives.
	Edge string
	// Host is, on a target site, the host site that drives it ("" for a
	// target on its own).
	Host string
	// NuvlaDerived says that the target's Groups.Nuvla is not in its file
	// and comes from its host (site.LinkDeployments sets it).
	NuvlaDerived bool
	// Egress is, on a host site, where its connections to targets come
	// from, when the file says so (NAT); nil: the nodes of Clients.
	Egress []netip.Prefix
	// Clients are, on a host site, the services that connect to targets
	// (sorted by service name).
	Clients []Client
	// Link places the site in its deployment (LinkDeployments); nil for
	// a site on its own.
	Link         *Link
	MinioStorage string // target sites only: StorageFS or StorageXL
	Images       map[string]string
	Secrets      []Secret // sorted by name
	// LocalSecrets are files of the secrets directory that no stack
	// mounts (no Docker secret): read by nuvlagen itself (configure).
	LocalSecrets []Secret   // sorted by name
	Variables    []Variable // sorted by name
	Sysctls      []Sysctl   // sorted by key
	// Firewall is the site's firewall section; nil when the model has
	// none (another revision's, for nuvlagen diff --base).
	Firewall *Firewall
	// Stacks are in deployment order.
	Stacks []Stack
	// SMTP, SupportEmail and Snapshots are, on a host site, what
	// nuvlagen configure sets in the running Nuvla; nil or "": not
	// configured.
	SMTP         *SMTP
	SupportEmail string
	Snapshots    *Snapshots
	// Streams is, on a host site, whether it runs the streams stack
	// (cue/streams.cue): Kafka, ksqlDB and the notification services;
	// off, Nuvla sends no notifications. Zero on a target site.
	Streams Streams

	// value is the unified CUE value, kept for positions (Pos).
	value cue.Value
	// File is the site's source file as given, for headers and messages.
	File string
	// start is the first position of File: where an error about a field
	// the file does not set at all points.
	start token.Pos
}

// Streams says whether a host site runs the streams stack, and on which
// node type (the nodes' `type` label) Kafka and ksqlDB run.
type Streams struct {
	Enabled  bool   `json:"enabled"`
	NodeType string `json:"nodeType"`
}

// TLS selects Traefik's certificate source.
type TLS struct {
	Mode  string `json:"mode"`
	Email string `json:"email,omitempty"`
}

// Node is one Swarm node.
type Node struct {
	Name      string
	Address   netip.Addr
	Role      string
	Labels    map[string]string
	NFSServer bool
}

// Client is a service of a host site that opens connections to its
// targets: the target ports it connects to.
type Client struct {
	Service string
	Stack   string
	Ports   []int
}

// Groups are the address classes the firewall tables use.
type Groups struct {
	Management []netip.Prefix
	Users      []netip.Prefix
	Nuvla      []netip.Prefix // target sites only
}

// Networks names the shared overlay networks.
type Networks struct {
	Public  string `json:"public"`
	Backend string `json:"backend"`
}

// PortRange is an inclusive port range.
type PortRange struct {
	From int `json:"from"`
	To   int `json:"to"`
}

// NFS describes the share of a target site.
type NFS struct {
	Share string `json:"share"`
	// Options are the exports(5) options for every cluster node.
	Options []string `json:"options"`
	Ports   NFSPorts `json:"ports"`
	// Owner, Group and Mode (octal, e.g. "0755") are the share's on the server.
	Owner string `json:"owner"`
	Group string `json:"group"`
	Mode  string `json:"mode"`
}

// NFSPorts are the ports the NFS daemons listen on (TCP and UDP): the
// firewall opens them and the NFS server configuration pins them.
type NFSPorts struct {
	RPCBind int `json:"rpcbind"`
	NFSD    int `json:"nfsd"`
	Mountd  int `json:"mountd"`
	Statd   int `json:"statd"`
	Lockd   int `json:"lockd"`
}

// Sysctl is a kernel setting the nodes matching Constraints need.
type Sysctl struct {
	Key         string
	Value       string   `json:"value"`
	Constraints []string `json:"constraints"`
}

// Secret is a Docker secret the site's stacks mount.
type Secret struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Purpose string `json:"purpose"`
}

// Variable is a value the deploy environment must provide.
type Variable struct {
	Name    string `json:"name"`
	Purpose string `json:"purpose"`
	// Fixed is a value that must never change once deployed: deploy.sh
	// refuses a value other than the running services'.
	Fixed bool `json:"fixed"`
}

// Firewall is the site's firewall tables (cue/firewall.cue): named ports
// and the rules that open them to source classes.
type Firewall struct {
	Ports map[string]FirewallPort
	Rules map[string]FirewallRule
	// OpenToWorld names the rules that may open sensitive ports beyond
	// what the ports allow.
	OpenToWorld []string
	// SensitiveNumbers are port numbers sensitive whatever the port that
	// opens them is called, by name.
	SensitiveNumbers map[string]SensitiveNumber
}

// FirewallPort is one port, or an inclusive range, of firewall.ports.
type FirewallPort struct {
	From int
	To   int // the end of a range; 0 for a single port
	// Protocols are "tcp" and "udp", in the model's order.
	Protocols []string
	// Sensitive marks a port only the classes of Allowed may be opened to
	// (Allowed may be empty: to none).
	Sensitive bool
	Allowed   []string
	// Pos is where the port is written: in the site file if it is there,
	// else where the model defines it.
	Pos token.Pos
}

// FirewallRule opens named ports to classes of sources.
type FirewallRule struct {
	Service string
	Ports   []string // keys of Firewall.Ports
	From    []string // classes
	Nodes   string   // "all" or "managers"
	Except  []string // keys of Firewall.Ports carved out of Ports
	Fix     string   // why the rule departs from the seed; "" if it does not
	// Pos is where the rule is written: in the site file if it is there,
	// else where the model defines it.
	Pos token.Pos
}

// SensitiveNumber is a sensitive port number and the classes it may be
// opened to.
type SensitiveNumber struct {
	Port int      `json:"port"`
	From []string `json:"from"`
}

// Stack is one `docker stack deploy` unit.
type Stack struct {
	Name string
	// Role is the stack's key in the site's stackNames (traefik,
	// monitoring, db, core, minio): what it is, whatever it is called.
	Role string
	// Compose is the compose file as JSON, its fields in the model's order.
	Compose []byte
	// Files are the configuration files rendered next to the compose
	// file, by file name, sorted.
	Files []File
}

// File is a configuration file of a stack.
type File struct {
	Name string
	// Data is the file's content without a header: the model's data
	// encoded as YAML, its fields in the model's order, or, when Text,
	// the string the model gives as it is.
	Data []byte
	// Text says the model gives the file as a string (ksqlDB's
	// statements), not as data to encode.
	Text bool
}

// Node returns the node with the given name.
func (s *Site) Node(name string) (Node, bool) {
	i, ok := slices.BinarySearchFunc(s.Nodes, name, func(n Node, name string) int { return cmp.Compare(n.Name, name) })
	if !ok {
		return Node{}, false
	}
	return s.Nodes[i], true
}

// Pos returns the position of the field at path (selectors of the site
// value) in the site's own file. A field the file does not set (a default,
// or a missing required field) has no position there: the nearest
// enclosing field the file does set stands in for it, so every error
// points into the file the operator has to edit.
func (s *Site) Pos(path ...string) token.Pos {
	for n := len(path); n >= 0; n-- {
		sel := make([]cue.Selector, n)
		for i, p := range path[:n] {
			sel[i] = cue.Str(p)
		}
		if p := posIn(s.value.LookupPath(cue.MakePath(sel...)), s.File); p.IsValid() {
			return p
		}
	}
	if s.start.IsValid() {
		return s.start
	}
	return s.value.Pos()
}

// posIn finds a position of v that lies in file: v's own, or else the
// first of its conjuncts', depth first. It stops at the first: listing a
// value's conjuncts (Value.Expr) evaluates them again.
func posIn(v cue.Value, file string) token.Pos {
	if p := v.Pos(); p.IsValid() && p.Filename() == file {
		return p
	}
	if op, args := v.Expr(); op == cue.AndOp {
		for _, a := range args {
			if p := posIn(a, file); p.IsValid() {
				return p
			}
		}
	}
	return token.NoPos
}

// Connector is a node of a host site that opens connections to the
// site's targets: the services on it that do, and the target ports.
type Connector struct {
	Node     string
	Address  netip.Addr
	Services []string
	Ports    []int
}

// Peer is a target as its host knows it (site.LinkDeployments sets it).
type Peer struct {
	Name string
	// Manager is the target's edge manager: Nuvla drives the Swarm
	// through its Docker API.
	Manager        string
	ManagerAddress netip.Addr
	// DockerEndpoint and S3Endpoint are the URLs Nuvla registers.
	DockerEndpoint, S3Endpoint string
}

// Link is where a site stands in its deployment, set by deployment.Link
// on the sites of a deployment; nil on a site on its own.
type Link struct {
	// Host is the host site's name, and HostDomain its domain (where
	// Nuvla's API is).
	Host, HostDomain string
	// Connectors are the host's nodes that connect to its targets.
	Connectors []Connector
	// Targets are, on the host, the targets it drives, by name.
	Targets []Peer
}

// ServiceConstraints returns the placement constraints of a service of
// one of the site's stacks, and whether the service exists.
func (s *Site) ServiceConstraints(stack, service string) ([]string, bool) {
	for _, st := range s.Stacks {
		if st.Name != stack {
			continue
		}
		var c struct {
			Services map[string]struct {
				Deploy struct {
					Placement struct {
						Constraints []string `json:"constraints"`
					} `json:"placement"`
				} `json:"deploy"`
			} `json:"services"`
		}
		if err := json.Unmarshal(st.Compose, &c); err != nil {
			return nil, false
		}
		svc, ok := c.Services[service]
		return svc.Deploy.Placement.Constraints, ok
	}
	return nil, false
}
