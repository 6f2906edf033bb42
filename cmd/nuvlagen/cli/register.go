package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/nuvla/nuvlagen/cmd/nuvlagen/internal/exit"
	"github.com/nuvla/nuvlagen/generator/nuvlaapi"
)

func runRegister(e *env, args []string) error {
	var r nuvlaapi.Registration
	fs := pflag.NewFlagSet("register", pflag.ContinueOnError)
	fs.StringVar(&r.Secrets, "secrets", "", "the deployment's secrets `directory`, a subdirectory per site")
	fs.StringVar(&r.Host, "host", "", "the host site's `name` (its secrets hold Nuvla's)")
	fs.StringVar(&r.Endpoint, "endpoint", "", "Nuvla's `URL`, https://DOMAIN")
	fs.StringVar(&r.CACert, "cacert", "", "PEM `file` of certificates to trust for the endpoint, besides the system's")
	fs.BoolVar(&r.DryRun, "dry-run", false, "print the requests, secrets left out, and send none")
	if err, ok := parseFlags(e, fs, args); !ok {
		return err
	}
	if fs.NArg() != 1 || r.Secrets == "" || r.Host == "" || r.Endpoint == "" {
		return e.usageErr("register", "want --secrets, --host, --endpoint and one directory of documents")
	}
	r.Dir, r.Secrets, r.CACert = e.abs(fs.Arg(0)), e.abs(r.Secrets), e.abs(r.CACert)
	ctx, stop := exit.Interruptible()
	defer stop()
	name, err := nuvlaapi.Register(ctx, r, e.stdout)
	if usage := (*nuvlaapi.UsageError)(nil); errors.As(err, &usage) {
		return e.usagef("nuvlagen register", "%v", err)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "nuvlagen register: %v\n", err)
		return exit.Findings
	}
	if !r.DryRun {
		fmt.Fprintf(e.stdout, "site %s is registered in %s\n", name, r.Endpoint)
	}
	return nil
}
