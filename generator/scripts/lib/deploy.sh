# shellcheck shell=bash
# deploy.sh's usage, functions and argument parsing. The generated part of
# the script sets site, default_timeout, timeout, placeholder and the
# helpers before this, and the per-site commands follow it.
# shellcheck disable=SC2154,SC2034

usage() {
	cat <<EOF
Usage: ./deploy.sh [--dry-run] [--secrets DIR] [--timeout SECONDS] [--allow-placeholders]

  --secrets DIR         the directory "nuvlagen secrets init" wrote: one file
                        per Docker secret and per required variable
                        (default: \$NUVLA_SECRETS_DIR)
  --timeout SECONDS     how long each stack may take to converge (default $default_timeout)
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

# need_secret_file notes secret NAME as missing unless it exists in the
# Swarm or has its file in the secrets directory. A secret of KIND
# placeholder whose file still holds what "nuvlagen secrets init" wrote is
# noted as unfilled: a Swarm secret is never replaced, so it would stay a
# placeholder for good. A dry run reads neither.
need_secret_file() {
	local name=$1 kind=${2:-}
	"$dry_run" && return 0
	docker secret inspect "$name" >/dev/null 2>&1 && return 0
	if [[ ! -r $secrets_dir/$name ]]; then
		missing+=("$secrets_dir/$name")
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

# ensure_secret creates secret NAME from its file, labelled with the file's
# digest. An existing secret is kept (Swarm secrets are immutable), but
# when its file has changed since, deploy.sh says so.
ensure_secret() {
	local name=$1 have want
	if have=$(ask docker secret inspect --format "{{index .Spec.Labels \"$digest_label\"}}" "$name" 2>/dev/null); then
		if [[ ! -r $secrets_dir/$name ]]; then
			note "secret $name exists"
		elif [[ -z $have || $have == "<no value>" ]]; then
			note "secret $name exists; it has no $digest_label label, so whether it matches $secrets_dir/$name is unknown"
		elif [[ $have != "$(secret_digest "$name")" ]]; then
			warn "secret $name in the Swarm does not match $secrets_dir/$name, which changed since it was created: the Swarm keeps the old value (a secret is immutable); to roll out the new one, remove the stacks that use it and the secret, then deploy again"
		else
			note "secret $name exists and matches its file"
		fi
		return 0
	fi
	if "$dry_run"; then
		want="<sha256 of $secrets_dir/$name>"
	else
		want=$(secret_digest "$name")
	fi
	run docker secret create --label "$digest_label=$want" "$name" "$secrets_dir/$name"
}

# wait_stack waits until every service of stack NAME runs all its tasks.
wait_stack() {
	local stack=$1 replicas pending updates failed ids deadline=$((SECONDS + timeout))
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
			note "stack $stack converged"
			return 0
		fi
		((SECONDS < deadline)) ||
			die "stack $stack has not converged after ${timeout}s; still starting: ${pending//$'\n'/ }"
		sleep 5
	done
}

deploy_stack() {
	local stack=$1
	run docker stack deploy --resolve-image never -c "stacks/$stack/docker-compose.yml" "$stack" ||
		die "stack $stack: docker stack deploy failed (its message is above)"
	wait_stack "$stack"
}
