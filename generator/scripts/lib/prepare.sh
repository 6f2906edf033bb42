# shellcheck shell=bash
# prepare/<node>.sh's usage, functions and argument parsing. The generated
# part sets prog, site, node, changed and the helpers before this.
# shellcheck disable=SC2154,SC2034

usage() {
	if [[ -z ${docker_tls_addr-} ]]; then
		cat <<EOF
Usage: ./$prog [--dry-run]

Run as root on node $node (Debian or Ubuntu) before the first deployment,
and again after a change to the site: it only changes what differs.

  --dry-run  print the commands instead of running them
EOF
		return
	fi
	cat <<EOF
Usage: ./$prog [--dry-run] (--docker-tls DIR | --no-docker-tls)

Run as root on node $node (Debian or Ubuntu) before the first deployment,
and again after a change to the site: it only changes what differs.

  --dry-run           print the commands instead of running them
  --docker-tls DIR    serve the Docker API over TLS on ${docker_tls_addr-}:${docker_tls_port-}
                      for Nuvla, with DIR's ca.pem, cert.pem and key.pem: the
                      directory docker-tls/$node of the site's secrets
                      (nuvlagen secrets init), copied to this node; restarts
                      dockerd when its configuration changes
  --no-docker-tls     leave dockerd alone (Nuvla cannot reach this Swarm then)
EOF
}

installed() {
	# shellcheck disable=SC2016 # ${Status} is dpkg-query's, not the shell's
	ask dpkg-query --show --showformat '${Status}' "$1" 2>/dev/null | grep -qx 'install ok installed'
}

install_packages() {
	local missing=() pkg
	for pkg in "$@"; do
		installed "$pkg" || missing+=("$pkg")
	done
	((${#missing[@]})) || return 0
	run apt-get update
	run env DEBIAN_FRONTEND=noninteractive apt-get install --yes --no-install-recommends "${missing[@]}"
}

# same_file reports whether PATH holds exactly its standard input and is
# root's with MODE.
same_file() {
	local dest=$1 mode=$2
	[[ -f $dest ]] && cmp -s -- - "$dest" &&
		[[ $(stat -c '%U:%G %a' -- "$dest") == "root:root ${mode#0}" ]]
}

# put_file writes its standard input to PATH, root's with MODE, unless the
# file already holds exactly that; it sets changed=true when it writes.
put_file() {
	local dest=$1 mode=$2 content tmp
	content=$(
		cat
		printf x
	)
	content=${content%x}
	if ! "$dry_run" && printf '%s' "$content" | same_file "$dest" "$mode"; then
		return 0
	fi
	changed=true
	say + write "$dest" "$mode"
	"$dry_run" && return 0
	mkdir -p -- "$(dirname -- "$dest")"
	tmp=$(mktemp -- "$dest.XXXXXX")
	printf '%s' "$content" >"$tmp"
	chown root:root -- "$tmp"
	chmod "$mode" -- "$tmp"
	mv -f -- "$tmp" "$dest"
}

# make_dir creates directory PATH owned by OWNER:GROUP with MODE, or sets
# those on an existing one; its content is left alone.
make_dir() {
	local dir=$1 owner=$2 group=$3 mode=$4
	if ! "$dry_run" && [[ -d $dir ]] &&
		[[ $(stat -c '%U:%G %a' -- "$dir") == "$owner:$group ${mode#0}" ]]; then
		return 0
	fi
	run install -d -o "$owner" -g "$group" -m "$mode" -- "$dir"
}

# apply_sysctls loads the settings of FILE, a sysctl.d file. dockerd reads
# the ephemeral port range once, when it starts: after a change it still
# gives containers published ports from the old range, which the firewall
# does not open to users, until docker restarts. That restarts the node's
# containers, the operator's call: it is said, not done.
apply_sysctls() {
	local file=$1 key=net.ipv4.ip_local_port_range before="" after
	if ! "$dry_run" && grep -q "^$key = " -- "$file"; then
		before=$(sysctl -n "$key")
	fi
	run sysctl -p "$file"
	[[ -n $before ]] || return 0
	after=$(sysctl -n "$key")
	if [[ $after != "$before" ]] && systemctl is-active --quiet docker; then
		warn "the ephemeral port range changed from ${before//[[:space:]]/-} to ${after//[[:space:]]/-}: dockerd reads it when it starts, so its containers' published ports come from the new range only after docker restarts (systemctl restart docker, which restarts the containers of this node)"
	fi
}
