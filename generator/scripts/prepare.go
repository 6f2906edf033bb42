package scripts

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"cuelang.org/go/cue/errors"

	"github.com/nuvla/nuvlagen/generator/compose"
	"github.com/nuvla/nuvlagen/generator/exports"
	"github.com/nuvla/nuvlagen/generator/nfsconf"
	"github.com/nuvla/nuvlagen/generator/site"
)

// sysctlTarget is where the prepare scripts install kernel settings.
const sysctlTarget = "/etc/sysctl.d/90-nuvlagen.conf"

// PrepareDir is the directory of the prepare scripts in out/<site>/.
const PrepareDir = "prepare"

const prepareUsage = `usage() {
	cat <<'EOF'
Usage: ./%s [--dry-run]

Run as root on node %s (Debian or Ubuntu) before the first deployment,
and again after a change to the site: it only changes what differs.

  --dry-run  print the commands instead of running them
EOF
}
`

// The prepare scripts' functions. installed and put_file compare with the
// node's state; a dry run takes nothing to be there.
const prepareFuncs = `installed() {
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

# put_file writes its standard input to PATH, root's with MODE, unless the
# file already holds exactly that; it sets changed=true when it writes.
put_file() {
	local dest=$1 mode=$2 content tmp
	content=$(
		cat
		printf x
	)
	content=${content%x}
	if ! "$dry_run" && [[ -f $dest ]] &&
		printf '%s' "$content" | cmp -s -- - "$dest" &&
		[[ $(stat -c '%U:%G %a' -- "$dest") == "root:root ${mode#0}" ]]; then
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
`

const prepareArgs = `
while (($#)); do
	case $1 in
	--dry-run) dry_run=true ;;
	-h | --help)
		usage
		exit 0
		;;
	*) usage_error "unknown argument: $1" ;;
	esac
	shift
done
if ! "$dry_run"; then
	((EUID == 0)) || die "run as root"
	command -v apt-get >/dev/null || die "needs apt-get (Debian or Ubuntu)"
fi

note "preparing node $node of site $site"
`

// nodeTask is what one node's script does.
type nodeTask struct {
	nfsServer, nfsClient bool
	sysctls              []site.Sysctl
}

// Prepare renders prepare/<node>.sh for every node that needs preparing:
// on a target site every node (the NFS server exports the share, the
// others mount it), on a host site the nodes whose services need kernel
// settings (vm.max_map_count where Elasticsearch may run). files are the
// site's rendered NFS files, which the scripts carry verbatim.
func Prepare(s *site.Site, files map[string][]byte) (map[string][]byte, error) {
	tasks := map[string]*nodeTask{}
	task := func(n string) *nodeTask {
		if tasks[n] == nil {
			tasks[n] = &nodeTask{}
		}
		return tasks[n]
	}
	if s.NFS != nil {
		// Clients only read; the guide's 777 would let any local user of
		// the server rewrite Minio's data.
		mode, err := strconv.ParseUint(s.NFS.Mode, 8, 32)
		if err != nil {
			return nil, errors.Newf(s.Pos("nfs", "mode"), "nfs.mode %q: %v", s.NFS.Mode, err)
		}
		if mode&0o002 != 0 {
			return nil, errors.Newf(s.Pos("nfs", "mode"), "nfs.mode %s makes the share writable by every user of the NFS server: use 0755 (Minio writes as root)", s.NFS.Mode)
		}
		for _, n := range s.Nodes {
			t := task(n.Name)
			t.nfsServer, t.nfsClient = n.NFSServer, !n.NFSServer
		}
	}
	for _, sc := range s.Sysctls {
		nodes := s.NodesSatisfying(sc.Constraints)
		if len(nodes) == 0 {
			return nil, fmt.Errorf("site %s: sysctl %s: no node satisfies %s", s.Name, sc.Key, strings.Join(sc.Constraints, " && "))
		}
		for _, n := range nodes {
			t := task(n.Name)
			t.sysctls = append(t.sysctls, sc)
		}
	}
	out := map[string][]byte{}
	for _, n := range s.Nodes {
		t := tasks[n.Name]
		if t == nil {
			continue
		}
		b, err := prepareNode(s, n, t, files)
		if err != nil {
			return nil, fmt.Errorf("site %s, node %s: %w", s.Name, n.Name, err)
		}
		out[path.Join(PrepareDir, n.Name+".sh")] = b
	}
	return out, nil
}

