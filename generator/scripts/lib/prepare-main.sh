# shellcheck shell=bash
# prepare/<node>.sh's argument parsing and checks, run before the per-site commands.
# shellcheck disable=SC2154,SC2034

docker_tls_src=""
docker_tls_skip=false
while (($#)); do
	case $1 in
	--dry-run) dry_run=true ;;
	--docker-tls)
		(($# > 1)) || usage_error "--docker-tls needs a directory"
		docker_tls_src=$2
		shift
		;;
	--docker-tls=*) docker_tls_src=${1#*=} ;;
	--no-docker-tls) docker_tls_skip=true ;;
	-h | --help)
		usage
		exit 0
		;;
	*) usage_error "unknown argument: $1" ;;
	esac
	shift
done
# A manager of a target site is where Nuvla drives the Swarm: leaving its
# Docker API unconfigured is a choice the operator says out loud.
if [[ -z ${docker_tls_addr-} ]]; then
	if [[ -n $docker_tls_src ]] || "$docker_tls_skip"; then
		usage_error "node $node does not serve the Docker API to Nuvla: --docker-tls and --no-docker-tls are for the managers of a target site"
	fi
elif [[ -n $docker_tls_src ]] && "$docker_tls_skip"; then
	usage_error "--docker-tls and --no-docker-tls exclude each other"
elif [[ -z $docker_tls_src ]] && ! "$docker_tls_skip"; then
	usage_error "node $node is a manager of target site $site: Nuvla drives its Swarm through the Docker API over TLS on $docker_tls_addr:$docker_tls_port. Copy the directory docker-tls/$node of the site's secrets (nuvlagen secrets init writes it) to this node and give it with --docker-tls DIR, or say --no-docker-tls to prepare the node without it"
fi
if ! "$dry_run"; then
	((EUID == 0)) || die "run as root"
	command -v apt-get >/dev/null || die "needs apt-get (Debian or Ubuntu)"
fi

note "preparing node $node of site $site"
# The certificates and docker.service are checked before anything changes.
if [[ -n $docker_tls_src ]]; then
	docker_tls_check
	docker_tls_plan
fi
