package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/nuvla/nuvlagen/cmd/nuvlagen/internal/exit"
	"github.com/nuvla/nuvlagen/generator/firewall"
	"github.com/nuvla/nuvlagen/generator/pipeline"
)

func runFirewall(e *env, args []string) error {
	fs := pflag.NewFlagSet("firewall", pflag.ContinueOnError)
	sites := fs.StringArray("site", nil, "site `file` (repeatable; default: the embedded examples)")
	var q firewall.Question
	fs.StringVar(&q.From, "from", "", "source `address`, prefix (198.51.100.0/24) or node name")
	fs.StringVar(&q.To, "to", "", "destination `node`: its name or address")
	fs.StringVar(&q.Port, "port", "", "destination `port`, with /tcp (default) or /udp")
	if err, ok := parseFlags(e, fs, args); !ok {
		return err
	}
	if fs.NArg() == 0 || fs.Arg(0) != "query" {
		return e.usageErr("firewall", "want the subcommand \"query\"")
	}
	const prefix = "nuvlagen firewall query"
	if fs.NArg() > 1 {
		return e.usagef(prefix, "unexpected argument %q", fs.Arg(1))
	}
	if q.From == "" || q.To == "" || q.Port == "" {
		return e.usagef(prefix, "--from, --to and --port are required")
	}
	loaded, err := loadSites(e, *sites)
	if err != nil {
		return err
	}
	a, err := firewall.Ask(loaded, q)
	var qe *firewall.QuestionError
	switch {
	case errors.As(err, &qe):
		return e.usagef(prefix, "%s", qe.Msg)
	case err != nil:
		return &pipeline.InvalidError{Errs: []error{err}}
	}
	fmt.Fprint(e.stdout, a.Explain())
	if !a.Allowed() {
		return exit.Findings
	}
	return nil
}
