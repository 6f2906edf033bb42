# shellcheck shell=bash
# teardown.sh's argument parsing and checks, run before the per-site commands.
# shellcheck disable=SC2154,SC2034

while (($#)); do
	case $1 in
	--dry-run) dry_run=true ;;
	--remove-secrets) remove_secrets=true ;;
	--remove-networks) remove_networks=true ;;
	--timeout)
		(($# > 1)) || usage_error "--timeout needs a number of seconds"
		timeout=$2
		shift
		;;
	--timeout=*) timeout=${1#*=} ;;
	-h | --help)
		usage
		exit 0
		;;
	*) usage_error "unknown argument: $1" ;;
	esac
	shift
done
[[ $timeout =~ ^[0-9]+$ ]] || usage_error "--timeout wants a number of seconds, not $timeout"

note "tearing down site $site"
check_manager

# The stacks, in reverse deployment order.
