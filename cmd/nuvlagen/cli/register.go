package cli

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/nuvla/nuvlagen/cmd/nuvlagen/internal/exit"
	"github.com/nuvla/nuvlagen/generator/nuvlaapi"
	"github.com/nuvla/nuvlagen/generator/registration"
)

type registerFlags struct {
	secrets, host, endpoint, cacert string
	dryRun                          bool
}

func (f *registerFlags) Bind(fs *pflag.FlagSet) {
	fs.StringVar(&f.secrets, "secrets", "", "the deployment's secrets `directory`, a subdirectory per site")
	fs.StringVar(&f.host, "host", "", "the host site's `name` (its secrets hold Nuvla's)")
	fs.StringVar(&f.endpoint, "endpoint", "", "Nuvla's `URL`, https://DOMAIN")
	fs.StringVar(&f.cacert, "cacert", "", "PEM `file` of certificates to trust for the endpoint, besides the system's")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print the requests, secrets left out, and send none")
}

func runRegister(e *env, args []string) error {
	var f registerFlags
	flags := pflag.NewFlagSet("register", pflag.ContinueOnError)
	f.Bind(flags)
	if err, ok := parseFlags(e, flags, args); !ok {
		return err
	}
	if flags.NArg() != 1 || f.secrets == "" || f.host == "" || f.endpoint == "" {
		return e.usageErr("register", "want --secrets, --host, --endpoint and one directory of documents")
	}
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(e.cwd, p)
	}
	hc, err := nuvlaapi.HTTPClient(abs(f.cacert))
	client, err2 := nuvlaapi.New(f.endpoint, hc) // hc nil: the default
	if err = errors.Join(err, err2); err != nil {
		return e.usagef("nuvlagen register", "%v", err)
	}
	docs, err := registration.ReadDir(abs(flags.Arg(0)))
	var plan *registration.Plan
	if err == nil {
		plan, err = registration.NewPlan(docs, abs(f.secrets), f.host)
	}
	if err == nil && f.dryRun {
		return nuvlaapi.DryRun(e.stdout, f.endpoint, plan)
	}
	if err == nil {
		ctx, stop := exit.Interruptible()
		defer stop()
		err = nuvlaapi.Apply(ctx, client, plan, func(r nuvlaapi.Result) { fmt.Fprintln(e.stdout, r) })
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "nuvlagen register: %v\n", err)
		return exit.Findings
	}
	fmt.Fprintf(e.stdout, "site %s is registered in %s\n", plan.Site, f.endpoint)
	return nil
}
