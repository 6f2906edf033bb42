package cli

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/spf13/pflag"

	"github.com/nuvla/nuvlagen/cmd/nuvlagen/internal/exit"
	"github.com/nuvla/nuvlagen/generator/firewall"
	"github.com/nuvla/nuvlagen/generator/pipeline"
	"github.com/nuvla/nuvlagen/generator/site"
)

func runFirewall(e *env, args []string) error {
	if len(args) == 0 || args[0] != "query" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprint(e.stdout, help("firewall"))
			return nil
		}
		return e.usageErr("firewall", "want the subcommand \"query\"")
	}
	fs := pflag.NewFlagSet("firewall", pflag.ContinueOnError)
	sites := fs.StringArray("site", nil, "site `file` (repeatable; default: the embedded examples)")
	fromFlag := fs.String("from", "", "source `address`, or node name")
	to := fs.String("to", "", "destination `node` name")
	portFlag := fs.String("port", "", "destination `port`, with /tcp (default) or /udp")
	if err, ok := parseFlags(e, fs, args[1:]); !ok {
		return err
	}
	const prefix = "nuvlagen firewall query"
	if fs.NArg() > 0 {
		return e.usagef(prefix, "unexpected argument %q", fs.Arg(0))
	}
	if *fromFlag == "" || *to == "" || *portFlag == "" {
		return e.usagef(prefix, "--from, --to and --port are required")
	}
	port, proto, err := firewall.ParsePort(*portFlag)
	if err != nil {
		return e.usagef(prefix, "--port %q: %v", *portFlag, err)
	}
	loaded, err := loadSites(e, *sites)
	if err != nil {
		return err
	}
	from, err := netip.ParseAddr(*fromFlag)
	if err != nil {
		var ok bool
		if from, ok = site.NodeAddress(loaded, *fromFlag); !ok {
			return e.usagef(prefix, "--from %q: want an IPv4 address, or the name of a node of these sites or of their hosts", *fromFlag)
		}
	} else if !from.Is4() {
		return e.usagef(prefix, "--from %q: want an IPv4 address", *fromFlag)
	}
	i := slices.IndexFunc(loaded, func(s *site.Site) bool { _, ok := s.Node(*to); return ok })
	if i < 0 {
		return e.usagef(prefix, "no site has a node %q", *to)
	}
	rs, err := firewall.Compile(loaded[i])
	if err != nil {
		return &pipeline.InvalidError{Errs: []error{err}}
	}
	d, err := rs.Query(from, *to, proto, port)
	if err != nil {
		return e.usagef(prefix, "%v", err)
	}
	fmt.Fprint(e.stdout, d.Explain())
	if !d.Allowed {
		return exit.Findings
	}
	return nil
}
