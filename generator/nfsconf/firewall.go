package nfsconf

import (
	"fmt"
	"slices"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/errors"

	"github.com/nuvla/nuvlagen/generator/site"
)

// CheckFirewallModel compares a target site's NFS ports with the port
// table of its firewall model, firewall.ports, when the site has one:
// every NFS port must be there under its name (rpcbind, nfsd, mountd,
// statd, lockd), as that single port, for TCP and UDP. The firewall and
// the NFS configuration are rendered from the same site, so this is the
// check that they agree; it reads the CUE data and needs no firewall code.
func CheckFirewallModel(s *site.Site) error {
	if s.NFS == nil {
		return nil
	}
	table := s.Value.LookupPath(cue.ParsePath("firewall.ports"))
	if !table.Exists() {
		return nil
	}
	return checkPortTable(s.NFS.Ports, table)
}

// portEntry is one row of the firewall's port table.
type portEntry struct {
	From      int      `json:"from"`
	To        *int     `json:"to"`
	Protocols []string `json:"protocols"`
}

func checkPortTable(p site.NFSPorts, table cue.Value) error {
	var errs errors.Error
	for _, port := range Ports(p) {
		v := table.LookupPath(cue.MakePath(cue.Str(port.Name)))
		if !v.Exists() {
			errs = errors.Append(errs, errors.Newf(table.Pos(), "firewall.ports has no %s: the NFS configuration pins %s to %d (tcp and udp), so the firewall must open it to the cluster", port.Name, port.Name, port.Port))
			continue
		}
		var e portEntry
		if err := v.Decode(&e); err != nil {
			errs = errors.Append(errs, errors.Newf(v.Pos(), "firewall.ports.%s: %v", port.Name, err))
			continue
		}
		var problems []string
		if e.From != port.Port || (e.To != nil && *e.To != port.Port) {
			r := fmt.Sprint(e.From)
			if e.To != nil {
				r = fmt.Sprintf("%d-%d", e.From, *e.To)
			}
			problems = append(problems, fmt.Sprintf("opens %s where the NFS configuration pins %d", r, port.Port))
		}
		for _, proto := range []string{"tcp", "udp"} {
			if !slices.Contains(e.Protocols, proto) {
				problems = append(problems, "lacks "+proto)
			}
		}
		for _, pr := range problems {
			errs = errors.Append(errs, errors.Newf(v.Pos(), "firewall.ports.%s %s (nfs.ports.%s)", port.Name, pr, port.Name))
		}
	}
	if errs != nil {
		return errs
	}
	return nil
}
