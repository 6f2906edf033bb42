package cli

import (
	"fmt"
	"runtime/debug"
)

// version is set at link time (-ldflags "-X ...cli.version=v1.2.3"); a
// plain `go build` reports the module version or "devel".
var version = ""

func runVersion(e *env, args []string) error {
	v := version
	if v == "" {
		v = "devel"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	fmt.Fprintf(e.stdout, "nuvlagen %s\n", v)
	return nil
}
