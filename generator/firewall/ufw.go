package firewall

import (
	"bytes"
	"fmt"
	"strings"
)

// Markers of the blocks ufw.sh keeps in /etc/ufw/after.rules and after6.rules.
const (
	ufwBegin = "# BEGIN nuvla published ports"
	ufwEnd   = "# END nuvla published ports"
	// ufwCommentPrefix marks the ufw rules the script owns.
	ufwCommentPrefix = "nuvla:"
)

// UFW prints node's rules as a script of ufw commands. ufw alone does not
// filter published container ports (Docker DNATs them and accepts them in
// FORWARD before ufw's chains), so the script also keeps a block in
// /etc/ufw/after.rules that fills DOCKER-USER, as the iptables backend does.
func UFW(header string, rs *Ruleset, n *Node) []byte {
	var b bytes.Buffer
	b.WriteString("#!/usr/bin/env bash\n")
	b.WriteString(commentHeader(header))
	fmt.Fprintf(&b, "# ufw rules for node %s (%s, %s) of site %s.\n", oneLine(n.Name), n.Address, oneLine(n.Role), oneLine(rs.Site))
	fmt.Fprintf(&b, `#
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
set -euo pipefail

dry_run=no
case ${1:-} in
--dry-run) dry_run=yes ;;
'') ;;
*)
	echo "usage: $0 [--dry-run]" >&2
	exit 2
	;;
esac

ufw_dir=/etc/ufw
after=$ufw_dir/after.rules
after6=$ufw_dir/after6.rules

# Published container ports: Docker DNATs them, so they never reach
# INPUT, and accepts them in FORWARD before ufw's chains. DOCKER-USER runs
# first. It is Docker's chain for its users' rules: this block owns it, as
# ufw-docker does, so that every ufw reload refills it instead of adding a
# second jump; rules others put there are replaced.
block=$(cat <<'EOF'
%s
*filter
:DOCKER-USER - [0:0]
:%s - [0:0]
`, ufwCommentPrefix, ufwBegin, ChainPublished)
	for _, br := range dockerBridges {
		fmt.Fprintf(&b, "-A ufw-after-input -i %s -j ACCEPT\n", br)
	}
	fmt.Fprintf(&b, "-A ufw-after-input -i %s+ -j ACCEPT\n", dockerBridgePattern)
	fmt.Fprintf(&b, "-A DOCKER-USER -j %s\n", ChainPublished)
	for _, line := range publishedRules(rs, n) {
		fmt.Fprintf(&b, "-A %s %s\n", ChainPublished, line)
	}
	fmt.Fprintf(&b, "COMMIT\n%s\nEOF\n)\n", ufwEnd)
	fmt.Fprintf(&b, `
# The same for IPv6 (Docker's ip6tables support), in after6.rules: no
# rule opens a published port to an IPv6 source.
block6=$(cat <<'EOF'
%s
*filter
:DOCKER-USER - [0:0]
:%s - [0:0]
`, ufwBegin, ChainPublished)
	for _, br := range dockerBridges {
		fmt.Fprintf(&b, "-A ufw6-after-input -i %s -j ACCEPT\n", br)
	}
	fmt.Fprintf(&b, "-A ufw6-after-input -i %s+ -j ACCEPT\n", dockerBridgePattern)
	fmt.Fprintf(&b, "-A DOCKER-USER -j %s\n", ChainPublished)
	for _, line := range publishedRules6() {
		fmt.Fprintf(&b, "-A %s %s\n", ChainPublished, line)
	}
	fmt.Fprintf(&b, "COMMIT\n%s\nEOF\n)\n", ufwEnd)
	cmds := ufwCommands(rs, n)
	fmt.Fprintf(&b, `if [[ $dry_run == yes ]]; then
	echo "# the block kept in $after, between its markers:"
	printf '%%s\n' "$block"
	echo "# and in $after6:"
	printf '%%s\n' "$block6"
	echo "# rules commented %s... that are not below are deleted"
	echo "+ IPV6=yes in /etc/default/ufw, unless it is there"
	echo "+ ufw default deny incoming"
	echo "+ ufw default allow outgoing"
`, ufwCommentPrefix)
	for _, c := range cmds {
		fmt.Fprintf(&b, "\techo %s\n", shQuote("+ ufw "+strings.Join(c.args, " ")))
	}
	b.WriteString(`	echo "+ ufw reload   # or ufw --force enable, when ufw is not enabled yet"
	exit 0
fi

`)
	fmt.Fprintf(&b, `changed=no
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

# keep_block puts the block $2 in the file $1, between its markers.
keep_block() {
	sed '/^%s$/,/^%s$/d' "$1" >"$tmp"
	printf '%%s\n' "$2" >>"$tmp"
	if ! cmp -s "$tmp" "$1"; then
		cat "$tmp" >"$1"
		changed=yes
	fi
}
keep_block "$after" "$block"
keep_block "$after6" "$block6"

# has reports whether its first argument is among the others.
has() {
	local x=$1 y
	shift
	for y; do
		[[ $x == "$y" ]] && return 0
	done
	return 1
}

# The rules, as "ufw show added" prints them.
wanted=(
`, ufwBegin, ufwEnd)
	for _, c := range cmds {
		fmt.Fprintf(&b, "\t%s\n", shQuote(c.shown))
	}
	b.WriteString(`)
mapfile -t added < <(ufw show added)

# Delete the rules an earlier version of this script added.
for line in "${added[@]}"; do
	case $line in
	"ufw allow "*"comment '` + ufwCommentPrefix + `"*) ;;
	*) continue ;;
	esac
	if ! has "$line" "${wanted[@]}"; then
		rule=${line#ufw }
		read -ra args <<<"${rule% comment *}"
		ufw --force delete "${args[@]}"
	fi
done

# ufw filters IPv6 only with IPV6=yes; then its default deny holds for
# IPv6 too (before6.rules allow ICMPv6 and DHCPv6 replies). Every rule
# below is IPv4: "from 0.0.0.0/0" is not "from any". (Written in place,
# to keep the file's owner and mode.)
if ! grep -q '^IPV6=yes$' /etc/default/ufw; then
	defaults=$(grep -v '^IPV6=' /etc/default/ufw || true)
	printf '%s\nIPV6=yes\n' "$defaults" >/etc/default/ufw
	changed=yes
fi
grep -q '^DEFAULT_INPUT_POLICY="DROP"' /etc/default/ufw || ufw default deny incoming
grep -q '^DEFAULT_OUTPUT_POLICY="ACCEPT"' /etc/default/ufw || ufw default allow outgoing

# add runs "ufw ARGS..." unless ufw has the rule SHOWN already.
add() {
	local shown=$1
	shift
	has "$shown" "${added[@]}" || ufw "$@"
}

# SSH from management comes first, so enabling never locks it out.
`)
	for _, c := range cmds {
		words := make([]string, len(c.args))
		for i, a := range c.args {
			words[i] = shQuote(a)
		}
		fmt.Fprintf(&b, "add %s %s\n", shQuote(c.shown), strings.Join(words, " "))
	}
	b.WriteString(`
if grep -q '^ENABLED=yes' "$ufw_dir/ufw.conf"; then
	# Rules added or deleted are live already; the block is not.
	if [[ $changed == yes ]]; then
		ufw reload
	fi
else
	ufw --force enable
fi
`)
	return b.Bytes()
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
