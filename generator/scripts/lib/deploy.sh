# shellcheck shell=bash
# deploy.sh's usage, functions and argument parsing. The generated part of
# the script sets site, default_timeout, timeout, placeholder and the
# helpers before this, and the per-site commands follow it.
# shellcheck disable=SC2154,SC2034

usage() {
	cat <<EOF
Usage: ./deploy.sh [--dry-run] [--secrets DIR] [--timeout SECONDS] [--settle SECONDS] [--allow-placeholders]

  --secrets DIR         the directory "nuvlagen secrets init" wrote: one file
                        per Docker secret and per required variable
                        (default: \$NUVLA_SECRETS_DIR)
  --timeout SECONDS     how long each stack may take to converge (default $default_timeout)
  --settle SECONDS      how long a stack's tasks must keep running, the same
                        tasks, to count as started (default $default_settle)
  --allow-placeholders  create secrets whose files still hold the placeholder
                        "nuvlagen secrets init" wrote (they stay so: a Swarm
                        secret is never replaced)
  --dry-run             print the commands instead of running them
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

# need_secret_file notes secret NAME as missing unless it has its file in
# the secrets directory or one version in the Swarm (current_secret). A
# secret of KIND placeholder whose file still holds what "nuvlagen secrets
# init" wrote is noted as unfilled: deployed, it would replace the real
# value. A dry run reads neither.
need_secret_file() {
	local name=$1 kind=${2:-}
	"$dry_run" && return 0
	if [[ ! -r $secrets_dir/$name ]]; then
		current_secret "$name" >/dev/null 2>&1 || missing+=("$secrets_dir/$name")
	elif [[ $kind == placeholder ]] && ! "$allow_placeholders" &&
		[[ $(<"$secrets_dir/$name") == "$placeholder" ]]; then
		unfilled+=("$secrets_dir/$name")
	fi
}

# load_variable exports variable NAME for the compose files, from its file
# in the secrets directory or else from the environment.
load_variable() {
	local name=$1 file=$secrets_dir/$1 value
	if "$dry_run"; then
		note "export $name, read from $file"
		return 0
	fi
	if [[ -r $file ]]; then
		value=$(<"$file")
	else
		value=${!name:-}
	fi
	if [[ -z $value ]]; then
		missing+=("$file")
		return 0
	fi
	export "$name=$value"
}

ensure_network() {
	local name=$1 attachable=$2 have
	if have=$(ask docker network inspect --format '{{.Driver}} {{.Scope}}' "$name" 2>/dev/null); then
		[[ $have == "overlay swarm" ]] ||
			die "network $name exists but is not a Swarm overlay network ($have)"
		note "network $name exists"
		return 0
	fi
	if "$attachable"; then
		run docker network create --driver overlay --attachable "$name"
	else
		run docker network create --driver overlay "$name"
	fi
}

# label_value prints the value of label KEY on node NODE, nothing when it
# has none (the template prints "<no value>" for a missing key).
label_value() {
	local have
	have=$(ask docker node inspect --format "{{index .Spec.Labels \"$2\"}}" "$1") || return 1
	[[ $have == "<no value>" ]] || printf '%s\n' "$have"
}

# prune_labels removes each label KEY deploy.sh manages from every node that
# has it but should not (want_labels, by node/key): the Swarm's nodes, and
# the site's, which a dry run, answered "absent", still shows.
prune_labels() {
	local key node have nodes
	nodes=$(ask docker node ls --format '{{.Hostname}}') || nodes=
	# shellcheck disable=SC2086 # one hostname per line, no spaces
	nodes=$(printf '%s\n' $nodes "${site_nodes[@]}" | sort -u)
	for node in $nodes; do
		for key; do
			[[ -z ${want_labels[$node/$key]+set} ]] || continue
			have=$(label_value "$node" "$key") || continue
			[[ -n $have ]] || continue
			run docker node update --label-rm "$key" "$node"
		done
	done
}

label_node() {
	local node=$1 key=$2 value=$3 have
	if have=$(ask docker node inspect --format "{{index .Spec.Labels \"$key\"}}" "$node") &&
		[[ $have == "$value" ]]; then
		return 0
	fi
	run docker node update --label-add "$key=$value" "$node"
}

# digest_label is the label that records the sha256 of the file a secret
# was created from: a Swarm secret's value cannot be read back.
digest_label=nuvlagen.sha256

# secret_digest prints the sha256 of secret NAME's file.
secret_digest() {
	local d
	d=$(sha256sum -- "$secrets_dir/$1") || die "cannot read $secrets_dir/$1"
	printf '%s\n' "${d%% *}"
}

# version_label names, on every version of a secret, the secret it is a
# version of.
version_label=nuvlagen.secret

# versions prints the Swarm secrets that are versions of secret NAME: those
# labelled so, and NAME itself when an earlier deploy.sh created it
# (labelled with a digest).
versions() {
	local name=$1 have
	ask docker secret ls --filter "label=$version_label=$name" --format '{{.Name}}' || true
	if have=$(ask docker secret inspect --format "{{index .Spec.Labels \"$digest_label\"}}" "$name" 2>/dev/null) &&
		[[ -n $have && $have != "<no value>" ]]; then
		printf '%s\n' "$name"
	fi
}

# current_secret prints the Swarm secret to keep for secret NAME when its
# file is absent: its one version, or NAME as created by hand.
current_secret() {
	local name=$1 found
	found=$(versions "$name")
	if [[ -z $found ]] && ask docker secret inspect --format '{{.Spec.Name}}' "$name" >/dev/null 2>&1; then
		found=$name
	fi
	[[ -n $found && $found != *$'\n'* ]] || return 1
	printf '%s\n' "$found"
}

# ensure_secret makes sure the version of secret NAME its file holds exists,
# as NAME_<first 12 hex digits of the file's sha256>, labelled with the
# secret's name and the whole digest, and exports variable VAR, which the
# compose files name the secret by. A changed file is a new version, which
# docker stack deploy rolls out; without a file, the version in the Swarm
# is kept.
ensure_secret() {
	local name=$1 var=$2 digest version
	if ! "$dry_run" && [[ ! -r $secrets_dir/$name ]]; then
		version=$(current_secret "$name") ||
			die "secret $name: no file in $secrets_dir, and not one version in the Swarm"
		note "secret $name: no file, keeping $version"
	else
		if "$dry_run"; then
			digest="<sha256 of $secrets_dir/$name>"
			version="${name}_<digest12>"
		else
			digest=$(secret_digest "$name")
			version=${name}_${digest:0:12}
		fi
		if ask docker secret inspect --format '{{.Spec.Name}}' "$version" >/dev/null 2>&1; then
			note "secret $version exists"
		else
			run docker secret create --label "$version_label=$name" --label "$digest_label=$digest" "$version" "$secrets_dir/$name"
		fi
	fi
	export "$var=$version"
	managed_secrets+=("$name=$version")
}

# prune_secrets removes, once the stacks have converged on the current
# versions, every other version of the site's secrets that no service of
# the Swarm uses (docker would refuse to remove one in use anyway).
prune_secrets() {
	local entry name version old ids used
	ids=$(ask docker service ls -q) || ids=
	used=
	if [[ -n $ids ]]; then
		# shellcheck disable=SC2086 # one service ID per word
		used=$(docker service inspect --format '{{range .Spec.TaskTemplate.ContainerSpec.Secrets}}{{println .SecretName}}{{end}}' $ids) ||
			die "cannot inspect the services to find the secrets they use"
	fi
	for entry in "${managed_secrets[@]}"; do
		name=${entry%%=*} version=${entry#*=}
		while IFS= read -r old; do
			[[ -n $old && $old != "$version" ]] || continue
			if grep -qxF -- "$old" <<<"$used"; then
				note "secret $old: an old version of $name, still in use"
				continue
			fi
			run docker secret rm "$old"
		done < <(versions "$name")
	done
}

# keep_variable notes variable NAME as changed when a service SERVICE...
# that exists runs with another value of it.
keep_variable() {
	local name=$1 svc env line
	shift
	for svc; do
		env=$(ask docker service inspect --format '{{range .Spec.TaskTemplate.ContainerSpec.Env}}{{println .}}{{end}}' "$svc" 2>/dev/null) || continue
		line=$(grep -m1 -- "^$name=" <<<"$env") || continue
		[[ ${line#*=} == "${!name:-}" ]] || changed+=("$name (service $svc runs with another value)")
	done
}

# refuse_changed_variables stops deploy.sh, before any change, when a fixed
# variable differs from what the running services have.
refuse_changed_variables() {
	((${#changed[@]})) || return 0
	printf '%s: refusing to change a value that must stay as deployed (it encrypts stored data, which could not be read with another); put the deployed value back in its file in %s:\n' "$prog" "$secrets_dir" >&2
	printf '  %s\n' "${changed[@]}" >&2
	exit 1
}

# wait_stack waits until every service of stack NAME runs all its tasks,
# and the same tasks still run settle seconds later.
wait_stack() {
	local stack=$1 replicas pending updates failed ids running settled='' deadline=$((SECONDS + timeout))
	local format='{{.Name}} {{.Replicas}}'
	local update_format='{{.Spec.Name}} {{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}'
	if "$dry_run"; then
		say '?' docker stack services --format "$format" "$stack"
		return 0
	fi
	while :; do
		# Running tasks against desired; 0/0 is a service not yet scheduled.
		# Each query's failure says which stack and what the daemon said.
		replicas=$(docker stack services --format "$format" "$stack" 2>&1) ||
			die "stack $stack: cannot list its services: $replicas"
		pending=$(awk '{ split($2, r, "/"); if (r[1] != r[2] || r[2] == 0) print $1 }' <<<"$replicas")
		# On a re-deploy the old tasks still count as running: a service
		# converges when its update completes, and Swarm pausing or rolling
		# back an update (a new task that keeps failing) is a failure.
		ids=$(docker stack services -q "$stack" 2>&1) ||
			die "stack $stack: cannot list its services: $ids"
		updates=
		if [[ -n $ids ]]; then
			# shellcheck disable=SC2086 # one service ID per word
			updates=$(docker service inspect --format "$update_format" $ids 2>&1) ||
				die "stack $stack: cannot inspect its services: $updates"
		fi
		failed=$(awk '$2 ~ /^(paused|rollback_)/ { print $1 " (" $2 ")" }' <<<"$updates")
		[[ -z $failed ]] ||
			die "stack $stack: Swarm stopped updating ${failed//$'\n'/, }; docker service ps --no-trunc shows why"
		pending+=$(awk '$2 == "updating" { printf "\n%s", $1 }' <<<"$updates")
		if [[ -z ${pending//$'\n'/} ]]; then
			# A task that starts and exits at once is counted as running for
			# a moment, and Swarm replaces it with another: the stack has
			# converged when the tasks that run now are those that ran one
			# look before, settle seconds ago (docker service create waits
			# 5 s the same way to verify that tasks are stable).
			# No task desired running (one exited, Swarm has not made its
			# replacement yet) is a stack still starting, which the CLI
			# reports as "nothing found in stack".
			if ! running=$(docker stack ps --filter desired-state=running --format '{{.ID}} {{.CurrentState}}' "$stack" 2>&1); then
				[[ ${running,,} == "nothing found in stack: $stack" ]] ||
					die "stack $stack: cannot list its tasks: $running"
				running=
			fi
			running=$(awk '$2 == "Running" { print $1 }' <<<"$running" | sort)
			if [[ -n $settled && $running == "$settled" ]]; then
				note "stack $stack converged"
				return 0
			fi
			settled=$running
			((SECONDS < deadline)) ||
				die "stack $stack has not converged after ${timeout}s: its tasks did not keep running for ${settle}s (docker stack ps --no-trunc $stack shows those that exited, and why)"
		else
			settled=''
		fi
		((SECONDS < deadline)) ||
			die "stack $stack has not converged after ${timeout}s; still starting: ${pending//$'\n'/ }"
		if [[ -n $settled ]]; then sleep "$settle"; else sleep 5; fi
	done
}

deploy_stack() {
	local stack=$1
	run docker stack deploy --resolve-image never -c "stacks/$stack/docker-compose.yml" "$stack" ||
		die "stack $stack: docker stack deploy failed (its message is above)"
	wait_stack "$stack"
}
