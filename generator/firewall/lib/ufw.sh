# shellcheck shell=bash
# ufw.sh's code. The generated part of the script sets begin_marker,
# end_marker, comment_prefix, block, block6 and wanted, and defines
# plan_rules and add_rules (which calls add), before this.
# shellcheck disable=SC2154

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

if [[ $dry_run == yes ]]; then
	echo "# the block kept in $after, between its markers:"
	printf '%s\n' "$block"
	echo "# and in $after6:"
	printf '%s\n' "$block6"
	echo "# rules commented $comment_prefix... that are not below are deleted"
	echo "+ IPV6=yes in /etc/default/ufw, unless it is there"
	echo "+ ufw default deny incoming"
	echo "+ ufw default allow outgoing"
	plan_rules
	echo "+ ufw reload   # or ufw --force enable, when ufw is not enabled yet"
	exit 0
fi

changed=no
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

# keep_block puts the block $2 in the file $1, between its markers.
keep_block() {
	sed "/^$begin_marker\$/,/^$end_marker\$/d" "$1" >"$tmp"
	printf '%s\n' "$2" >>"$tmp"
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

mapfile -t added < <(ufw show added)

# Delete the rules an earlier version of this script added.
for line in "${added[@]}"; do
	case $line in
	"ufw allow "*"comment '$comment_prefix"*) ;;
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

add_rules

if grep -q '^ENABLED=yes' "$ufw_dir/ufw.conf"; then
	# Rules added or deleted are live already; the block is not.
	if [[ $changed == yes ]]; then
		ufw reload
	fi
else
	ufw --force enable
fi
