package site

// The sites of a Nuvla deployment: a host site and the target sites that
// name it. Link derives what crosses sites (the addresses a target admits
// Nuvla from, the endpoints the host registers) and checks what the sites
// alone can tell (collisions); generator/deployment checks the firewalls.

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"cuelang.org/go/cue/errors"
)

// DockerAPIPort is where a target manager's Docker API listens, over TLS
// with client verification.
const DockerAPIPort = 2376

// Deployment is a host site and the targets that name it.
type Deployment struct {
	Host    *Site
	Targets []*Site // by name
}

// Linked says whether any of sites belongs to a deployment: a target that
// names its host. Only then must the sites be loaded together.
func Linked(s *Site) bool { return s.Kind == KindTarget && s.Host != "" }

// LinkDeployments finds the deployments among sites, sets each member's Link (and a
// target's Groups.Nuvla when its file leaves it out), and checks them.
// Sites on their own are left as they are. The error lists every problem
// of every deployment, each positioned in the file to edit; with it come
// the deployments that did link.
func LinkDeployments(sites []*Site) ([]*Deployment, error) {
	byName := map[string]*Site{}
	for _, s := range sites {
		byName[s.Name] = s
	}
	var errs errors.Error
	deps := map[string]*Deployment{}
	for _, t := range sites {
		if !Linked(t) {
			continue
		}
		h, ok := byName[t.Host]
		switch {
		case !ok:
			errs = errors.Append(errs, errors.Newf(t.Pos("host"),
				"site %s: host %q is not a site given with it, nor one in a .cue file beside it", t.Name, t.Host))
			continue
		case h.Kind != KindHost:
			errs = errors.Append(errs, errors.Newf(t.Pos("host"),
				"site %s: host %q is a %s site, not a host site", t.Name, t.Host, h.Kind))
			continue
		}
		d := deps[h.Name]
		if d == nil {
			d = &Deployment{Host: h}
			deps[h.Name] = d
		}
		d.Targets = append(d.Targets, t)
	}
	var out []*Deployment
	for _, name := range slices.Sorted(maps.Keys(deps)) {
		d := deps[name]
		slices.SortFunc(d.Targets, func(a, b *Site) int { return strings.Compare(a.Name, b.Name) })
		if err := d.link(); err != nil {
			errs = errors.Append(errs, errors.Promote(err, ""))
			continue
		}
		out = append(out, d)
	}
	if errs != nil {
		// The deployments that linked, for checks that must still run
		// on them (the firewalls: a problem of one deployment must not
		// hide another's).
		return out, errs
	}
	return out, nil
}

// Connectors returns the host's nodes that connect to its targets: the
// nodes the services of host.Clients may run on.
func Connectors(host *Site) ([]Connector, error) {
	byNode := map[string]*Connector{}
	for _, c := range host.Clients {
		constraints, ok := host.ServiceConstraints(c.Stack, c.Service)
		if !ok {
			return nil, fmt.Errorf("site %s: the model names client %s of stack %s, which the stack does not run", host.Name, c.Service, c.Stack)
		}
		for _, n := range host.NodesSatisfying(constraints) {
			k := byNode[n.Name]
			if k == nil {
				k = &Connector{Node: n.Name, Address: n.Address}
				byNode[n.Name] = k
			}
			k.Services = append(k.Services, c.Service)
			for _, p := range c.Ports {
				if !slices.Contains(k.Ports, p) {
					k.Ports = append(k.Ports, p)
				}
			}
		}
	}
	var out []Connector
	for _, name := range slices.Sorted(maps.Keys(byNode)) {
		k := byNode[name]
		slices.Sort(k.Services)
		slices.Sort(k.Ports)
		out = append(out, *k)
	}
	return out, nil
}

