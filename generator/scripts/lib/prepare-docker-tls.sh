# shellcheck shell=bash
# prepare/<node>.sh's Docker API over TLS, on the managers of a target site:
# Nuvla's job executors drive the Swarm through it. The generated part sets
# docker_tls_addr (the node's IPv4 address), docker_tls_port,
# docker_tls_dir (where the certificates are installed), docker_dropin
# and docker_backups (where replaced files are kept) before this, and
# the argument parsing docker_tls_src (the --docker-tls directory).
#
# Why flags in a systemd drop-in and not daemon.json: the packaged unit
# starts dockerd with -H fd://, and dockerd refuses a directive given both
# as a flag and in daemon.json, so "hosts" in daemon.json needs the unit's
# command line rewritten anyway. With the flags in the drop-in the
# operator's daemon.json is never written (nothing to merge without jq),
# the local socket stays the unit's own (-H fd://, socket-activated) and
# one file of ours holds the whole change. The drop-in's ExecStart is the
# unit's own, read from systemctl cat without our drop-in, plus the flags:
# running the script again after a package upgrade picks up a changed
# command line.
# shellcheck disable=SC2154,SC2034

docker_daemon_json=/etc/docker/daemon.json

# docker_tls_flags sets docker_flags to what dockerd gets: a TCP listener
# on the node's address only, TLS with client certificates of the CA.
docker_tls_flags() {
	docker_flags=(-H "tcp://$docker_tls_addr:$docker_tls_port" --tlsverify
		"--tlscacert=$docker_tls_dir/ca.pem" "--tlscert=$docker_tls_dir/cert.pem" "--tlskey=$docker_tls_dir/key.pem")
}

