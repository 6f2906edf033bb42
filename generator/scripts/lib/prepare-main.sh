# shellcheck shell=bash
# prepare/<node>.sh's argument parsing and checks, run before the per-site commands.
# shellcheck disable=SC2154,SC2034

while (($#)); do
	case $1 in
	--dry-run) dry_run=true ;;
	-h | --help)
		usage
		exit 0
		;;
	*) usage_error "unknown argument: $1" ;;
	esac
	shift
done
if ! "$dry_run"; then
	((EUID == 0)) || die "run as root"
	command -v apt-get >/dev/null || die "needs apt-get (Debian or Ubuntu)"
fi

note "preparing node $node of site $site"
