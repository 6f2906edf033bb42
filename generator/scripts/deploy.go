package scripts

import (
	"fmt"
	"slices"
	"sort"
	"strconv"

	"cuelang.org/go/cue"

	"github.com/nuvla/nuvlagen/generator/secrets"
	"github.com/nuvla/nuvlagen/generator/site"
)

// DefaultTimeout is how long, in seconds, deploy.sh waits for a stack to
// converge and teardown.sh for one to be removed.
const DefaultTimeout = 300

// network is a shared overlay network the stacks declare external.
type network struct {
	name       string
	attachable bool
}

// networks lists the external networks the stacks use, public first. The
// backend is attachable (as the upstream files have it, so one-off
// containers can reach the database); the public network is not.
func networks(s *site.Site) ([]network, error) {
	used := map[string]bool{}
	for _, st := range s.Stacks {
		iter, err := st.Compose.LookupPath(cue.ParsePath("networks")).Fields()
		if err != nil {
			continue // a stack without networks
		}
		for iter.Next() {
			ext, _ := iter.Value().LookupPath(cue.ParsePath("external")).Bool()
			if !ext {
				continue
			}
			name := iter.Selector().Unquoted()
			if n, err := iter.Value().LookupPath(cue.ParsePath("name")).String(); err == nil {
				name = n
			}
			if name != s.Networks.Public && name != s.Networks.Backend {
				return nil, fmt.Errorf("stack %s: external network %s is neither the public nor the backend network, and nothing creates it", st.Name, name)
			}
			used[name] = true
		}
	}
	var out []network
	if used[s.Networks.Public] {
		out = append(out, network{s.Networks.Public, false})
	}
	if used[s.Networks.Backend] {
		out = append(out, network{s.Networks.Backend, true})
	}
	return out, nil
}

