# shellcheck shell=bash
# teardown.sh's usage, functions and argument parsing. The generated part
# sets site, default_timeout, timeout and the helpers before this.
# shellcheck disable=SC2154,SC2034

usage() {
	cat <<EOF
Usage: ./teardown.sh [--dry-run] [--timeout SECONDS] [--remove-secrets] [--remove-networks]

  --remove-secrets   also remove the site's Docker secrets
  --remove-networks  also remove the shared overlay networks
  --timeout SECONDS  how long each stack may take to go away (default $default_timeout)
  --dry-run          print the commands instead of running them

Volumes are always kept: they hold the data, on the nodes that ran the
services; remove them there with "docker volume rm".
EOF
}

check_manager() {
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

# remove_secret removes every version of secret NAME deploy.sh created
# (labelled nuvlagen.secret=NAME), and NAME itself.
remove_secret() {
	local version
	while IFS= read -r version; do
		[[ -z $version || $version == "$1" ]] || run docker secret rm "$version"
	done < <(ask docker secret ls --filter "label=nuvlagen.secret=$1" --format '{{.Name}}' || true)
	if ask docker secret inspect --format '{{.Spec.Name}}' "$1" >/dev/null 2>&1; then
		run docker secret rm "$1"
	fi
}

remove_network() {
	if ask docker network inspect --format '{{.Name}}' "$1" >/dev/null 2>&1; then
		run docker network rm "$1"
	fi
}
