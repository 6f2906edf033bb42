// Package nfsconf renders the NFS server configuration of a target site
// that pins the NFS daemons to the ports the firewall opens, and checks
// that the rendered files and the model's ports agree.
package nfsconf

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nuvla/nuvlagen/generator/compose"
	"github.com/nuvla/nuvlagen/generator/site"
)

// Paths of the rendered files in out/<site>/, and where the prepare
// script installs them on the nodes.
const (
	DropIn         = "nfs/nfs.conf.d/nuvlagen.conf"
	DropInTarget   = "/etc/nfs.conf.d/nuvlagen.conf"
	Modprobe       = "nfs/modprobe.d/nuvlagen-lockd.conf"
	ModprobeTarget = "/etc/modprobe.d/nuvlagen-lockd.conf"
)

// Port is one NFS port the firewall opens, TCP and UDP.
type Port struct {
	Name string // the field of nfs.ports: rpcbind, nfsd, mountd, statd, lockd
	Port int
}

// Ports lists a site's NFS ports in a stable order, for the firewall.
func Ports(p site.NFSPorts) []Port {
	return []Port{
		{"rpcbind", p.RPCBind},
		{"nfsd", p.NFSD},
		{"mountd", p.Mountd},
		{"statd", p.Statd},
		{"lockd", p.Lockd},
	}
}

// Render returns the nfs.conf drop-in and the lockd module options of a
// target site, by their paths in out/<site>/, checked against the model.
// Both go on every node: the server's daemons listen on the ports, and a
// client's statd and lockd receive the server's callbacks on them.
func Render(s *site.Site) (map[string][]byte, error) {
	if s.NFS == nil {
		return nil, nil
	}
	p := s.NFS.Ports
	h := compose.Header(s.File)
	var conf bytes.Buffer
	conf.WriteString(h)
	fmt.Fprintf(&conf, `#
# %s on every node of site %s: pins the NFS daemons
# to the ports the firewall opens (nfs.ports in the model). rpcbind keeps
# its protocol port %d. Read by nfs-utils 2.x (Debian 12, Ubuntu 22.04 and
# later); [lockd] is applied by rpc.statd.
[nfsd]
port=%d

[mountd]
port=%d

[statd]
port=%d

[lockd]
port=%d
udp-port=%d
`, DropInTarget, s.Name, p.RPCBind, p.NFSD, p.Mountd, p.Statd, p.Lockd, p.Lockd)

	var mod bytes.Buffer
	mod.WriteString(h)
	fmt.Fprintf(&mod, `#
# %s on every node of site %s: lockd's ports
# when the module loads, before any NFS daemon starts.
options lockd nlm_tcpport=%d nlm_udpport=%d
`, ModprobeTarget, s.Name, p.Lockd, p.Lockd)

	files := map[string][]byte{DropIn: conf.Bytes(), Modprobe: mod.Bytes()}
	if err := Check(p, files); err != nil {
		return nil, fmt.Errorf("site %s: NFS configuration disagrees with nfs.ports: %w", s.Name, err)
	}
	return files, nil
}

// Check reads the rendered files back and fails unless every daemon is
// pinned to exactly the port the model declares (and so the firewall
// opens), and no two daemons share a port.
func Check(p site.NFSPorts, files map[string][]byte) error {
	var problems []string
	if p.RPCBind != 111 {
		problems = append(problems, fmt.Sprintf("rpcbind is %d: clients only look for it on 111", p.RPCBind))
	}
	byPort := map[int]string{}
	for _, port := range Ports(p) {
		if other, dup := byPort[port.Port]; dup {
			problems = append(problems, fmt.Sprintf("%s and %s both use port %d", other, port.Name, port.Port))
		}
		byPort[port.Port] = port.Name
	}

	conf, err := parseINI(files[DropIn])
	if err != nil {
		problems = append(problems, fmt.Sprintf("%s: %v", DropIn, err))
	}
	want := map[string]int{
		"nfsd.port":      p.NFSD,
		"mountd.port":    p.Mountd,
		"statd.port":     p.Statd,
		"lockd.port":     p.Lockd,
		"lockd.udp-port": p.Lockd,
	}
	problems = append(problems, compare(DropIn, conf, want)...)

	mod, err := parseModprobe(files[Modprobe])
	if err != nil {
		problems = append(problems, fmt.Sprintf("%s: %v", Modprobe, err))
	}
	problems = append(problems, compare(Modprobe, mod, map[string]int{
		"lockd.nlm_tcpport": p.Lockd,
		"lockd.nlm_udpport": p.Lockd,
	})...)
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

// compare reports keys that are missing, differ, or pin ports the model
// does not know (any key ending in "port").
func compare(file string, have map[string]string, want map[string]int) []string {
	var out []string
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v, ok := have[k]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s: %s is not set, want %d", file, k, want[k]))
		case v != strconv.Itoa(want[k]):
			out = append(out, fmt.Sprintf("%s: %s is %s, the model says %d", file, k, v, want[k]))
		}
	}
	extra := make([]string, 0)
	for k := range have {
		if _, ok := want[k]; !ok && strings.HasSuffix(k, "port") {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	for _, k := range extra {
		out = append(out, fmt.Sprintf("%s: %s pins a port the model does not declare", file, k))
	}
	return out
}

// parseINI reads nfs.conf syntax into "section.key" -> value.
func parseINI(b []byte) (map[string]string, error) {
	out := map[string]string{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("line %d: bad section header %q", n, line)
			}
			section = strings.TrimSpace(line[1 : len(line)-1])
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				return nil, fmt.Errorf("line %d: want key=value inside a [section]: %q", n, line)
			}
			key := section + "." + strings.TrimSpace(k)
			if _, dup := out[key]; dup {
				return nil, fmt.Errorf("line %d: %s set twice", n, key)
			}
			out[key] = strings.TrimSpace(v)
		}
	}
	return out, sc.Err()
}

// parseModprobe reads "options MODULE key=value..." lines into
// "module.key" -> value.
func parseModprobe(b []byte) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if f[0] != "options" || len(f) < 3 {
			return nil, fmt.Errorf("line %d: want \"options MODULE key=value...\"", n)
		}
		for _, kv := range f[2:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return nil, fmt.Errorf("line %d: %q is not key=value", n, kv)
			}
			out[f[1]+"."+k] = v
		}
	}
	return out, sc.Err()
}

// CheckOpened is the firewall's side of the agreement: it fails unless
// opened reports every NFS port of the site open, for TCP and for UDP. A
// firewall generator calls it with its own rule model, so that a firewall
// and an NFS configuration rendered from one site cannot disagree.
func CheckOpened(p site.NFSPorts, opened func(port int, proto string) bool) error {
	var closed []string
	for _, port := range Ports(p) {
		for _, proto := range []string{"tcp", "udp"} {
			if !opened(port.Port, proto) {
				closed = append(closed, fmt.Sprintf("%s %d/%s", port.Name, port.Port, proto))
			}
		}
	}
	if len(closed) > 0 {
		return fmt.Errorf("the firewall does not open the NFS ports the NFS configuration pins: %s", strings.Join(closed, ", "))
	}
	return nil
}