// volumes lists the named volumes of the stacks by their Swarm names.
func volumes(s *site.Site) []string {
	var out []string
	for _, st := range s.Stacks {
		iter, err := st.Compose.LookupPath(cue.ParsePath("volumes")).Fields()
		if err != nil {
			continue
		}
		for iter.Next() {
			name := st.Name + "_" + iter.Selector().Unquoted()
			if n, err := iter.Value().LookupPath(cue.ParsePath("name")).String(); err == nil {
				name = n
			}
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

const deployUsage = `usage() {
	cat <<'EOF'
Usage: ./deploy.sh [--dry-run] [--secrets DIR] [--timeout SECONDS] [--allow-placeholders]

  --secrets DIR         the directory "nuvlagen secrets init" wrote: one file
                        per Docker secret and per required variable
                        (default: $NUVLA_SECRETS_DIR)
  --timeout SECONDS     how long each stack may take to converge (default %d)
  --allow-placeholders  create secrets whose files still hold the placeholder
                        "nuvlagen secrets init" wrote (they stay so: a Swarm
                        secret is never replaced)
  --dry-run             print the commands instead of running them
EOF
}
`

const deployFuncs = `check_manager() {
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

ensure_secret() {
	local name=$1
	if ask docker secret inspect --format '{{.Spec.Name}}' "$name" >/dev/null 2>&1; then
		note "secret $name exists"
		return 0
	fi
	run docker secret create "$name" "$secrets_dir/$name"
}

# wait_stack waits until every service of stack NAME runs all its tasks.
wait_stack() {
	local stack=$1 pending updates failed ids deadline=$((SECONDS + timeout))
	local format='{{.Name}} {{.Replicas}}'
	local update_format='{{.Spec.Name}} {{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}'
	if "$dry_run"; then
		say '?' docker stack services --format "$format" "$stack"
		return 0
	fi
	while :; do
		# Running tasks against desired; 0/0 is a service not yet scheduled.
		pending=$(docker stack services --format "$format" "$stack" |
			awk '{ split($2, r, "/"); if (r[1] != r[2] || r[2] == 0) print $1 }')
		# On a re-deploy the old tasks still count as running: a service
		# converges when its update completes, and Swarm pausing or rolling
		# back an update (a new task that keeps failing) is a failure.
		mapfile -t ids < <(docker stack services -q "$stack")
		updates=
		if ((${#ids[@]})); then
			updates=$(docker service inspect --format "$update_format" "${ids[@]}")
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
	run docker stack deploy --resolve-image never -c "stacks/$stack/docker-compose.yml" "$stack"
	wait_stack "$stack"
}
`

const deployArgs = `
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
	-h | --help)
		usage
		exit 0
		;;
	*) usage_error "unknown argument: $1" ;;
	esac
	shift
done
[[ $timeout =~ ^[0-9]+$ ]] || usage_error "--timeout wants a number of seconds, not $timeout"
[[ -n $secrets_dir ]] || usage_error "no secrets directory: pass --secrets DIR or set NUVLA_SECRETS_DIR"
# The stacks are found relative to this script, the secrets relative to
# where it was started.
[[ $secrets_dir == /* ]] || secrets_dir=$PWD/$secrets_dir
cd "$(dirname "${BASH_SOURCE[0]}")"

note "deploying site $site"
check_manager

# Everything the stacks need from the secrets directory, before any change.
`

// Deploy renders deploy.sh.
func Deploy(s *site.Site) ([]byte, error) {
	nets, err := networks(s)
	if err != nil {
		return nil, fmt.Errorf("site %s: %w", s.Name, err)
	}
	w := newScript(s.File)
	w.rawf(`#
# deploy.sh deploys site %s from this directory, on the Swarm whose
# manager the Docker client talks to: it creates the shared networks, labels
# the nodes, creates the Docker secrets from the secrets directory, then
# deploys the stacks in order and waits for each to converge. Networks,
# labels and secrets that exist are left alone, and re-deploying a stack
# whose files did not change changes nothing: running it again is safe.
# A secret is never replaced (Swarm secrets are immutable): to rotate one,
# remove the stacks that use it and the secret, then deploy again.
#
# A dry run plans against an empty Swarm: every "?" query is answered
# "absent", and the secrets directory is not read.
`, s.Name)
	w.raw(dryRunDoc)
	w.raw("set -euo pipefail\n\n")
	w.raw("prog=deploy.sh\n")
	w.raw("site=" + w.quote(s.Name) + "\n")
	w.raw("dry_run=false\ndry_exists=false\n")
	w.raw("secrets_dir=${NUVLA_SECRETS_DIR:-}\n")
	w.raw("timeout=" + strconv.Itoa(DefaultTimeout) + "\n")
	w.raw("allow_placeholders=false\nplaceholder=" + w.quote(secrets.Placeholder) + "\n")
	w.raw("missing=()\nunfilled=()\n\n")
	w.raw(helpers + "\n")
	w.rawf(deployUsage, DefaultTimeout)
	w.raw("\n" + deployFuncs)
	w.raw(deployArgs)
	for _, sec := range s.Secrets {
		if sec.Kind == "placeholder" {
			w.cmd("need_secret_file", sec.Name, sec.Kind)
		} else {
			w.cmd("need_secret_file", sec.Name)
		}
	}
	for _, v := range s.Variables {
		w.cmd("load_variable", v.Name)
	}
	w.raw(`if ((${#missing[@]})); then
	printf '%s: missing from the secrets directory (run "nuvlagen secrets init"):\n' "$prog" >&2
	printf '  %s\n' "${missing[@]}" >&2
	exit 1
fi
if ((${#unfilled[@]})); then
	printf '%s: still the placeholder "nuvlagen secrets init" wrote; write the real values (or pass --allow-placeholders):\n' "$prog" >&2
	printf '  %s\n' "${unfilled[@]}" >&2
	exit 1
fi
`)
	if len(nets) > 0 {
		w.raw("\n# The overlay networks the stacks share.\n")
		for _, n := range nets {
			w.cmd("ensure_network", n.name, strconv.FormatBool(n.attachable))
		}
	}
	w.raw("\n# Node labels the stacks' placement constraints select on.\n")
	for _, n := range s.Nodes {
		keys := make([]string, 0, len(n.Labels))
		for k := range n.Labels {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			w.cmd("label_node", n.Name, k, n.Labels[k])
		}
	}
	w.raw("\n# Docker secrets, created once: a secret is immutable in the Swarm.\n")
	for _, sec := range s.Secrets {
		w.cmd("ensure_secret", sec.Name)
	}
	w.raw("\n# The stacks, in deployment order.\n")
	for _, st := range s.Stacks {
		w.cmd("deploy_stack", st.Name)
	}
	w.raw("\nnote \"site $site deployed\"\n")
	return w.bytes()
}
