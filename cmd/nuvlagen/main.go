// Command nuvlagen generates and checks Docker Swarm deployments of Nuvla.
package main

import (
	"os"

	"github.com/nuvla/nuvlagen/cmd/nuvlagen/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr)) }
