package cli

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/nuvla/nuvlagen/generator/firewall"
	"github.com/nuvla/nuvlagen/generator/site"
)

const firewallDoc = `Usage: nuvlagen firewall query [--site FILE.cue] --from IP --to NODE --port PORT[/tcp|/udp]

Answer from the firewall model whether a new connection from IP to NODE's
PORT is allowed: the rule that decides and where it is written, the other
rules that open the port to the source (overlaps), and the address groups
the source belongs to when it is in more than one. The answer holds for
the node's own services and for container ports Docker publishes on it.
With no --site, NODE is looked up in the embedded example sites.

Exit status: 0 allowed, 1 blocked or invalid site, 2 usage error.

Examples:
  nuvlagen firewall query --from 198.51.100.5 --to target-manager-1 --port 2377/tcp
  nuvlagen firewall query --site prod.cue --from 203.0.113.7 --to node-1 --port 9000
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

func runFirewall(e *env, args []string) int {
	if len(args) == 0 || args[0] != "query" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprint(e.stdout, firewallDoc)
			return ExitOK
		}
		fmt.Fprintf(e.stderr, "nuvlagen firewall: want the subcommand \"query\"\nRun \"nuvlagen help firewall\" for usage.\n")
		return ExitUsage
	}
	var f firewallQueryFlags
	fs := pflag.NewFlagSet("firewall", pflag.ContinueOnError)
	f.Bind(fs)
	if code, ok := parseFlags(e, fs, firewallDoc, args[1:]); !ok {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "nuvlagen firewall query: "+format+"\n", a...)
		return ExitUsage
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	if f.from == "" || f.to == "" || f.port == "" {
		return usageErr("--from, --to and --port are required")
	}
	from, err := netip.ParseAddr(f.from)
	if err != nil || !from.Is4() {
		return usageErr("--from %q: want an IPv4 address", f.from)
	}
	port, proto, err := parsePort(f.port)
	if err != nil {
		return usageErr("--port %q: %v", f.port, err)
	}
	sites, ok := loadSites(e, f.sites)
	if !ok {
		return ExitInvalid
	}
	var s *site.Site
	for _, c := range sites {
		if _, ok := c.Node(f.to); ok {
			s = c
			break
		}
	}
	if s == nil {
		return usageErr("no site has a node %q", f.to)
	}
	rs, err := firewall.Compile(s)
	if err != nil {
		printErr(e, err)
		return ExitInvalid
	}
	d, err := rs.Query(from, f.to, proto, port)
	if err != nil {
		return usageErr("%v", err)
	}
	w := func(format string, a ...any) { fmt.Fprintf(e.stdout, format, a...) }
	verdict := "blocked"
	if d.Allowed {
		verdict = "allowed"
	}
	w("%s: %s -> %s %d/%s (site %s)\n", verdict, from, f.to, port, proto, s.Name)
	if len(d.Classes) == 0 {
		w("  source: in no address group\n")
	} else {
		var cls []string
		for _, c := range d.Classes {
			cls = append(cls, fmt.Sprintf("%s (%s)", c, prefixes(rs.Groups[c])))
		}
		w("  source: %s\n", strings.Join(cls, ", "))
	}
	if len(d.Classes) > 1 {
		w("  note: the source is in %d overlapping groups: %s\n", len(d.Classes), strings.Join(d.Classes, ", "))
	}
	switch {
	case d.Allowed:
		w("  rule: %s\n", describe(d.Rule))
		for _, r := range d.Also {
			w("  also (overlapping): %s\n", describe(&r))
		}
	case d.Port:
		n, _ := rs.Node(f.to)
		for _, r := range n.Rules {
			if r.Proto == proto && r.Allows(port) {
				w("  not from here: %s\n", describe(&r))
			}
		}
	default:
		w("  no rule opens %d/%s on %s: new connections are dropped\n", port, proto, f.to)
	}
	if d.Allowed {
		return ExitOK
	}
	return ExitInvalid
}

func describe(r *firewall.Rule) string {
	return fmt.Sprintf("%s (%s: %s/%s from %s) at %s", r.Name, r.Service, r.PortList(), r.Proto, strings.Join(r.From, ", "), r.Pos)
}

func prefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

// parsePort reads "2377/tcp", "53/udp" or "80" (TCP).
func parsePort(s string) (int, string, error) {
	num, proto, found := strings.Cut(s, "/")
	if !found {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return 0, "", fmt.Errorf("protocol %q: want tcp or udp", proto)
	}
	port, err := strconv.Atoi(num)
	if err != nil || port < 1 || port > 65535 {
		return 0, "", fmt.Errorf("want a port number from 1 to 65535")
	}
	return port, proto, nil
}
