package nfsconf

import (
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"

	"github.com/nuvla/nuvlagen/generator/diag"
	"github.com/nuvla/nuvlagen/generator/site"
)

func TestCheckPortTable(t *testing.T) {
	p := site.NFSPorts{RPCBind: 111, NFSD: 2049, Mountd: 33333, Statd: 32765, Lockd: 32767}
	ctx := cuecontext.New()
	for _, tc := range []struct {
		name, table string
		want        []string
	}{
		{"agree", `{
	rpcbind: {from: 111, protocols: ["tcp", "udp"]}
	nfsd: {from: 2049, protocols: ["tcp", "udp"]}
	mountd: {from: 33333, protocols: ["tcp", "udp"]}
	statd: {from: 32765, protocols: ["tcp", "udp"]}
	lockd: {from: 32767, to: 32767, protocols: ["udp", "tcp"]}
	ssh: {from: 22, protocols: ["tcp"]}
}`, nil},
		// The seed's table, as a firewall model written from it alone has it.
		{"seed", `{
	rpcbind: {from: 111, protocols: ["tcp", "udp"]}
	nfsd: {from: 2049, protocols: ["tcp", "udp"]}
	mountd: {from: 20048, protocols: ["tcp"]}
}`, []string{
			"fw.cue:4:2: firewall.ports.mountd opens 20048 where the NFS configuration pins 33333 (nfs.ports.mountd)",
			"fw.cue:4:2: firewall.ports.mountd lacks udp (nfs.ports.mountd)",
			"fw.cue:1:1: firewall.ports has no statd: the NFS configuration pins statd to 32765 (tcp and udp), so the firewall must open it to the cluster",
			"fw.cue:1:1: firewall.ports has no lockd: the NFS configuration pins lockd to 32767 (tcp and udp), so the firewall must open it to the cluster",
		}},
		{"range", `{
	rpcbind: {from: 111, protocols: ["tcp", "udp"]}
	nfsd: {from: 2049, protocols: ["tcp", "udp"]}
	mountd: {from: 33333, protocols: ["tcp", "udp"]}
	statd: {from: 32765, to: 32767, protocols: ["tcp", "udp"]}
	lockd: {from: 32767, protocols: ["tcp", "udp"]}
}`, []string{"fw.cue:5:2: firewall.ports.statd opens 32765-32767 where the NFS configuration pins 32765 (nfs.ports.statd)"}},
	} {
		v := ctx.CompileString(tc.table, cue.Filename("fw.cue"))
		if err := v.Err(); err != nil {
			t.Fatal(err)
		}
		err := checkPortTable(p, table(t, v), v.Pos)
		got := diag.Lines(err, "")
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

// table decodes a firewall.ports value as the site loader does, each
// port at its position.
func table(t *testing.T, v cue.Value) map[string]site.FirewallPort {
	t.Helper()
	var raw map[string]struct {
		From      int      `json:"from"`
		To        int      `json:"to"`
		Protocols []string `json:"protocols"`
	}
	if err := v.Decode(&raw); err != nil {
		t.Fatal(err)
	}
	out := map[string]site.FirewallPort{}
	for name, p := range raw {
		out[name] = site.FirewallPort{From: p.From, To: p.To, Protocols: p.Protocols, Pos: v.LookupPath(cue.MakePath(cue.Str(name))).Pos()}
	}
	return out
}
