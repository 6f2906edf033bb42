package scripts

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nuvla/nuvlagen/generator/site"
)

const teardownUsage = `usage() {
	cat <<'EOF'
Usage: ./teardown.sh [--dry-run] [--timeout SECONDS] [--remove-secrets] [--remove-networks]

  --remove-secrets   also remove the site's Docker secrets
  --remove-networks  also remove the shared overlay networks
  --timeout SECONDS  how long each stack may take to go away (default %d)
  --dry-run          print the commands instead of running them

Volumes are always kept: they hold the data, on the nodes that ran the
services; remove them there with "docker volume rm".
EOF
}
`

const teardownFuncs = `check_manager() {
	local state
	if "$dry_run"; then
		say '?' docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}'
		return 0
	fi
	command -v docker >/dev/null || die "docker is not installed"
	state=$(docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}') ||
		die "cannot talk to the Docker engine"
	[[ $state == "active true" ]] ||
		die "this Docker engine is not a manager of an active Swarm (state: $state)"
}

stack_exists() {
	local names
	names=$(ask docker stack ls --format '{{.Name}}') || return 1
	"$dry_run" && return 0
	grep -qxF -- "$1" <<<"$names"
}

# remove_stack removes stack NAME and waits until its services and its own
# networks are gone: "docker stack rm" returns before they are.
remove_stack() {
	local stack=$1 deadline=$((SECONDS + timeout))
	local filter="label=com.docker.stack.namespace=$1"
	if ! stack_exists "$stack"; then
		note "stack $stack is not deployed"
		return 0
	fi
	run docker stack rm "$stack"
	if "$dry_run"; then
		say '?' docker service ls --quiet --filter "$filter"
		say '?' docker network ls --quiet --filter "$filter"
		return 0
	fi
	until [[ -z $(docker service ls --quiet --filter "$filter") &&
		-z $(docker network ls --quiet --filter "$filter") ]]; do
		((SECONDS < deadline)) || die "stack $stack is still being removed after ${timeout}s"
		sleep 2
	done
	note "stack $stack removed"
}

remove_secret() {
	if ask docker secret inspect --format '{{.Spec.Name}}' "$1" >/dev/null 2>&1; then
		run docker secret rm "$1"
	fi
}

remove_network() {
	if ask docker network inspect --format '{{.Name}}' "$1" >/dev/null 2>&1; then
		run docker network rm "$1"
	fi
}
`

const teardownArgs = `
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
`

// Teardown renders teardown.sh.
func Teardown(s *site.Site) ([]byte, error) {
	nets, err := networks(s)
	if err != nil {
		return nil, fmt.Errorf("site %s: %w", s.Name, err)
	}
	w := newScript(s.File)
	w.rawf(`#
# teardown.sh removes the stacks of site %s in reverse deployment order,
# waiting for each to be gone. It keeps the Docker secrets and the shared
# networks unless asked, and always keeps the volumes.
#
# A dry run plans against a complete deployment: every "?" query is
# answered "present".
`, s.Name)
	w.raw(dryRunDoc)
	w.raw("set -euo pipefail\n\n")
	w.raw("prog=teardown.sh\n")
	w.raw("site=" + w.quote(s.Name) + "\n")
	w.raw("dry_run=false\ndry_exists=true\n")
	w.raw("remove_secrets=false\nremove_networks=false\n")
	w.raw("timeout=" + strconv.Itoa(DefaultTimeout) + "\n\n")
	w.raw(helpers + "\n")
	w.rawf(teardownUsage, DefaultTimeout)
	w.raw("\n" + teardownFuncs)
	w.raw(teardownArgs)
	for i := len(s.Stacks) - 1; i >= 0; i-- {
		w.cmd("remove_stack", s.Stacks[i].Name)
	}
	w.raw("\nif \"$remove_secrets\"; then\n")
	for _, sec := range s.Secrets {
		w.raw("\t")
		w.cmd("remove_secret", sec.Name)
	}
	w.raw("fi\n")
	if len(nets) > 0 {
		w.raw("\nif \"$remove_networks\"; then\n")
		for i := len(nets) - 1; i >= 0; i-- {
			w.raw("\t")
			w.cmd("remove_network", nets[i].name)
		}
		w.raw("fi\n")
	}
	if vols := volumes(s); len(vols) > 0 {
		w.raw("\n")
		w.cmd("note", "kept volumes, on the nodes that ran them: "+strings.Join(vols, " "))
	}
	if s.NFS != nil {
		w.cmd("note", "kept Minio's data in "+s.NFS.Share+" on the NFS server")
	}
	w.raw("note \"site $site torn down\"\n")
	return w.bytes()
}
