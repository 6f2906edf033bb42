package cli

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/spf13/pflag"

	"github.com/nuvla/nuvlagen/generator/firewall"
	"github.com/nuvla/nuvlagen/generator/pipeline"
	"github.com/nuvla/nuvlagen/generator/site"
)

const firewallDoc = `Usage: nuvlagen firewall query [--site FILE.cue] --from IP|NODE --to NODE --port PORT[/tcp|/udp]

Answer from the firewall model whether a new connection from IP to NODE's
PORT is allowed: the rule that decides and where it is written, the other
rules that open the port to the source (overlaps), and the address groups
the source belongs to when it is in more than one. The answer holds for
the node's own services and for container ports Docker publishes on it.
With no --site, NODE is looked up in the embedded example sites. --from
may name a node, of these sites or of the host site of a target among
them (a deployment's host, found beside the target's file).

Exit status: 0 allowed, 1 blocked or invalid site, 2 usage error.

Examples:
  nuvlagen firewall query --from 198.51.100.5 --to target-manager-1 --port 2377/tcp
  nuvlagen firewall query --site prod.cue --from 203.0.113.7 --to node-1 --port 9000
  nuvlagen firewall query --from host-worker-1 --to target-manager-1 --port 2376
`

type firewallQueryFlags struct {
	sites []string
	from  string
	to    string
	port  string
}

func (f *firewallQueryFlags) Bind(fs *pflag.FlagSet) {
	fs.StringArrayVar(&f.sites, "site", nil, "site `file` (repeatable; default: the embedded examples)")
	fs.StringVar(&f.from, "from", "", "source `address`")
	fs.StringVar(&f.to, "to", "", "destination `node` name")
	fs.StringVar(&f.port, "port", "", "destination `port`, with /tcp (default) or /udp")
}

func runFirewall(e *env, args []string) error {
	if len(args) == 0 || args[0] != "query" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprint(e.stdout, firewallDoc)
			return nil
		}
		return e.usageErr("firewall", "want the subcommand \"query\"")
	}
	var f firewallQueryFlags
	fs := pflag.NewFlagSet("firewall", pflag.ContinueOnError)
	f.Bind(fs)
	if err, ok := parseFlags(e, fs, firewallDoc, args[1:]); !ok {
		return err
	}
	const prefix = "nuvlagen firewall query"
	if fs.NArg() > 0 {
		return e.usagef(prefix, "unexpected argument %q", fs.Arg(0))
	}
	if f.from == "" || f.to == "" || f.port == "" {
		return e.usagef(prefix, "--from, --to and --port are required")
	}
	port, proto, err := firewall.ParsePort(f.port)
	if err != nil {
		return e.usagef(prefix, "--port %q: %v", f.port, err)
	}
	sites, err := loadSites(e, f.sites)
	if err != nil {
		return err
	}
	from, err := netip.ParseAddr(f.from)
	if err != nil {
		var ok bool
		if from, ok = site.NodeAddress(sites, f.from); !ok {
			return e.usagef(prefix, "--from %q: want an IPv4 address, or the name of a node of these sites or of their hosts", f.from)
		}
	} else if !from.Is4() {
		return e.usagef(prefix, "--from %q: want an IPv4 address", f.from)
	}
	i := slices.IndexFunc(sites, func(s *site.Site) bool { _, ok := s.Node(f.to); return ok })
	if i < 0 {
		return e.usagef(prefix, "no site has a node %q", f.to)
	}
	rs, err := firewall.Compile(sites[i])
	if err != nil {
		return &pipeline.InvalidError{Errs: []error{err}}
	}
	d, err := rs.Query(from, f.to, proto, port)
	if err != nil {
		return e.usagef(prefix, "%v", err)
	}
	fmt.Fprint(e.stdout, d.Explain())
	if !d.Allowed {
		return &printed{errFindings}
	}
	return nil
}
