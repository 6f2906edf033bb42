package scripts

import (
	"fmt"
	"path"
	"regexp"
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

// DockerTLSDir is where the prepare script of a target site's manager
// installs the Docker API's certificates (ca.pem, cert.pem, key.pem),
// from the directory docker-tls/<node> of the site's secrets.
const DockerTLSDir = "/etc/docker/nuvla-tls"

// DockerDropIn is the systemd drop-in of docker.service the same script
// writes: the unit's own command line with the TLS listener added.
const DockerDropIn = "/etc/systemd/system/docker.service.d/nuvlagen-docker-tls.conf"

// DockerBackups is where that script keeps the files it replaced.
const DockerBackups = "/var/backups/nuvlagen-docker-tls"

// dockerAPIPort is the firewall port the Docker API over TLS listens on.
const dockerAPIPort = "docker-api"

// nodeTask is what one node's script does.
type nodeTask struct {
	nfsServer, nfsClient bool
	sysctls              []site.Sysctl
	// dockerTLS: the node serves the Docker API over TLS on this port
	// (0: it does not).
	dockerTLS int
}

// Prepare renders prepare/<node>.sh for every node that needs preparing:
// every node sets the kernel's ephemeral port range to the site's; on a
// target site the NFS server exports the share and the others mount it;
// on a host site the nodes Elasticsearch may run on get its kernel
// settings too (vm.max_map_count, vm.swappiness). files are the site's
// rendered NFS files, which the scripts carry verbatim.
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
	if s.Kind == site.KindTarget {
		// Nuvla's job executors drive the Swarm through its managers.
		port, err := DockerTLSPort(s)
		if err != nil {
			return nil, err
		}
		for _, n := range s.Nodes {
			if n.Role == "manager" {
				task(n.Name).dockerTLS = port
			}
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
	w.Comment("#\n# %s prepares node %s (%s) of site %s:\n", name, n.Name, n.Address, s.Name)
	if t.nfsServer {
		w.Comment("#   - the NFS server: installs nfs-kernel-server, pins its daemons to the\n#     ports the firewall opens, creates the share %s and exports it\n#     to the cluster's nodes;\n", s.NFS.Share)
	}
	if t.nfsClient {
		w.Text("#   - an NFS client: installs nfs-common and pins statd and lockd to the\n#     ports the firewall opens;\n")
	}
	for _, sc := range t.sysctls {
		w.Comment("#   - sets %s = %s;\n", sc.Key, sc.Value)
	}
	if t.dockerTLS != 0 {
		w.Comment("#   - serves the Docker API over TLS, with client certificates, on\n#     %s:%s for Nuvla (--docker-tls DIR: the certificates; see --help),\n#     keeping the local socket;\n", n.Address, t.dockerTLS)
	}
	w.Text("# and changes only what differs, so running it again changes nothing.\n")
	w.Text("#\n# A dry run takes nothing to be installed or written yet.\n")
	w.Text(dryRunDoc)
	w.Text("set -euo pipefail\n\n")
	w.Assign("prog", name)
	w.Assign("site", s.Name)
	w.Assign("node", n.Name)
	if t.dockerTLS != 0 {
		if !n.Address.Is4() {
			return nil, fmt.Errorf("internal error: address %s is not IPv4", n.Address)
		}
		w.Assign("docker_tls_addr", n.Address.String())
		w.Assign("docker_tls_port", strconv.Itoa(t.dockerTLS))
		w.Assign("docker_tls_dir", DockerTLSDir)
		w.Assign("docker_dropin", DockerDropIn)
		w.Assign("docker_backups", DockerBackups)
	}
	w.Text("dry_run=false\ndry_exists=false\nchanged=false\n\n")
	w.Helpers()
	w.Text("\n")
	w.Library(libs, "lib/prepare.sh")
	w.Text("\n")
	if t.dockerTLS != 0 {
		w.Library(libs, "lib/prepare-docker-tls.sh")
		w.Text("\n")
	}
	w.Library(libs, "lib/prepare-main.sh")

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
		w.Text("\n# NFS: the daemons' ports first, so they start on them.\n")
		w.Cmd("install_packages", pkg)
		w.Heredoc(string(files[nfsconf.DropIn]), "put_file", nfsconf.DropInTarget, "0644")
		w.Heredoc(string(files[nfsconf.Modprobe]), "put_file", nfsconf.ModprobeTarget, "0644")
		w.Text("ports_changed=$changed\n")
		if t.nfsServer {
			ex, ok := files["nfs/exports"]
			if !ok {
				return nil, fmt.Errorf("internal error: nfs/exports is not rendered")
			}
			w.Text("\n# The share: Minio writes it on this node's disk, the other nodes read it.\n")
			w.Cmd("make_dir", s.NFS.Share, s.NFS.Owner, s.NFS.Group, s.NFS.Mode)
			w.Heredoc(string(ex), "put_file", exports.Target, "0644")
			w.Text("run systemctl enable --now nfs-server\n")
		}
		// Installing the package may already have loaded lockd on its
		// default ports, before the drop-ins existed: its sysctls move it
		// now. statd goes first, then the server, which re-registers
		// everything with rpcbind on the pinned ports.
		lockd := strconv.Itoa(s.NFS.Ports.Lockd)
		w.Text("if \"$ports_changed\"; then\n")
		w.Text("\tif [[ -e /proc/sys/fs/nfs/nlm_tcpport ]] || \"$dry_run\"; then\n")
		w.Text("\t\t")
		w.Cmd("run sysctl -q -w", "fs.nfs.nlm_tcpport="+lockd, "fs.nfs.nlm_udpport="+lockd)
		w.Text("\tfi\n")
		w.Text("\trun systemctl try-restart rpc-statd\n")
		if t.nfsServer {
			w.Text("\trun systemctl restart nfs-server\n")
		}
		w.Text("fi\n")
		if t.nfsServer {
			w.Text("run exportfs -ra\n")
		}
	}
	if len(t.sysctls) > 0 {
		var conf strings.Builder
		conf.WriteString(compose.Header(s.File))
		fmt.Fprintf(&conf, "#\n# %s on node %s of site %s.\n", sysctlTarget, n.Name, s.Name)
		for _, sc := range t.sysctls {
			line, err := sysctlLine(sc)
			if err != nil {
				return nil, err
			}
			conf.WriteString(line)
		}
		w.Text("\n# Kernel settings, now and at every boot.\n")
		w.Heredoc(conf.String(), "put_file", sysctlTarget, "0644")
		w.Cmd("apply_sysctls", sysctlTarget)
	}
	if t.dockerTLS != 0 {
		// Last: it restarts dockerd, which the steps above do not need.
		w.Text("\n# The Docker API over TLS, for Nuvla.\n")
		w.Text("if [[ -n $docker_tls_src ]]; then\n\tdocker_tls\nelse\n")
		w.Text("\twarn \"--no-docker-tls: dockerd is left as it is; Nuvla cannot drive this Swarm until $prog runs with --docker-tls DIR\"\nfi\n")
	}
	w.Text("\nif \"$changed\"; then\n\tnote \"node $node prepared\"\nelse\n\tnote \"node $node was already prepared\"\nfi\n")
	return w.Bytes()
}

// DockerTLSPort is the site's Docker API port (the firewall's docker-api,
// 2376 unless the site renumbers it); never 2375, the port of the API
// without TLS, which clients would take for a plain one.
func DockerTLSPort(s *site.Site) (int, error) {
	if s.Firewall == nil {
		return 2376, nil
	}
	p, ok := s.Firewall.Ports[dockerAPIPort]
	if !ok {
		return 0, fmt.Errorf("site %s: the firewall has no port %s, which the Docker API over TLS listens on", s.Name, dockerAPIPort)
	}
	if p.To != 0 && p.To != p.From || p.From == 2375 {
		return 0, errors.Newf(p.Pos, "firewall port %s: the Docker API over TLS needs one port, not 2375 (the API without TLS)", dockerAPIPort)
	}
	return p.From, nil
}

// sysctlKey and sysctlValue are what sysctl.d(5) reads as one setting; the
// model constrains both further (cue/types.cue), this is the printer's own
// guard: a value that spans lines would add a setting of its own.
var (
	sysctlKey   = regexp.MustCompile(`^[a-z0-9_]+(\.[a-z0-9_-]+)+$`)
	sysctlValue = regexp.MustCompile(`^[A-Za-z0-9_.:-]+( [A-Za-z0-9_.:-]+)*$`)
)

// sysctlLine prints one sysctl.d line.
func sysctlLine(sc site.Sysctl) (string, error) {
	if !sysctlKey.MatchString(sc.Key) {
		return "", fmt.Errorf("sysctl key %q is not one a sysctl.d file can hold", sc.Key)
	}
	if !sysctlValue.MatchString(sc.Value) {
		return "", fmt.Errorf("sysctl %s: value %q is not one line of plain words", sc.Key, sc.Value)
	}
	return sc.Key + " = " + sc.Value + "\n", nil
}
