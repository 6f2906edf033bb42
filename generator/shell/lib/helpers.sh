# shellcheck shell=bash
# The functions every generated script shares. say prints a command as one
# would type it; run prints and runs a command that changes state (only
# prints it under --dry-run); ask runs one that only reads state, and under
# --dry-run prints it and answers $dry_exists instead. All output goes to
# fd 3, standard output, so ask's own output can be captured without the
# trace. The generated part of each script sets prog, dry_run and
# dry_exists before this.
# shellcheck disable=SC2154

exec 3>&1

die() {
	printf '%s: %s\n' "$prog" "$*" >&2
	exit 1
}

warn() {
	printf '%s: warning: %s\n' "$prog" "$*" >&2
}

usage_error() {
	printf '%s: %s\n' "$prog" "$*" >&2
	usage >&2
	exit 2
}

note() {
	printf '# %s\n' "$*" >&3
}

say() {
	local line=$1 word q="'\\''"
	shift
	for word in "$@"; do
		if [[ $word =~ ^[A-Za-z0-9_./:=,+@%-]+$ ]]; then
			line+=" $word"
		else
			line+=" '${word//\'/$q}'"
		fi
	done
	printf '%s\n' "$line" >&3
}

run() {
	say + "$@"
	if ! "$dry_run"; then
		"$@"
	fi
}

ask() {
	if "$dry_run"; then
		say '?' "$@"
		"$dry_exists"
		return
	fi
	"$@"
}
