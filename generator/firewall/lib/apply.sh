# shellcheck shell=bash
# apply.sh's code. The generated part of the script sets table (the
# nftables family and name, as an array), jump, chain_input,
# chain_published, node_names and node_address before this.
# shellcheck disable=SC2154


usage() {
	cat <<EOF
Usage: apply.sh [--backend nft|iptables|ufw] [--confirm SECONDS] [--force] NODE
       apply.sh --dry-run [--backend nft|iptables|ufw] [NODE]
Nodes: ${node_names[*]}
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
	nodes=("${node_names[@]}")
fi
for node in "${nodes[@]}"; do
	if [[ -z ${node_address[$node]+set} ]]; then
		echo "apply.sh: unknown node \"$node\"" >&2
		usage >&2
		exit 2
	fi
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
		echo "+ ip6tables -N DOCKER-USER   # likewise"
		echo "+ iptables-restore --test --noflush <$node.iptables   # without the $jump jumps already in place"
		echo "+ ip6tables-restore --test --noflush <$node.ip6tables   # likewise"
		echo "+ iptables-restore --noflush <$node.iptables"
		echo "+ ip6tables-restore --noflush <$node.ip6tables   # or both roll back"
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
address=${node_address[$node]}
# (No pipe into grep -q: with pipefail, ip's SIGPIPE would fail the test.)
local_addresses=$(ip -4 -o addr show 2>/dev/null || true)
if [[ $force == no && $local_addresses != *" $address/"* ]]; then
	echo "apply.sh: $address ($node) is not an address of this machine: these are another node's rules (--force applies them anyway)" >&2
	exit 2
fi

saved=$(mktemp -d)
# keep is set when a roll back fails: the backup is what is left then.
keep=no
cleanup() {
	if [[ $keep == yes ]]; then
		echo "apply.sh: the previous rules are kept in $saved" >&2
	else
		rm -rf "$saved"
	fi
}
trap cleanup EXIT

# pending names the roll back while applied rules wait for "yes": Ctrl-C,
# a hang-up or a kill (INT, HUP, TERM) then roll back too, as no answer
# does, and the backup goes only once the rules are confirmed or rolled
# back.
pending=
interrupted() {
	trap '' INT HUP TERM
	if [[ -n $pending ]]; then
		echo "apply.sh: $1 before the rules were confirmed, rolling back" >&2
		roll_back || true
	fi
	exit "$2"
}
trap 'interrupted SIGINT 130' INT
trap 'interrupted SIGHUP 129' HUP
trap 'interrupted SIGTERM 143' TERM

# roll_back runs the pending roll back, once; when it fails, the backup
# is kept.
roll_back() {
	local undo=$pending
	pending=
	if ! "$undo"; then
		keep=yes
		echo "apply.sh: rolling back failed" >&2
		return 1
	fi
}

# confirmed waits for "yes" on standard input.
confirmed() {
	local answer=
	echo "apply.sh: rules applied; type yes within $confirm seconds to keep them" >&2
	read -r -t "$confirm" answer || true
	[[ $answer == yes ]]
}

# settle waits for confirmation, when asked for, and rolls back without it.
settle() {
	if ((confirm)) && ! confirmed; then
		echo "apply.sh: not confirmed, rolling back" >&2
		roll_back || true
		return 1
	fi
	pending=
}

# (Globals: the roll backs may run from a trap.)
nft_had=no
apply_nft() {
	local file=$dir/$node.nft
	nft -c -f "$file"
	if nft list table "${table[@]}" >"$saved/nuvla.nft" 2>/dev/null; then
		nft_had=yes
	fi
	if ((confirm)); then
		pending=rollback_nft
	fi
	nft -f "$file"
	settle
}

rollback_nft() {
	if [[ $nft_had == yes ]]; then
		{
			echo "table ${table[*]}"
			echo "delete table ${table[*]}"
			cat "$saved/nuvla.nft"
		} | nft -f -
	elif nft list table "${table[@]}" >/dev/null 2>&1; then
		nft delete table "${table[@]}"
	fi
}

# prepare_rules copies the rules for iptables or ip6tables ($1) to $2,
# without the jumps already in place: iptables-restore --noflush refills
# our chains but would add the jumps again.
prepare_rules() {
	local ipt=$1 rules=$2
	# Docker creates DOCKER-USER when it starts and keeps one that exists.
	"$ipt" -n -L DOCKER-USER >/dev/null 2>&1 || "$ipt" -N DOCKER-USER
	if "$ipt" -C INPUT -m comment --comment "$jump" -j "$chain_input" 2>/dev/null; then
		sed -i "/^-I INPUT 1 -m comment --comment $jump /d" "$rules"
	fi
	if "$ipt" -C DOCKER-USER -m comment --comment "$jump" -j "$chain_published" 2>/dev/null; then
		sed -i "/^-I DOCKER-USER 1 -m comment --comment $jump /d" "$rules"
	fi
}

# A kernel without IPv6 (ipv6.disable=1) has none to filter, and no
# ip6tables to load rules into.
ipv6=yes
if [[ ! -d /proc/sys/net/ipv6 ]]; then
	ipv6=no
fi

# IPv4 and IPv6 are each restored atomically, and checked together
# first; when the second fails, the first is rolled back.
apply_iptables() {
	local rules=$saved/rules rules6=$saved/rules6
	cp "$dir/$node.iptables" "$rules"
	iptables-save >"$saved/iptables"
	prepare_rules iptables "$rules"
	iptables-restore --test --noflush <"$rules"
	if [[ $ipv6 == yes ]]; then
		cp "$dir/$node.ip6tables" "$rules6"
		ip6tables-save >"$saved/ip6tables"
		prepare_rules ip6tables "$rules6"
		ip6tables-restore --test --noflush <"$rules6"
	else
		echo "apply.sh: IPv6 is off in this kernel: $node.ip6tables is not needed" >&2
	fi
	pending=rollback_iptables
	if ! { iptables-restore --noflush <"$rules" && { [[ $ipv6 == no ]] || ip6tables-restore --noflush <"$rules6"; }; }; then
		echo "apply.sh: iptables-restore failed, rolling back" >&2
		roll_back || true
		return 1
	fi
	settle
}

rollback_iptables() {
	local ok=0
	restore_saved iptables "$saved/iptables" || ok=1
	if [[ -e $saved/ip6tables ]]; then
		restore_saved ip6tables "$saved/ip6tables" || ok=1
	fi
	return "$ok"
}

# restore_saved restores iptables or ip6tables ($1) from a dump of its
# own ($2). A dump without a filter table (there was none yet) empties
# the one there is now: restoring it alone would leave ours in place.
restore_saved() {
	local ipt=$1 dump=$2
	if ! grep -q '^\*filter' "$dump"; then
		printf '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n' | "$ipt-restore"
	fi
	"$ipt-restore" <"$dump"
}

ufw_active=no
apply_ufw() {
	local script=$dir/$node.ufw.sh
	bash -n "$script"
	if grep -q '^ENABLED=yes' /etc/ufw/ufw.conf; then
		ufw_active=yes
	fi
	cp -a /etc/ufw "$saved/ufw"
	cp -a /etc/default/ufw "$saved/default-ufw"
	iptables-save >"$saved/iptables"
	if [[ $ipv6 == yes ]]; then
		ip6tables-save >"$saved/ip6tables"
	fi
	# ufw applies rule by rule, not atomically: a failure half-way is
	# rolled back like an unconfirmed change.
	pending=rollback_ufw
	if ! bash "$script"; then
		echo "apply.sh: ufw failed, rolling back" >&2
		roll_back || true
		return 1
	fi
	settle
}

rollback_ufw() {
	cp -a "$saved/ufw/." /etc/ufw/
	cat "$saved/default-ufw" >/etc/default/ufw
	if [[ $ufw_active == yes ]]; then
		ufw reload
	else
		ufw --force disable
		restore_saved iptables "$saved/iptables"
		if [[ -e $saved/ip6tables ]]; then
			restore_saved ip6tables "$saved/ip6tables"
		fi
	fi
}

case $backend in
nft) apply_nft ;;
iptables) apply_iptables ;;
ufw) apply_ufw ;;
esac
echo "apply.sh: $node: $backend rules applied" >&2
