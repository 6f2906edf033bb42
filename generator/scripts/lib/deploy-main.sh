# shellcheck shell=bash
# deploy.sh's argument parsing and checks, run before the per-site commands.
# shellcheck disable=SC2154,SC2034

while (($#)); do
	case $1 in
	--dry-run) dry_run=true ;;
	--allow-placeholders) allow_placeholders=true ;;
	--secrets)
		(($# > 1)) || usage_error "--secrets needs a directory"
		secrets_dir=$2
		shift
		;;
	--secrets=*) secrets_dir=${1#*=} ;;
	--timeout)
		(($# > 1)) || usage_error "--timeout needs a number of seconds"
		timeout=$2
		shift
		;;
	--timeout=*) timeout=${1#*=} ;;
	--settle)
		(($# > 1)) || usage_error "--settle needs a number of seconds"
		settle=$2
		shift
		;;
	--settle=*) settle=${1#*=} ;;
	-h | --help)
		usage
		exit 0
		;;
	*) usage_error "unknown argument: $1" ;;
	esac
	shift
done
[[ $timeout =~ ^[0-9]+$ ]] || usage_error "--timeout wants a number of seconds, not $timeout"
[[ $settle =~ ^[0-9]+$ ]] || usage_error "--settle wants a number of seconds, not $settle"
[[ -n $secrets_dir ]] || usage_error "no secrets directory: pass --secrets DIR or set NUVLA_SECRETS_DIR"
# The stacks are found relative to this script, the secrets relative to
# where it was started.
[[ $secrets_dir == /* ]] || secrets_dir=$PWD/$secrets_dir
cd "$(dirname "${BASH_SOURCE[0]}")" || exit 1

note "deploying site $site"
check_manager

# Everything the stacks need from the secrets directory, before any change.
