// Package deployment checks the sites of a Nuvla deployment together,
// once site.Link has linked them: each target's firewall must let its
// host's connections through.
package deployment

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"cuelang.org/go/cue/errors"

	"github.com/nuvla/nuvlagen/generator/firewall"
	"github.com/nuvla/nuvlagen/generator/site"
)

// Check checks every linked target of sites against its host; the error
// lists every connection a target's firewall would block, positioned in
// the target's file.
func Check(sites []*site.Site) error {
	byName := map[string]*site.Site{}
	for _, s := range sites {
		byName[s.Name] = s
	}
	var errs errors.Error
	for _, t := range sites {
		if t.Kind != site.KindTarget || t.Link == nil {
			continue
		}
		h, ok := byName[t.Link.Host]
		if !ok {
			continue
		}
		errs = errors.Append(errs, admits(h, t, t.Link.Connectors))
	}
	if errs != nil {
		return errs
	}
	return nil
}

// admits checks that the target's firewall lets every connection of its
// host through: each connector (or, behind NAT, each end of the host's
// egress) to the port it opens on the target's edge manager, where
// Traefik (443) and the registered Docker API (2376) are.
func admits(h, t *site.Site, connectors []site.Connector) errors.Error {
	rs, err := firewall.Compile(t)
	if err != nil {
		return errors.Promote(err, "")
	}
	type source struct {
		addr  netip.Addr
		who   string
		ports []int
		want  netip.Prefix // what groups.nuvla needs
	}
	var sources []source
	if h.Egress != nil {
		var ports []int
		for _, c := range connectors {
			for _, p := range c.Ports {
				if !slices.Contains(ports, p) {
					ports = append(ports, p)
				}
			}
		}
		slices.Sort(ports)
		for _, p := range h.Egress {
			sources = append(sources, source{p.Addr(), fmt.Sprintf("egress %s of host %s", p, h.Name), ports, p})
			if last := lastAddr(p); last != p.Addr() {
				sources = append(sources, source{last, fmt.Sprintf("egress %s of host %s", p, h.Name), ports, p})
			}
		}
	} else {
		for _, c := range connectors {
			sources = append(sources, source{c.Address, fmt.Sprintf("%s (%s) of host %s, which runs %s,", c.Node, c.Address, h.Name, strings.Join(c.Services, " and ")), c.Ports, netip.PrefixFrom(c.Address, c.Address.BitLen())})
		}
	}
	pos := t.Pos("groups", "nuvla")
	if t.NuvlaDerived {
		pos = t.Pos("host")
	}
	var errs errors.Error
	reported := map[string]bool{}
	for _, s := range sources {
		for _, port := range s.ports {
			dec, err := rs.Query(s.addr, t.Edge, "tcp", port)
			if err != nil {
				return errors.Promote(err, "")
			}
			if dec.Allowed {
				continue
			}
			if key := fmt.Sprint(s.who, port); reported[key] {
				continue // both ends of an egress range
			} else {
				reported[key] = true
			}
			fix := fmt.Sprintf("add %s to groups.nuvla", s.want)
			if t.NuvlaDerived {
				fix = "the site's firewall does not admit its nuvla group there: check firewall.rules"
			}
			errs = errors.Append(errs, errors.Newf(pos,
				"site %s: the firewall blocks %s from %s's %d/tcp: %s",
				t.Name, s.who, t.Edge, port, fix))
		}
	}
	return errs
}

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	bits := p.Bits()
	for i := range 4 {
		hostBits := max(0, min(8, 32-bits-8*(3-i)))
		a[i] |= byte(1<<hostBits - 1)
	}
	return netip.AddrFrom4(a)
}
