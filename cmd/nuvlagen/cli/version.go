package cli

import (
	"fmt"

	"github.com/nuvla/nuvlagen/cmd/nuvlagen/internal/buildinfo"
)

func runVersion(e *env, args []string) error {
	fmt.Fprintf(e.stdout, "nuvlagen %s\n", buildinfo.String())
	return nil
}
