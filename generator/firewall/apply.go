package firewall

import (
	"embed"
	"fmt"
	"strings"

	"github.com/nuvla/nuvlagen/generator/shell"
)

// printApply renders apply.sh: it applies one node's rules with one backend,
// checking them first and, on request, rolling back unless confirmed. Its
// code is lib/apply.sh; what is generated is the site's nodes and this
// package's names, written as quoted shell values.
func printApply(header string, rs *Ruleset) []byte {
	w := shell.New(commentHeader(header))
	w.Comment(applyDoc, rs.Site)
	w.Text("set -euo pipefail\n\n")
	w.Array("table", strings.Fields(nftTable)...)
	w.Assign("jump", jumpComment)
	w.Assign("chain_input", chainInput)
	w.Assign("chain_published", chainPublished)
	names := make([]string, len(rs.Nodes))
	for i, n := range rs.Nodes {
		names[i] = n.Name
	}
	w.Array("node_names", names...)
	addresses := map[string]string{}
	for _, n := range rs.Nodes {
		addresses[n.Name] = n.Address.String()
	}
	w.Map("node_address", addresses)
	w.Library(libs, "lib/apply.sh")
	b, err := w.Bytes()
	if err != nil {
		// Node names are DNS labels (#NodeName) and addresses are
		// addresses: nothing here holds a NUL, the only value bash
		// cannot quote.
		panic(fmt.Sprintf("apply.sh: %v", err))
	}
	return b
}

//go:embed lib/*.sh
var libs embed.FS

// applyDoc is apply.sh's comment, for site %s.
const applyDoc = `# Applies site %s's firewall to one node. Run it on the node, as root,
# next to the rule files:
#
#   ./apply.sh [--backend nft|iptables|ufw] [--confirm SECONDS] NODE
#   ./apply.sh --dry-run [--backend ...] [NODE]   # the plan, for every node
#
# The rules are checked first (nft -c, iptables-restore --test, bash -n),
# then applied atomically (nft, iptables). SSH from management stays open
# throughout: the new rules allow it, and established connections are
# accepted before any rule. With --confirm, the script waits SECONDS for
# "yes" on standard input and otherwise rolls back, as iptables-apply
# does, so that a bad rule cannot lock the operator out; Ctrl-C, a lost
# terminal (SIGHUP) or SIGTERM during the wait roll back too.
#
# Use one backend per node; to switch, remove the other's rules first
# (nft delete table inet nuvla; or ufw disable).
`
