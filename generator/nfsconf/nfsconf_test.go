package nfsconf

import (
	"bytes"
	"strings"
	"testing"

	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/generator/site/sitetest"
)

func target(t *testing.T) *site.Site {
	t.Helper()
	return sitetest.Kind(t, site.KindTarget)
}

func TestRenderAgreesWithModel(t *testing.T) {
	s := target(t)
	files, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	p := s.NFS.Ports
	// The values the firewall engineer's table relies on.
	if p != (site.NFSPorts{RPCBind: 111, NFSD: 2049, Mountd: 33333, Statd: 29765, Lockd: 29767}) {
		t.Errorf("default NFS ports changed: %+v", p)
	}
	for _, want := range []string{"[mountd]\nport=33333\n", "[statd]\nport=29765\n", "[lockd]\nport=29767\nudp-port=29767\n", "[nfsd]\nport=2049\n"} {
		if !bytes.Contains(files[DropIn], []byte(want)) {
			t.Errorf("%s lacks %q:\n%s", DropIn, want, files[DropIn])
		}
	}
	if !bytes.Contains(files[Modprobe], []byte("options lockd nlm_tcpport=29767 nlm_udpport=29767\n")) {
		t.Errorf("%s:\n%s", Modprobe, files[Modprobe])
	}
}

func TestCheckCatchesDisagreement(t *testing.T) {
	s := target(t)
	good, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(path, old, new string) map[string][]byte {
		out := map[string][]byte{}
		for k, v := range good {
			out[k] = v
		}
		if !bytes.Contains(out[path], []byte(old)) {
			t.Fatalf("%s has no %q", path, old)
		}
		out[path] = bytes.Replace(out[path], []byte(old), []byte(new), 1)
		return out
	}
	for _, tc := range []struct {
		name  string
		ports site.NFSPorts
		files map[string][]byte
		want  string
	}{
		{"mountd moved", s.NFS.Ports, edit(DropIn, "port=33333", "port=20048"), DropIn + ": mountd.port is 20048, the model says 33333"},
		{"statd unpinned", s.NFS.Ports, edit(DropIn, "[statd]\nport=29765\n", "[statd]\n"), DropIn + ": statd.port is not set, want 29765"},
		{"extra pin", s.NFS.Ports, edit(DropIn, "\n[lockd]\n", "\n[statd]\noutgoing-port=1000\n[lockd]\n"), DropIn + ": statd.outgoing-port pins a port the model does not declare"},
		{"lockd module", s.NFS.Ports, edit(Modprobe, "nlm_udpport=29767", "nlm_udpport=4045"), Modprobe + ": lockd.nlm_udpport is 4045, the model says 29767"},
		{"model moved", site.NFSPorts{RPCBind: 111, NFSD: 2049, Mountd: 892, Statd: 29765, Lockd: 29767}, good, DropIn + ": mountd.port is 33333, the model says 892"},
		{"shared port", site.NFSPorts{RPCBind: 111, NFSD: 2049, Mountd: 33333, Statd: 33333, Lockd: 29767}, good, "mountd and statd both use port 33333"},
		{"rpcbind", site.NFSPorts{RPCBind: 112, NFSD: 2049, Mountd: 33333, Statd: 29765, Lockd: 29767}, good, "rpcbind is 112"},
	} {
		err := Check(tc.ports, tc.files)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Check = %v, want it to say %q", tc.name, err, tc.want)
		}
	}
}

func TestCheckOpened(t *testing.T) {
	p := target(t).NFS.Ports
	// The seed's table: 111, 2049 and 33333, TCP and UDP.
	seed := func(port int, proto string) bool { return port == 111 || port == 2049 || port == 33333 }
	err := CheckOpened(p, seed)
	want := "the firewall does not open the NFS ports the NFS configuration pins: statd 29765/tcp, statd 29765/udp, lockd 29767/tcp, lockd 29767/udp"
	if err == nil || err.Error() != want {
		t.Errorf("CheckOpened(seed) = %v, want %q", err, want)
	}
	all := map[int]bool{}
	for _, port := range Ports(p) {
		all[port.Port] = true
	}
	if err := CheckOpened(p, func(port int, proto string) bool { return all[port] }); err != nil {
		t.Error(err)
	}
	tcpOnly := func(port int, proto string) bool { return all[port] && proto == "tcp" }
	if err := CheckOpened(p, tcpOnly); err == nil || !strings.Contains(err.Error(), "mountd 33333/udp") {
		t.Errorf("CheckOpened(tcp only) = %v", err)
	}
}

func TestSiteMovesPorts(t *testing.T) {
	l, err := site.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	src := `package nuvla

kind:   "target"
domain: "t.example.org"
name:   "t"
nodes: a: {address: "10.0.0.1", role: "manager", nfsServer: true}
groups: {
	management: ["10.1.0.0/24"]
	nuvla: ["10.2.0.1/32"]
}
nfs: ports: {mountd: 20048, statd: 662, lockd: 4045}
`
	sites, err := l.Load("t.cue", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	files, err := Render(sites[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[mountd]\nport=20048\n", "[statd]\nport=662\n", "[lockd]\nport=4045\nudp-port=4045\n"} {
		if !bytes.Contains(files[DropIn], []byte(want)) {
			t.Errorf("%s lacks %q", DropIn, want)
		}
	}
	// rpcbind is the protocol's: the model does not let a site move it.
	if _, err := l.Load("t.cue", []byte(src+"nfs: ports: rpcbind: 112\n")); err == nil {
		t.Error("a site moved rpcbind")
	}
}
