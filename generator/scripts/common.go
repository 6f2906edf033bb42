// Package scripts renders the shell scripts of a site: deploy.sh,
// teardown.sh and verify.sh, run on a Swarm manager, and prepare/<node>.sh,
// run as root on a node before the first deployment. They are written with package
// shell, the only way a value reaches a script; their fixed parts are the
// libraries in lib/, real .sh files that shellcheck reads as sources.
package scripts

import (
	"embed"

	"github.com/nuvla/nuvlagen/generator/compose"
	"github.com/nuvla/nuvlagen/generator/shell"
)

//go:embed lib/*.sh
var libs embed.FS

// newScript starts a script with the header naming source.
func newScript(source string) *shell.Script { return shell.New(compose.Header(source)) }

// dryRunDoc explains the dry-run trace, in every script's header.
const dryRunDoc = `#
# Every command that changes something is printed with "+ " before it runs.
# --dry-run prints the plan and runs nothing: the commands that would only
# read state are printed with "? " and answered as described above.
`