# docker_tls_check checks the certificates in $docker_tls_src before
# anything changes: the three files, the key's mode (tightened to 0600),
# and, with openssl, the chain, the pair, the address and the expiry.
docker_tls_check() {
	local src=$docker_tls_src f
	[[ -d $src ]] || die "--docker-tls $src: not a directory"
	for f in ca.pem cert.pem key.pem; do
		[[ -f $src/$f && -s $src/$f ]] || die "--docker-tls $src: $f is missing or empty (nuvlagen secrets init writes docker-tls/$node/{ca,cert,key}.pem)"
	done
	if ((8#$(stat -c '%a' -- "$src/key.pem") & 8#077)); then
		warn "$src/key.pem is readable by others: tightening it to 0600"
		run chmod 0600 -- "$src/key.pem"
	fi
	if ! command -v openssl >/dev/null; then
		warn "openssl is not installed: the certificates' chain, address and expiry are not checked here (apt-get install openssl; nuvlagen secrets check DIR checks expiry and CA where the secrets are)"
		return 0
	fi
	# Expiry first: openssl verify refuses an expired certificate too, and
	# would say less.
	openssl x509 -in "$src/cert.pem" -noout -checkend 0 >/dev/null ||
		die "--docker-tls $src: cert.pem has expired"
	openssl x509 -in "$src/ca.pem" -noout -checkend 0 >/dev/null ||
		die "--docker-tls $src: ca.pem has expired"
	openssl verify -CAfile "$src/ca.pem" -purpose sslserver "$src/cert.pem" >/dev/null 2>&1 ||
		die "--docker-tls $src: cert.pem is not a server certificate of ca.pem (openssl verify -CAfile ca.pem -purpose sslserver cert.pem)"
	[[ $(openssl x509 -in "$src/cert.pem" -noout -pubkey) == "$(openssl pkey -in "$src/key.pem" -pubout 2>/dev/null)" ]] ||
		die "--docker-tls $src: key.pem is not the key of cert.pem"
	openssl x509 -in "$src/cert.pem" -noout -checkip "$docker_tls_addr" | grep -q 'does match' ||
		die "--docker-tls $src: cert.pem is not valid for $docker_tls_addr (its subject alternative names must hold the node's address)"
	openssl x509 -in "$src/cert.pem" -noout -checkend $((30 * 86400)) >/dev/null ||
		warn "--docker-tls $src: cert.pem expires within 30 days"
}

# docker_base_execstart prints docker.service's ExecStart as systemd would
# run it without our drop-in: the last ExecStart= of the unit and its other
# drop-ins, an empty one resetting it, continuation lines joined.
docker_base_execstart() {
	local unit line file="" section="" logical="" key value base=""
	unit=$(ask systemctl cat docker.service) || return 1
	while IFS= read -r line || [[ -n $line ]]; do
		if [[ -z $logical && $line == '# /'* ]]; then
			file=${line#'# '} section=""
			continue
		fi
		[[ $file == "$docker_dropin" ]] && continue
		# Each physical line trimmed, continuations joined by one space.
		line=${line#"${line%%[![:space:]]*}"}
		if [[ $line == *\\ ]]; then
			line=${line%\\}
			logical+="${line%"${line##*[![:space:]]}"} "
			continue
		fi
		line=$logical$line logical=""
		case $line in
		'#'* | ';'* | '') continue ;;
		'['*']') section=$line ;;
		*=*)
			[[ $section == '[Service]' ]] || continue
			key=${line%%=*} value=${line#*=}
			key=${key%"${key##*[![:space:]]}"}
			value=${value#"${value%%[![:space:]]*}"}
			[[ $key == ExecStart ]] && base=$value
			;;
		esac
	done <<<"$unit"
	[[ -n $base ]] || return 1
	printf '%s\n' "$base"
}

# docker_dropin_text prints our drop-in for the unit's command line $1.
docker_dropin_text() {
	local base=$1 flags docker_flags
	docker_tls_flags
	flags=$(printf ' %s' "${docker_flags[@]}")
	# Without any -H the unit relies on dockerd's default local socket,
	# which a -H of ours would replace: it is kept by name.
	if ! [[ $base =~ (^|[[:space:]])(-H|--host)([=[:space:]]|$) ]]; then
		flags=" -H unix:///var/run/docker.sock$flags"
	fi
	cat <<EOF
# Written by $prog (nuvlagen) for site $site: the Docker API over TLS with
# client certificates on $docker_tls_addr:$docker_tls_port, for Nuvla. The
# first line resets the unit's ExecStart, the second is the unit's own
# with the TLS listener added. Run $prog again after an upgrade of docker.
[Service]
ExecStart=
ExecStart=$base$flags
EOF
}

# docker_conflicts refuses a unit or daemon.json that already sets what
# the flags set: dockerd would refuse to start, or, for a TCP listener of
# the operator's, --tlsverify would change it silently.
docker_conflicts() {
	local base=$1 conf=$docker_daemon_json
	if [[ $base =~ (^|[[:space:]])(-H|--host)[=[:space:]]*tcp:// ]]; then
		die "docker.service already listens on TCP ($base): remove that listener first (this script never opens a plain TCP listener)"
	fi
	if [[ $base == *--tls* ]]; then
		die "docker.service already passes TLS flags ($base): remove them first"
	fi
	if ask grep -Eqs '"(hosts|tls|tlsverify|tlscacert|tlscert|tlskey)"[[:space:]]*:' "$conf"; then
		die "$conf sets hosts or tls*: dockerd refuses them both as flags and in daemon.json; remove them there (this script adds them to docker.service)"
	fi
}

# docker_same reports whether every file of ours already holds what it
# must: then nothing is written and dockerd is not restarted.
docker_same() {
	local dropin=$1
	"$dry_run" && return 1
	same_file "$docker_tls_dir/ca.pem" 0644 <"$docker_tls_src/ca.pem" &&
		same_file "$docker_tls_dir/cert.pem" 0644 <"$docker_tls_src/cert.pem" &&
		same_file "$docker_tls_dir/key.pem" 0600 <"$docker_tls_src/key.pem" &&
		same_file "$docker_dropin" 0644 <<<"$dropin" &&
		[[ $(stat -c '%U:%G %a' -- "$docker_tls_dir") == "root:root 700" ]]
}

# docker_targets are the files a change replaces, backed up first.
docker_targets() {
	printf '%s\n' "$docker_tls_dir/ca.pem" "$docker_tls_dir/cert.pem" "$docker_tls_dir/key.pem" "$docker_dropin"
}

docker_backup=""
docker_touched=false

# docker_save copies each file of ours that exists to a new backup
# directory; one that does not is marked absent there.
docker_save() {
	local f b targets
	if "$dry_run"; then
		docker_backup="$docker_backups/<UTC time>"
		mapfile -t targets < <(docker_targets)
		say + save "${targets[@]}" to "$docker_backup"
		return 0
	fi
	run install -d -m 0700 -- "$docker_backups"
	docker_backup=$(mktemp -d -- "$docker_backups/$(date -u +%Y%m%dT%H%M%SZ).XXXXXX")
	say + mkdir "$docker_backup"
	while IFS= read -r f; do
		b=$docker_backup/$(basename -- "$f")
		if [[ -e $f ]]; then
			run cp -a -- "$f" "$b"
		else
			run touch -- "$b.absent"
		fi
	done < <(docker_targets)
}

# docker_restore puts the saved files back and restarts dockerd with
# them; it says whether docker came back.
docker_restore() {
	local f b
	trap - EXIT INT TERM HUP
	# Stopped before the first write: the previous state is still there.
	"$docker_touched" || return 0
	warn "restoring the previous Docker configuration from $docker_backup"
	while IFS= read -r f; do
		b=$docker_backup/$(basename -- "$f")
		if [[ -e $b ]]; then
			run cp -a -- "$b" "$f"
		elif [[ -e $b.absent ]]; then
			run rm -f -- "$f"
		fi
	done < <(docker_targets)
	run systemctl daemon-reload || true
	if run systemctl restart docker && docker_up; then
		warn "docker runs again with the previous configuration"
	else
		warn "docker is NOT running with the previous configuration either: see journalctl -u docker"
	fi
}

# docker_up waits up to a minute for dockerd to answer on its local socket
# (to be active, where there is no docker CLI).
docker_up() {
	local i
	"$dry_run" && return 0
	for ((i = 0; i < 60; i++)); do
		if systemctl is-active --quiet docker &&
			{ ! command -v docker >/dev/null || env -u DOCKER_HOST docker version >/dev/null 2>&1; }; then
			return 0
		fi
		sleep 1
	done
	return 1
}

# docker_listening checks that dockerd listens on the TLS port of the
# node's address and on no plain port.
docker_listening() {
	"$dry_run" && return 0
	if ! command -v ss >/dev/null; then
		note "ss is not installed (apt-get install iproute2): the listeners are not checked"
		return 0
	fi
	ss -Hltn "( sport = :$docker_tls_port )" | grep -qF " $docker_tls_addr:$docker_tls_port " || {
		warn "dockerd does not listen on $docker_tls_addr:$docker_tls_port"
		return 1
	}
	if ss -Hltn '( sport = :2375 )' | grep -q .; then
		warn "something listens on 2375, the Docker API without TLS: ss -ltnp 'sport = :2375'"
		return 1
	fi
}

docker_dropin_content=""

# docker_tls_plan reads docker.service and daemon.json and composes the
# drop-in, before anything changes: a unit or daemon.json it cannot
# extend stops the script there.
docker_tls_plan() {
	local base
	if ! base=$(docker_base_execstart); then
		"$dry_run" || die "docker.service has no ExecStart (is docker installed? apt-get install docker.io)"
		base="<docker.service's ExecStart>"
	fi
	docker_conflicts "$base"
	docker_dropin_content=$(docker_dropin_text "$base")
}

# docker_tls installs the certificates and the drop-in docker_tls_plan
# composed, and restarts dockerd when they changed; if it does not come
# back, the previous files are restored and dockerd restarted again.
# Interrupted, it restores too.
docker_tls() {
	local dropin=$docker_dropin_content docker_flags
	if docker_same "$dropin"; then
		docker_listening || warn "the files are in place but dockerd does not serve them: systemctl restart docker"
		return 0
	fi
	changed=true
	trap 'docker_restore; exit 1' EXIT
	trap 'docker_restore; exit 130' INT TERM HUP
	docker_save
	docker_touched=true
	make_dir "$docker_tls_dir" root root 0700
	put_file "$docker_tls_dir/ca.pem" 0644 <"$docker_tls_src/ca.pem"
	put_file "$docker_tls_dir/cert.pem" 0644 <"$docker_tls_src/cert.pem"
	put_file "$docker_tls_dir/key.pem" 0600 <"$docker_tls_src/key.pem"
	put_file "$docker_dropin" 0644 <<<"$dropin"
	docker_tls_flags
	local config=()
	if ask test -f "$docker_daemon_json"; then
		config=(--config-file "$docker_daemon_json")
	fi
	if "$dry_run" || dockerd --help 2>/dev/null | grep -q -- --validate; then
		run dockerd --validate "${config[@]}" "${docker_flags[@]}" || {
			warn "dockerd --validate refuses the new flags"
			exit 1
		}
	else
		note "this dockerd has no --validate (before 23.0): the restart is the check"
	fi
	run systemctl daemon-reload
	if ! run systemctl restart docker || ! docker_up || ! docker_listening; then
		warn "docker did not come back with the Docker API over TLS"
		exit 1
	fi
	trap - EXIT INT TERM HUP
	note "dockerd serves the Docker API over TLS on $docker_tls_addr:$docker_tls_port (previous files in $docker_backup)"
}
