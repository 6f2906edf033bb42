package firewall

import (
	"bytes"
	"fmt"
	"strings"
)

// Apply renders apply.sh: it applies one node's rules with one backend,
// checking them first and, on request, rolling back unless confirmed.
func Apply(header string, rs *Ruleset) []byte {
	// Node names are DNS labels (#NodeName), quoted anyway: as words, as
	// case patterns, and as one line of the usage text.
	names := make([]string, len(rs.Nodes))
	words := make([]string, len(rs.Nodes))
	for i, n := range rs.Nodes {
		names[i] = oneLine(n.Name)
		words[i] = shQuote(n.Name)
	}
	var b bytes.Buffer
	b.WriteString("#!/usr/bin/env bash\n")
	b.WriteString(commentHeader(header))
	fmt.Fprintf(&b, `# Applies site %s's firewall to one node. Run it on the node, as root,
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
# does, so that a bad rule cannot lock the operator out.
#
# Use one backend per node; to switch, remove the other's rules first
# (nft delete table inet nuvla; or ufw disable).
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: apply.sh [--backend nft|iptables|ufw] [--confirm SECONDS] [--force] NODE
       apply.sh --dry-run [--backend nft|iptables|ufw] [NODE]
Nodes: %s
EOF
}

dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
backend=nft
confirm=0
dry_run=no
force=no
while (($#)); do
	case $1 in
	--dry-run)
		dry_run=yes
		shift
		;;
	--force)
		force=yes
		shift
		;;
	--backend)
		backend=${2:?--backend needs nft, iptables or ufw}
		shift 2
		;;
	--confirm)
		confirm=${2:?--confirm needs a number of seconds}
		shift 2
		;;
	-h | --help)
		usage
		exit 0
		;;
	-*)
		usage >&2
		exit 2
		;;
	*) break ;;
	esac
done
if (($# > 1)) || { (($# == 0)) && [[ $dry_run == no ]]; }; then
	usage >&2
	exit 2
fi
nodes=("$@")
if ((${#nodes[@]} == 0)); then
	nodes=(%s)
fi
for node in "${nodes[@]}"; do
	case $node in
	%s) ;;
	*)
		echo "apply.sh: unknown node \"$node\"" >&2
		usage >&2
		exit 2
		;;
	esac
done
case $backend in
nft | iptables | ufw) ;;
*)
	echo "apply.sh: unknown backend \"$backend\" (nft, iptables or ufw)" >&2
	exit 2
	;;
esac
case $confirm in
'' | *[!0-9]*)
	echo "apply.sh: --confirm wants a number of seconds, not \"$confirm\"" >&2
	exit 2
	;;
esac

# plan prints what a run does on node $1, commands prefixed with "+ ".
plan() {
	local node=$1
	echo "# $node, backend $backend:"
	case $backend in
	nft)
		echo "+ nft -c -f $node.nft"
		echo "+ nft -f $node.nft"
		;;
	iptables)
		echo "+ iptables -N DOCKER-USER   # unless Docker has created it"
		echo "+ iptables-restore --test --noflush <$node.iptables   # without the %s jumps already in place"
		echo "+ iptables-restore --noflush <$node.iptables"
		;;
	ufw)
		echo "+ bash -n $node.ufw.sh"
		echo "+ bash $node.ufw.sh   # its own plan: bash $node.ufw.sh --dry-run"
		;;
	esac
	if ((confirm)); then
		echo "# then wait $confirm seconds for \"yes\", and roll back without it"
	fi
}

if [[ $dry_run == yes ]]; then
	for node in "${nodes[@]}"; do
		plan "$node"
	done
	exit 0
fi
if ((EUID != 0)); then
	echo "apply.sh: run as root" >&2
	exit 2
fi
node=${nodes[0]}

# The rules are the named node's: applied on another machine, they would
# cut that machine off from what it serves (a worker's rules on a manager
# close 2377). The node's address must be one of this machine's.
case $node in
@NODE_ADDRESSES@
esac
# (No pipe into grep -q: with pipefail, ip's SIGPIPE would fail the test.)
local_addresses=$(ip -4 -o addr show 2>/dev/null || true)
if [[ $force == no && $local_addresses != *" $address/"* ]]; then
	echo "apply.sh: $address ($node) is not an address of this machine: these are another node's rules (--force applies them anyway)" >&2
	exit 2
fi

saved=$(mktemp -d)
trap 'rm -rf "$saved"' EXIT

# confirmed waits for "yes" on standard input.
confirmed() {
	local answer=
	echo "apply.sh: rules applied; type yes within $confirm seconds to keep them" >&2
	read -r -t "$confirm" answer || true
	[[ $answer == yes ]]
}

apply_nft() {
	local file=$dir/$node.nft had=no
	nft -c -f "$file"
	if nft list table %s >"$saved/nuvla.nft" 2>/dev/null; then
		had=yes
	fi
	nft -f "$file"
	if ((confirm)) && ! confirmed; then
		echo "apply.sh: not confirmed, rolling back" >&2
		if [[ $had == yes ]]; then
			{
				echo 'table %s'
				echo 'delete table %s'
				cat "$saved/nuvla.nft"
			} | nft -f -
		else
			nft delete table %s
		fi
		return 1
	fi
}

apply_iptables() {
	local rules=$saved/rules
	cp "$dir/$node.iptables" "$rules"
	# Docker creates DOCKER-USER when it starts and keeps one that exists.
	iptables -n -L DOCKER-USER >/dev/null 2>&1 || iptables -N DOCKER-USER
	# iptables-restore --noflush refills our chains but would add the
	# jumps again: leave out those already in place.
	if iptables -C INPUT -m comment --comment %s -j %s 2>/dev/null; then
		sed -i '/^-I INPUT 1 -m comment --comment %s /d' "$rules"
	fi
	if iptables -C DOCKER-USER -m comment --comment %s -j %s 2>/dev/null; then
		sed -i '/^-I DOCKER-USER 1 -m comment --comment %s /d' "$rules"
	fi
	iptables-restore --test --noflush <"$rules"
	iptables-save >"$saved/iptables"
	iptables-restore --noflush <"$rules"
	if ((confirm)) && ! confirmed; then
		echo "apply.sh: not confirmed, rolling back" >&2
		iptables-restore <"$saved/iptables"
		return 1
	fi
}

apply_ufw() {
	local script=$dir/$node.ufw.sh active=no
	bash -n "$script"
	if grep -q '^ENABLED=yes' /etc/ufw/ufw.conf; then
		active=yes
	fi
	cp -a /etc/ufw "$saved/ufw"
	iptables-save >"$saved/iptables"
	# ufw applies rule by rule, not atomically: a failure half-way is
	# rolled back like an unconfirmed change.
	if ! bash "$script"; then
		echo "apply.sh: ufw failed, rolling back" >&2
		rollback_ufw "$active"
		return 1
	fi
	if ((confirm)) && ! confirmed; then
		echo "apply.sh: not confirmed, rolling back" >&2
		rollback_ufw "$active"
		return 1
	fi
}

rollback_ufw() {
	cp -a "$saved/ufw/." /etc/ufw/
	if [[ $1 == yes ]]; then
		ufw reload
	else
		ufw --force disable
		iptables-restore <"$saved/iptables"
	fi
}

case $backend in
nft) apply_nft ;;
iptables) apply_iptables ;;
ufw) apply_ufw ;;
esac
echo "apply.sh: $node: $backend rules applied" >&2
`, oneLine(rs.Site), strings.Join(names, " "), strings.Join(words, " "), strings.Join(words, " | "), JumpComment, Table, Table, Table, Table,
		JumpComment, ChainInput, JumpComment, JumpComment, ChainPublished, JumpComment)
	var cases strings.Builder
	for i, n := range rs.Nodes {
		if i > 0 {
			cases.WriteString("\n")
		}
		fmt.Fprintf(&cases, "%s) address=%s ;;", shQuote(n.Name), shQuote(n.Address.String()))
	}
	return bytes.Replace(b.Bytes(), []byte("@NODE_ADDRESSES@"), []byte(cases.String()), 1)
}
