# shellcheck shell=bash
# verify.sh's argument parsing and checks, run before the per-site checks.
# shellcheck disable=SC2154,SC2034

address=$edge_address
https_port=$default_https_port
dashboard_port=$default_dashboard_port
timeout=$default_timeout
cacert=""
probe_image=${default_probe_image-}
while (($#)); do
	case $1 in
	--dry-run) dry_run=true ;;
	--cacert | --address | --https-port | --dashboard-port | --timeout | --probe-image)
		(($# > 1)) || usage_error "$1 needs a value"
		set -- "$1=$2" "${@:3}"
		continue
		;;
	--cacert=*) cacert=${1#*=} ;;
	--address=*) address=${1#*=} ;;
	--https-port=*) https_port=${1#*=} ;;
	--dashboard-port=*) dashboard_port=${1#*=} ;;
	--timeout=*) timeout=${1#*=} ;;
	--probe-image=*)
		[[ -n ${default_probe_image-} ]] ||
			usage_error "--probe-image is for a host site's Elasticsearch, and site $site is a $kind site"
		probe_image=${1#*=}
		;;
	-h | --help)
		usage
		exit 0
		;;
	*) usage_error "unknown argument: $1" ;;
	esac
	shift
done
for port in "$https_port" "$dashboard_port"; do
	if [[ ! $port =~ ^[1-9][0-9]{0,4}$ ]] || ((port > 65535)); then
		usage_error "not a port: $port"
	fi
done
[[ $timeout =~ ^[1-9][0-9]{0,3}$ ]] || usage_error "--timeout wants a number of seconds, not $timeout"
# curl's --resolve takes an address, not a name: IPv4, or IPv6 in brackets.
[[ $address =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ || $address =~ ^\[[0-9A-Fa-f:.]+\]$ ]] ||
	usage_error "--address wants an IPv4 address, or an IPv6 one in brackets, not $address"
if [[ $tls_mode == selfsigned && -z $cacert ]]; then
	usage_error "site $site's certificate is not from a public CA: give the CA that signed it with --cacert FILE ($ca_file of the deployment's secrets directory)"
fi
if ! "$dry_run"; then
	command -v curl >/dev/null || die "needs curl"
	command -v docker >/dev/null || die "needs the docker CLI"
	[[ -z $cacert || -r $cacert ]] || die "cannot read $cacert"
	tmp=$(mktemp -d) || die "cannot create a temporary directory"
	trap 'rm -rf -- "$tmp"' EXIT
fi

note "verifying site $site through $address"
