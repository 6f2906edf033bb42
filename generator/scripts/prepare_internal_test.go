package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nuvla/nuvlagen/generator/diag"
	"github.com/nuvla/nuvlagen/generator/site"
)

// TestPutFileAndMakeDir runs the prepare scripts' file functions for real,
// in a temporary directory: the first call writes, the second changes
// nothing, a changed content or mode is rewritten.
func TestPutFileAndMakeDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("put_file makes files root's: needs root")
	}
	dir := t.TempDir()
	prog := `set -euo pipefail
prog=test
dry_run=false
dry_exists=false
changed=false
` + library(t, "../shell/lib/helpers.sh") + library(t, "lib/prepare.sh") + `
f=$1/etc/x.d/a.conf
put_file "$f" 0640 <<'EOF'
line 1
line 2
EOF
echo "first changed=$changed"
changed=false
put_file "$f" 0640 <<'EOF'
line 1
line 2
EOF
echo "second changed=$changed"
chmod 0644 "$f"
put_file "$f" 0640 <<'EOF'
line 1
line 2
EOF
echo "mode changed=$changed"
changed=false
put_file "$f" 0640 <<'EOF'
line 1
EOF
echo "content changed=$changed"
stat -c '%a %U:%G' "$f"
make_dir "$1/share" root root 0755
make_dir "$1/share" root root 0755
chmod 0777 "$1/share"
make_dir "$1/share" root root 0755
stat -c '%a %U:%G' "$1/share"
`
	out, err := exec.Command("bash", "-c", prog, "bash", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got := strings.ReplaceAll(string(out), dir, "D")
	want := `+ write D/etc/x.d/a.conf 0640
first changed=true
second changed=false
+ write D/etc/x.d/a.conf 0640
mode changed=true
+ write D/etc/x.d/a.conf 0640
content changed=true
640 root:root
+ install -d -o root -g root -m 0755 -- D/share
+ install -d -o root -g root -m 0755 -- D/share
755 root:root
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "etc/x.d/a.conf")); string(b) != "line 1\n" {
		t.Errorf("content %q", b)
	}
}

func TestPrepareRefusesWorldWritableShare(t *testing.T) {
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
nfs: mode: "0777"
`
	sites, err := l.Load("t.cue", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Prepare(sites[0], nil)
	got := strings.Join(diag.Lines(err, ""), "\n")
	want := "t.cue:11:12: nfs.mode 0777 makes the share writable by every user of the NFS server: use 0755 (Minio writes as root)"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// library reads a library file of this package or of package shell.
func library(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDockerTLSPort(t *testing.T) {
	tests := []struct {
		name  string
		ports map[string]site.FirewallPort
		want  int
		err   string
	}{
		{"the model's", map[string]site.FirewallPort{"docker-api": {From: 2376}}, 2376, ""},
		{"renumbered", map[string]site.FirewallPort{"docker-api": {From: 12376}}, 12376, ""},
		{"the plain port", map[string]site.FirewallPort{"docker-api": {From: 2375}}, 0, "firewall port docker-api: the Docker API over TLS needs one port, not 2375 (the API without TLS)"},
		{"a range", map[string]site.FirewallPort{"docker-api": {From: 2376, To: 2377}}, 0, "firewall port docker-api: the Docker API over TLS needs one port, not 2375 (the API without TLS)"},
		{"none", map[string]site.FirewallPort{}, 0, "site t: the firewall has no port docker-api, which the Docker API over TLS listens on"},
	}
	for _, tt := range tests {
		got, err := DockerTLSPort(&site.Site{Name: "t", Firewall: &site.Firewall{Ports: tt.ports}})
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("%s: got %d, %v; want error %q", tt.name, got, err, tt.err)
			}
		} else if err != nil || got != tt.want {
			t.Errorf("%s: got %d, %v; want %d", tt.name, got, err, tt.want)
		}
	}
}