// Sources are the prefixes a target admits its host from: the host's
// egress when its file gives one, or else its connectors' addresses.
func Sources(host *Site, connectors []Connector) []netip.Prefix {
	if host.Egress != nil {
		return slices.Clone(host.Egress)
	}
	var out []netip.Prefix
	for _, c := range connectors {
		p := netip.PrefixFrom(c.Address, c.Address.BitLen())
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	return out
}

func (d *Deployment) link() error {
	h := d.Host
	connectors, err := Connectors(h)
	if err != nil {
		return err
	}
	sources := Sources(h, connectors)
	var errs errors.Error
	errs = errors.Append(errs, d.collisions())
	hostLink := &Link{Host: h.Name, HostDomain: h.Domain, Connectors: connectors}
	for _, t := range d.Targets {
		if len(t.Groups.Nuvla) == 0 {
			t.Groups.Nuvla = slices.Clone(sources)
			t.NuvlaDerived = true
		}
		edge, _ := t.Node(t.Edge)
		hostLink.Targets = append(hostLink.Targets, Peer{
			Name:           t.Name,
			Manager:        edge.Name,
			ManagerAddress: edge.Address,
			DockerEndpoint: fmt.Sprintf("https://%s:%d", edge.Address, DockerAPIPort),
			S3Endpoint:     "https://" + t.S3Domain,
		})
		t.Link = &Link{Host: h.Name, HostDomain: h.Domain, Connectors: connectors}
	}
	if errs != nil {
		return errs
	}
	h.Link = hostLink
	return nil
}

// collisions finds what two sites of the deployment must not share: a
// domain (the host's, a target's, a target's S3 domain) or a node
// address.
func (d *Deployment) collisions() errors.Error {
	var errs errors.Error
	type owner struct {
		s    *Site
		path []string
	}
	domains := map[string]owner{}
	addrs := map[netip.Addr]owner{}
	for _, s := range append([]*Site{d.Host}, d.Targets...) {
		claim := func(domain string, path ...string) {
			if prev, ok := domains[domain]; ok && prev.s != s {
				errs = errors.Append(errs, errors.Newf(s.Pos(path...),
					"site %s: %s %s is also site %s's (%s): each site of a deployment needs its own",
					s.Name, strings.Join(path, "."), domain, prev.s.Name, strings.Join(prev.path, ".")))
				return
			}
			domains[domain] = owner{s, path}
		}
		claim(s.Domain, "domain")
		if s.S3Domain != "" {
			claim(s.S3Domain, "minio", "s3Domain")
		}
		for _, n := range s.Nodes {
			path := []string{"nodes", n.Name, "address"}
			if prev, ok := addrs[n.Address]; ok && prev.s != s {
				errs = errors.Append(errs, errors.Newf(s.Pos(path...),
					"site %s: node %s has address %s, as does %s of site %s: the firewalls could not tell them apart",
					s.Name, n.Name, n.Address, prev.path[1], prev.s.Name))
				continue
			}
			addrs[n.Address] = owner{s, path}
		}
	}
	return errs
}

// NodeAddress finds a node by name among sites and the host nodes that
// connect to the linked ones: the first site that has it, in order.
func NodeAddress(sites []*Site, name string) (netip.Addr, bool) {
	for _, s := range sites {
		if n, ok := s.Node(name); ok {
			return n.Address, true
		}
	}
	for _, s := range sites {
		if s.Link == nil {
			continue
		}
		for _, c := range s.Link.Connectors {
			if c.Node == name {
				return c.Address, true
			}
		}
	}
	return netip.Addr{}, false
}

// DeploymentOf is the deployment s belongs to among linked sites, nil
// when it stands alone.
func DeploymentOf(sites []*Site, s *Site) *Deployment {
	host := s.Name
	if s.Kind == KindTarget {
		if s.Link == nil {
			return nil
		}
		host = s.Link.Host
	}
	d := &Deployment{}
	for _, x := range sites {
		switch {
		case x.Name == host && x.Kind == KindHost:
			d.Host = x
		case x.Link != nil && x.Kind == KindTarget && x.Link.Host == host:
			d.Targets = append(d.Targets, x)
		}
	}
	if d.Host == nil || len(d.Targets) == 0 {
		return nil
	}
	return d
}

// OneDeployment is the deployment all sites make up, if they do.
func OneDeployment(sites []*Site) *Deployment {
	for _, s := range sites {
		if s.Kind == KindHost {
			if d := DeploymentOf(sites, s); d != nil && len(d.Targets)+1 == len(sites) {
				return d
			}
		}
	}
	return nil
}