func prepareNode(s *site.Site, n site.Node, t *nodeTask, files map[string][]byte) ([]byte, error) {
	name := n.Name + ".sh"
	w := newScript(s.File)
	w.rawf("#\n# %s prepares node %s (%s) of site %s:\n", name, n.Name, n.Address, s.Name)
	if t.nfsServer {
		w.rawf("#   - the NFS server: installs nfs-kernel-server, pins its daemons to the\n#     ports the firewall opens, creates the share %s and exports it\n#     to the cluster's nodes;\n", s.NFS.Share)
	}
	if t.nfsClient {
		w.raw("#   - an NFS client: installs nfs-common and pins statd and lockd to the\n#     ports the firewall opens;\n")
	}
	for _, sc := range t.sysctls {
		w.rawf("#   - sets %s = %s;\n", sc.Key, sc.Value)
	}
	w.raw("# and changes only what differs, so running it again changes nothing.\n")
	w.raw("#\n# A dry run takes nothing to be installed or written yet.\n")
	w.raw(dryRunDoc)
	w.raw("set -euo pipefail\n\n")
	w.raw("prog=" + w.quote(name) + "\n")
	w.raw("site=" + w.quote(s.Name) + "\n")
	w.raw("node=" + w.quote(n.Name) + "\n")
	w.raw("dry_run=false\ndry_exists=false\nchanged=false\n\n")
	w.raw(helpers + "\n")
	w.rawf(prepareUsage, name, n.Name)
	w.raw("\n" + prepareFuncs)
	w.raw(prepareArgs)

	if t.nfsServer || t.nfsClient {
		for _, p := range []string{nfsconf.DropIn, nfsconf.Modprobe} {
			if _, ok := files[p]; !ok {
				return nil, fmt.Errorf("internal error: %s is not rendered", p)
			}
		}
		pkg := "nfs-common"
		if t.nfsServer {
			pkg = "nfs-kernel-server"
		}
		w.raw("\n# NFS: the daemons' ports first, so they start on them.\n")
		w.cmd("install_packages", pkg)
		w.heredoc(string(files[nfsconf.DropIn]), "put_file", nfsconf.DropInTarget, "0644")
		w.heredoc(string(files[nfsconf.Modprobe]), "put_file", nfsconf.ModprobeTarget, "0644")
		w.raw("ports_changed=$changed\n")
		if t.nfsServer {
			ex, ok := files["nfs/exports"]
			if !ok {
				return nil, fmt.Errorf("internal error: nfs/exports is not rendered")
			}
			w.raw("\n# The share: Minio writes it on this node's disk, the other nodes read it.\n")
			w.cmd("make_dir", s.NFS.Share, s.NFS.Owner, s.NFS.Group, s.NFS.Mode)
			w.heredoc(string(ex), "put_file", exports.Target, "0644")
			w.raw("run systemctl enable --now nfs-server\n")
		}
		// Installing the package may already have loaded lockd on its
		// default ports, before the drop-ins existed: its sysctls move it
		// now. statd goes first, then the server, which re-registers
		// everything with rpcbind on the pinned ports.
		lockd := strconv.Itoa(s.NFS.Ports.Lockd)
		w.raw("if \"$ports_changed\"; then\n")
		w.raw("\tif [[ -e /proc/sys/fs/nfs/nlm_tcpport ]] || \"$dry_run\"; then\n")
		w.raw("\t\trun sysctl -q -w fs.nfs.nlm_tcpport=" + lockd + " fs.nfs.nlm_udpport=" + lockd + "\n")
		w.raw("\tfi\n")
		w.raw("\trun systemctl try-restart rpc-statd\n")
		if t.nfsServer {
			w.raw("\trun systemctl restart nfs-server\n")
		}
		w.raw("fi\n")
		if t.nfsServer {
			w.raw("run exportfs -ra\n")
		}
	}
	if len(t.sysctls) > 0 {
		var conf strings.Builder
		conf.WriteString(compose.Header(s.File))
		fmt.Fprintf(&conf, "#\n# %s on node %s of site %s.\n", sysctlTarget, n.Name, s.Name)
		for _, sc := range t.sysctls {
			fmt.Fprintf(&conf, "%s = %s\n", sc.Key, sc.Value)
		}
		w.raw("\n# Kernel settings, now and at every boot.\n")
		w.heredoc(conf.String(), "put_file", sysctlTarget, "0644")
		w.cmd("run sysctl -p", sysctlTarget)
	}
	w.raw("\nif \"$changed\"; then\n\tnote \"node $node prepared\"\nelse\n\tnote \"node $node was already prepared\"\nfi\n")
	return w.bytes()
}
