# shellcheck shell=bash
# verify.sh's usage and checks. The generated part sets prog, site, kind,
# tls_mode, edge, edge_address, the default_* values, ca_file, backend,
# es_service and es_port (empty on a target site, which runs no
# Elasticsearch), and the helpers before this; verify-main.sh parses the
# arguments into address, https_port, dashboard_port, timeout, cacert and
# probe_image.
# shellcheck disable=SC2154,SC2034

usage() {
	local probe="" es=.
	if [[ -n ${default_probe_image-} ]]; then
		probe=" [--probe-image IMAGE]"
		es=$',\nand Elasticsearch\'s cluster health is green or yellow.'
	fi
	cat <<EOF
Usage: ./verify.sh [--dry-run] [--cacert FILE] [--address ADDR] [--timeout SECONDS]
                   [--https-port PORT] [--dashboard-port PORT]$probe

Checks that site $site is up and prints one line per check, "ok" or "FAIL":
every service of its stacks runs all its tasks, Traefik on the edge manager
$edge serves the site's pages, the monitoring pages refuse a request
without credentials$es
Exits 0 when every check passes, 1 when one fails, 2 on a usage error.

Run it on a manager of the Swarm (the docker CLI must talk to one; DOCKER_HOST
or DOCKER_CONTEXT point it elsewhere) that the firewall admits to Traefik's
$default_https_port and to the dashboard's $default_dashboard_port (the management group): the edge
manager itself is. curl resolves the site's domains to --address with
--resolve, so DNS need not point at the site yet.

  --cacert FILE          the CA that signed Traefik's certificate: the
                         deployment CA, $ca_file of the secrets directory
                         "nuvlagen secrets init" wrote, or the self-signed
                         certificate itself (needed when the site's TLS mode
                         is selfsigned; default: the system's trusted CAs)
  --address ADDR         where the domains resolve to (default $edge_address, $edge's)
  --https-port PORT      Traefik's HTTPS port there (default $default_https_port)
  --dashboard-port PORT  Traefik's dashboard port there (default $default_dashboard_port)
  --timeout SECONDS      how long each request may take (default $default_timeout)
EOF
	if [[ -n ${default_probe_image-} ]]; then
		cat <<EOF
  --probe-image IMAGE    the image, with curl, of the one-off container that asks
                         Elasticsearch on the backend network $backend
                         (default $default_probe_image, Elasticsearch's own:
                         docker pulls it on this node if it is not there)
EOF
	fi
	cat <<EOF
  --dry-run              print the commands instead of running them
EOF
}

checks=0
failures=0

pass() {
	checks=$((checks + 1))
	printf 'ok   %s\n' "$*" >&3
}

fail() {
	checks=$((checks + 1))
	failures=$((failures + 1))
	printf 'FAIL %s\n' "$*" >&3
}

# oneline flattens a command's message for a check's line.
oneline() {
	local s=${1//$'\n'/ }
	printf '%s' "${s:0:300}"
}

# check_services checks that every service NAME... runs all its tasks:
# running equals desired, and desired is not 0 (replicated and global
# services alike; Replicas reads "2/2", or "1/1 (max 1 per node)").
check_services() {
	local format='{{.Name}} {{.Replicas}}' listing name rep running desired
	local -A have=()
	if "$dry_run"; then
		say '?' docker service ls --format "$format"
		return 0
	fi
	if ! listing=$(docker service ls --format "$format" 2>&1); then
		fail "services: cannot list them: $(oneline "$listing")"
		return 0
	fi
	while read -r name rep _; do
		[[ -n $name ]] && have[$name]=$rep
	done <<<"$listing"
	for name; do
		rep=${have[$name]-}
		if [[ -z $rep ]]; then
			fail "service $name: not deployed"
			continue
		fi
		running=${rep%%/*}
		desired=${rep#*/}
		if [[ $running =~ ^[0-9]+$ && $desired =~ ^[0-9]+$ ]] && ((desired > 0 && running == desired)); then
			pass "service $name: $rep tasks running"
		else
			fail "service $name: $rep tasks running"
		fi
	done
}

# http_get asks for URL with curl's extra OPTIONS... and sets code, ctype,
# location (absolute) and body, the caller's locals; it returns 1 when no
# answer came (error holds curl's message), 2 under --dry-run. It never
# follows a redirect: a login page's redirect is an answer of its own.
http_get() {
	local url=$1 out meta
	shift
	# --noproxy: the request goes to the edge itself, not through a proxy
	# the environment names.
	local cmd=(curl --silent --show-error --noproxy '*' --max-time "$timeout" "$@"
		--write-out '\n%{http_code}|%{content_type}|%{redirect_url}' -- "$url")
	if "$dry_run"; then
		say '?' "${cmd[@]}"
		return 2
	fi
	if ! out=$("${cmd[@]}" 2>"$tmp/curl.err"); then
		# curl's first line says what failed; the rest is advice.
		error=$(<"$tmp/curl.err")
		error=$(oneline "${error%%$'\n'*}")
		return 1
	fi
	meta=${out##*$'\n'}
	body=${out%$'\n'*}
	IFS='|' read -r code ctype location <<<"$meta"
}

# judge reports http_get's answer for WHAT at URL against EXPECT: json
# (200 with a JSON object), ok (200) or refuse (401, 403, or a redirect to
# a login page: the page wants credentials).
judge() {
	local what=$1 url=$2 expect=$3
	case $expect in
	json)
		if [[ $code == 200 && $ctype == application/json* && $body =~ ^[[:space:]]*\{ ]]; then
			pass "$what: $url answers 200 with JSON"
		elif [[ $code == 200 ]]; then
			fail "$what: $url answers 200 but not with JSON (${ctype:-no content type})"
		else
			fail "$what: $url answers $code, not 200"
		fi
		;;
	ok)
		if [[ $code == 200 ]]; then
			pass "$what: $url answers 200"
		else
			fail "$what: $url answers $code, not 200"
		fi
		;;
	refuse)
		if [[ $code == 401 || $code == 403 ]]; then
			pass "$what: $url refuses a request without credentials ($code)"
		elif [[ $code == 30[12378] && $location == *login* ]]; then
			pass "$what: $url sends a request without credentials to its login page ($code)"
		elif [[ $code == 30? ]]; then
			fail "$what: $url answers $code to ${location:-nowhere}, not to a login page"
		else
			fail "$what: $url answers $code to a request without credentials"
		fi
		;;
	*) die "internal error: expectation $expect" ;;
	esac
}

# check_https asks Traefik for PATH at HOST over HTTPS, HOST resolved to
# --address, and judges the answer against EXPECT.
check_https() {
	local what=$1 vhost=$2 path=$3 expect=$4 url=https://$2 tls=()
	local code ctype location body error
	((https_port == 443)) || url+=:$https_port
	url+=$path
	[[ -z $cacert ]] || tls=(--cacert "$cacert")
	http_get "$url" --resolve "$vhost:$https_port:$address" "${tls[@]}"
	case $? in
	0) judge "$what" "$url" "$expect" ;;
	1) fail "$what: $url: no answer: $error" ;;
	esac
}

