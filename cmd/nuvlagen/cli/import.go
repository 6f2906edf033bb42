package cli

import (
	"errors"

	"github.com/spf13/pflag"

	"github.com/nuvla/nuvlagen/cmd/nuvlagen/internal/exit"
	"github.com/nuvla/nuvlagen/generator/swarmimport"
)

func runImport(e *env, args []string) error {
	var opts swarmimport.Options
	fs := pflag.NewFlagSet("import", pflag.ContinueOnError)
	host := fs.String("host", "", "the Docker Engine API's `URL` (default: $DOCKER_HOST, or the default socket)")
	fs.StringVar(&opts.File, "out", "", "write the site file to `FILE` (default: standard output)")
	fs.StringVar(&opts.SiteName, "site-name", "", "the site's `name` (default: from its domain)")
	if err, ok := parseFlags(e, fs, args); !ok {
		return err
	}
	if fs.NArg() != 0 {
		return e.usageErr("import", "want no arguments, got %q", fs.Args())
	}
	c, err := swarmimport.Connect(*host)
	if err != nil {
		return e.usageErr("import", "--host: %v", err)
	}
	defer c.Close()
	ctx, stop := exit.Interruptible()
	defer stop()
	r, err := swarmimport.Import(ctx, c, opts)
	if r == nil {
		return err
	}
	return errors.Join(err, swarmimport.Save(r, e.abs(opts.File), e.stdout), swarmimport.Write(e.stderr, r))
}
