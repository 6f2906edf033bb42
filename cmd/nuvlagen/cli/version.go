package cli

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/nuvla/nuvlagen/cmd/nuvlagen/internal/buildinfo"
)

func runVersion(e *env, args []string) error {
	fs := pflag.NewFlagSet("version", pflag.ContinueOnError)
	if err, ok := parseFlags(e, fs, args); !ok {
		return err
	}
	if fs.NArg() > 0 {
		return e.usageErr("version", "unexpected argument %q", fs.Arg(0))
	}
	fmt.Fprintf(e.stdout, "nuvlagen %s\n", buildinfo.String())
	return nil
}