# check_dashboard asks Traefik's own entry point for PATH: plain HTTP, on
# the port the firewall opens to the management group only.
check_dashboard() {
	local what=$1 path=$2 expect=$3 url=http://$address:$dashboard_port$2
	local code ctype location body error
	http_get "$url"
	case $? in
	0) judge "$what" "$url" "$expect" ;;
	1) fail "$what: $url: no answer: $error" ;;
	esac
}

# check_elasticsearch asks Elasticsearch for its cluster health from a
# one-off container on the backend network (attachable for such
# containers): the database publishes no port, and its task may run on
# another node than this one.
check_elasticsearch() {
	local what="Elasticsearch ($es_service on $backend)" out status
	local cmd=(docker run --rm --network "$backend" --entrypoint curl "$probe_image"
		--silent --show-error --max-time "$timeout" "http://$es_service:$es_port/_cluster/health")
	if "$dry_run"; then
		say '?' "${cmd[@]}"
		return 0
	fi
	if ! out=$("${cmd[@]}" 2>&1); then
		fail "$what: no cluster health: $(oneline "$out")"
		return 0
	fi
	if [[ ! $out =~ \"status\":\"([a-z]+)\" ]]; then
		fail "$what: no cluster health in its answer: $(oneline "$out")"
		return 0
	fi
	status=${BASH_REMATCH[1]}
	case $status in
	green | yellow) pass "$what: cluster health $status" ;;
	*) fail "$what: cluster health $status" ;;
	esac
}

summary() {
	"$dry_run" && exit 0
	if ((failures > 0)); then
		note "site $site: $failures of $checks checks failed"
		exit 1
	fi
	note "site $site: all $checks checks passed"
}
