package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/nuvla/nuvlagen/cmd/nuvlagen/internal/exit"
	"github.com/nuvla/nuvlagen/generator/nuvlaapi"
)

func runConfigure(e *env, args []string) error {
	var c nuvlaapi.Configuration
	fs := pflag.NewFlagSet("configure", pflag.ContinueOnError)
	fs.StringVar(&c.Secrets, "secrets", "", "the deployment's secrets `directory`, a subdirectory per site")
	fs.StringVar(&c.Endpoint, "endpoint", "", "Nuvla's `URL` (default: https://DOMAIN, the site's)")
	fs.StringVar(&c.CACert, "cacert", "", "PEM `file` of certificates to trust for the endpoint, besides the system's")
	fs.BoolVar(&c.DryRun, "dry-run", false, "print the requests, secrets left out, and send none")
	if err, ok := parseFlags(e, fs, args); !ok {
		return err
	}
	if fs.NArg() != 1 || c.Secrets == "" {
		return e.usageErr("configure", "want --secrets and one directory, out/HOST/configure")
	}
	c.Dir, c.Secrets, c.CACert = e.abs(fs.Arg(0)), e.abs(c.Secrets), e.abs(c.CACert)
	ctx, stop := exit.Interruptible()
	defer stop()
	name, err := nuvlaapi.RunConfigure(ctx, c, e.stdout) // a line per object
	if usage := (*nuvlaapi.UsageError)(nil); errors.As(err, &usage) {
		return e.usagef("nuvlagen configure", "%v", err)
	} else if err != nil {
		fmt.Fprintf(e.stderr, "nuvlagen configure: %v\n", err)
		return exit.Findings
	} else if !c.DryRun {
		fmt.Fprintf(e.stdout, "site %s is configured\n", name)
	}
	return nil
}
