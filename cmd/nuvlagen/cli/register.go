package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/nuvla/nuvlagen/cmd/nuvlagen/internal/exit"
	"github.com/nuvla/nuvlagen/generator/nuvlaapi"
)

func runRegister(e *env, args []string) error {
	return runNuvla(e, "register", args, func(ctx context.Context, r nuvlaapi.Registration) (string, error) {
		return nuvlaapi.Register(ctx, r, e.stdout)
	}, "is registered in Nuvla")
}

func runConfigure(e *env, args []string) error {
	return runNuvla(e, "configure", args, func(ctx context.Context, r nuvlaapi.Registration) (string, error) {
		c := nuvlaapi.Configuration{Dir: r.Dir, Secrets: r.Secrets, Endpoint: r.Endpoint, CACert: r.CACert, DryRun: r.DryRun}
		return nuvlaapi.RunConfigure(ctx, c, e.stdout) // a line per object
	}, "is configured")
}

// runNuvla runs register or configure: both apply the documents of one
// directory of out/ to Nuvla's API, with the deployment's secrets.
func runNuvla(e *env, name string, args []string, apply func(context.Context, nuvlaapi.Registration) (string, error), done string) error {
	var r nuvlaapi.Registration
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.StringVar(&r.Secrets, "secrets", "", "the deployment's secrets `directory`, a subdirectory per site")
	if name == "register" {
		fs.StringVar(&r.Host, "host", "", "the host site's `name` (its secrets hold Nuvla's)")
	}
	fs.StringVar(&r.Endpoint, "endpoint", "", "Nuvla's `URL`, https://DOMAIN (configure: default the site's)")
	fs.StringVar(&r.CACert, "cacert", "", "PEM `file` of certificates to trust for the endpoint, besides the system's")
	fs.BoolVar(&r.DryRun, "dry-run", false, "print the requests, secrets left out, and send none")
	if err, ok := parseFlags(e, fs, args); !ok {
		return err
	}
	if name == "register" && (fs.NArg() != 1 || r.Secrets == "" || r.Host == "" || r.Endpoint == "") {
		return e.usageErr(name, "want --secrets, --host, --endpoint and one directory of documents")
	} else if fs.NArg() != 1 || r.Secrets == "" {
		return e.usageErr(name, "want --secrets and one directory, out/HOST/configure")
	}
	r.Dir, r.Secrets, r.CACert = e.abs(fs.Arg(0)), e.abs(r.Secrets), e.abs(r.CACert)
	ctx, stop := exit.Interruptible()
	defer stop()
	site, err := apply(ctx, r)
	if usage := (*nuvlaapi.UsageError)(nil); errors.As(err, &usage) {
		return e.usageErr(name, "%v", err)
	} else if err != nil {
		fmt.Fprintf(e.stderr, "nuvlagen %s: %v\n", name, err)
		return exit.Findings
	} else if !r.DryRun {
		fmt.Fprintf(e.stdout, "site %s %s\n", site, done)
	}
	return nil
}
