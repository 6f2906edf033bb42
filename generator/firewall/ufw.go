package firewall

import (
	"fmt"
	"strings"

	"github.com/nuvla/nuvlagen/generator/shell"
)

// Markers of the blocks ufw.sh keeps in /etc/ufw/after.rules and after6.rules.
const (
	ufwBegin = "# BEGIN nuvla published ports"
	ufwEnd   = "# END nuvla published ports"
	// ufwCommentPrefix marks the ufw rules the script owns.
	ufwCommentPrefix = "nuvla:"
)

// printUFW prints node's rules as a script of ufw commands. ufw alone does not
// filter published container ports (Docker DNATs them and accepts them in
// FORWARD before ufw's chains), so the script also keeps a block in
// /etc/ufw/after.rules that fills DOCKER-USER, as the iptables backend does.
// Its code is lib/ufw.sh; what is generated is the node's rules and
// blocks, as quoted shell values and functions of quoted commands.
func printUFW(header string, rs *Ruleset, n *Node) []byte {
	w := shell.New(commentHeader(header))
	w.Comment("# ufw rules for node %s (%s, %s) of site %s.\n", n.Name, n.Address, n.Role, rs.Site)
	w.Comment(ufwDoc, ufwCommentPrefix)
	w.Text("set -euo pipefail\n\n")
	w.Assign("begin_marker", ufwBegin)
	w.Assign("end_marker", ufwEnd)
	w.Assign("comment_prefix", ufwCommentPrefix)
	w.Text("\n# Published container ports: Docker DNATs them, so they never reach\n# INPUT, and accepts them in FORWARD before ufw's chains. DOCKER-USER runs\n# first. It is Docker's chain for its users' rules: this block owns it, as\n# ufw-docker does, so that every ufw reload refills it instead of adding a\n# second jump; rules others put there are replaced.\n")
	w.AssignHeredoc("block", ufwBlock("ufw-after-input", publishedRules(rs, n)))
	w.Text("\n# The same for IPv6 (Docker's ip6tables support), in after6.rules: no\n# rule opens a published port to an IPv6 source.\n")
	w.AssignHeredoc("block6", ufwBlock("ufw6-after-input", publishedRules6()))
	cmds := ufwCommands(rs, n)
	w.Text("\n# The rules, as \"ufw show added\" prints them.\n")
	shown := make([]string, len(cmds))
	for i, c := range cmds {
		shown[i] = c.shown
	}
	w.Array("wanted", shown...)
	w.Text("\n# plan_rules prints the ufw commands, for --dry-run.\nplan_rules() {\n")
	for _, c := range cmds {
		w.Cmd("\techo", "+ ufw "+strings.Join(c.args, " "))
	}
	w.Text("}\n\n# add_rules adds each rule ufw does not have yet, SSH from management\n# first, so enabling never locks it out.\nadd_rules() {\n")
	for _, c := range cmds {
		w.Cmd("\tadd", append([]string{c.shown}, c.args...)...)
	}
	w.Text("}\n\n")
	w.Library(libs, "lib/ufw.sh")
	b, err := w.Bytes()
	if err != nil {
		// Rule names and comments are encoded (commentText), addresses
		// and ports are numbers: nothing holds a NUL.
		panic(fmt.Sprintf("ufw.sh: %v", err))
	}
	return b
}

// ufwDoc is ufw.sh's comment, for comment prefix %s.
const ufwDoc = `#
# Run as root on the node (apply.sh --backend ufw does). Running it again
# changes nothing: ufw skips rules it has, rules this script added before
# (comment %s...) that the tables no longer have are deleted, and the
# Docker blocks in after.rules and after6.rules are replaced between
# their markers.
#
# ufw's own before.rules still accept ICMP echo from anywhere.
#
# --dry-run prints the plan and runs nothing: the blocks for after.rules
# and after6.rules, and every ufw command, as if ufw had none of the rules
# yet.
`

// ufwBlock is the iptables-restore block ufw.sh keeps in after.rules (or
// after6.rules, with input chain ufw6-after-input), between its markers.
func ufwBlock(input string, published []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n*filter\n:DOCKER-USER - [0:0]\n:%s - [0:0]\n", ufwBegin, chainPublished)
	for _, br := range dockerBridges {
		fmt.Fprintf(&b, "-A %s -i %s -j ACCEPT\n", input, br)
	}
	fmt.Fprintf(&b, "-A %s -i %s+ -j ACCEPT\n", input, dockerBridgePattern)
	fmt.Fprintf(&b, "-A DOCKER-USER -j %s\n", chainPublished)
	for _, line := range published {
		fmt.Fprintf(&b, "-A %s %s\n", chainPublished, line)
	}
	fmt.Fprintf(&b, "COMMIT\n%s\n", ufwEnd)
	return b.String()
}

type ufwCommand struct {
	args  []string // what the script runs, after "ufw": one word each
	shown string   // how "ufw show added" prints it
}

// ufwCommands lists node's rules as ufw commands, ssh first.
func ufwCommands(rs *Ruleset, n *Node) []ufwCommand {
	var first, rest []ufwCommand
	for _, r := range n.Rules {
		for _, chunk := range multiport(r.Ports) {
			for _, c := range r.From {
				for _, p := range rs.Groups[c] {
					comment := ufwCommentPrefix + commentText(r.Name)
					from := p.String()
					if p.IsSingleIP() {
						from = p.Addr().String() // as ufw prints it
					}
					cmd := ufwCommand{
						args:  []string{"allow", "proto", r.Proto, "from", p.String(), "to", "any", "port", chunk, "comment", comment},
						shown: fmt.Sprintf("ufw allow from %s to any port %s proto %s comment '%s'", from, chunk, r.Proto, comment),
					}
					if p.Bits() == 0 {
						cmd.shown = fmt.Sprintf("ufw allow %s/%s comment '%s'", chunk, r.Proto, comment)
					}
					if r.Name == "ssh" {
						first = append(first, cmd)
					} else {
						rest = append(rest, cmd)
					}
				}
			}
		}
	}
	return append(first, rest...)
}
