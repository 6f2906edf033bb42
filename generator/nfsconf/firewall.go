package nfsconf

import (
	"fmt"
	"slices"

	"cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"

	"github.com/nuvla/nuvlagen/generator/site"
)

// CheckFirewallModel compares a target site's NFS ports with the port
// table of its firewall model, firewall.ports, when the site has one:
// every NFS port must be there under its name (rpcbind, nfsd, mountd,
// statd, lockd), as that single port, for TCP and UDP. The firewall and
// the NFS configuration are rendered from the same site, so this is the
// check that they agree; it reads the site's firewall data and needs no
// firewall code.
func CheckFirewallModel(s *site.Site) error {
	if s.NFS == nil || s.Firewall == nil || s.Firewall.Ports == nil {
		return nil
	}
	return checkPortTable(s.NFS.Ports, s.Firewall.Ports, func() token.Pos { return s.Pos("firewall", "ports") })
}

// checkPortTable compares p with table; pos is where the table is, for a
// port it lacks, looked up only then (a lookup costs more than the check).
func checkPortTable(p site.NFSPorts, table map[string]site.FirewallPort, pos func() token.Pos) error {
	var errs errors.Error
	for _, port := range Ports(p) {
		e, ok := table[port.Name]
		if !ok {
			errs = errors.Append(errs, errors.Newf(pos(), "firewall.ports has no %s: the NFS configuration pins %s to %d (tcp and udp), so the firewall must open it to the cluster", port.Name, port.Name, port.Port))
			continue
		}
		var problems []string
		if e.From != port.Port || (e.To != 0 && e.To != port.Port) {
			r := fmt.Sprint(e.From)
			if e.To != 0 {
				r = fmt.Sprintf("%d-%d", e.From, e.To)
			}
			problems = append(problems, fmt.Sprintf("opens %s where the NFS configuration pins %d", r, port.Port))
		}
		for _, proto := range []string{"tcp", "udp"} {
			if !slices.Contains(e.Protocols, proto) {
				problems = append(problems, "lacks "+proto)
			}
		}
		for _, pr := range problems {
			errs = errors.Append(errs, errors.Newf(e.Pos, "firewall.ports.%s %s (nfs.ports.%s)", port.Name, pr, port.Name))
		}
	}
	if errs != nil {
		return errs
	}
	return nil
}
