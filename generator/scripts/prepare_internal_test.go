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

// TestApplySysctls runs apply_sysctls with a stand-in sysctl (a kernel of
// one setting, in a file) and systemctl: a changed ephemeral port range
// while dockerd runs is said, since dockerd reads it only when it starts.
func TestApplySysctls(t *testing.T) {
	for _, tc := range []struct {
		name, conf, kernel string
		dockerActive       bool
		warn               bool
	}{
		{"the range changes, docker runs", "net.ipv4.ip_local_port_range = 40000 49999\n", "32768\t60999", true, true},
		{"the range changes, no docker yet", "net.ipv4.ip_local_port_range = 40000 49999\n", "32768\t60999", false, false},
		{"the range as it was", "net.ipv4.ip_local_port_range = 32768 60999\n", "32768\t60999", true, false},
		{"no range in the file", "vm.max_map_count = 262144\n", "32768\t60999", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "bin")
			kernel := filepath.Join(dir, "kernel")
			active := "exit 3"
			if tc.dockerActive {
				active = "exit 0"
			}
			for name, body := range map[string]string{
				// -n KEY prints the range; -p FILE sets it from FILE.
				"sysctl": `case $1 in
-n) cat "$KERNEL" ;;
-p) v=$(sed -n 's/^net.ipv4.ip_local_port_range = //p' "$2"); [[ -z $v ]] || printf '%s\n' "${v/ /$'\t'}" >"$KERNEL" ;;
esac`,
				"systemctl": `[[ "$*" == "is-active --quiet docker" ]] || exit 99; ` + active,
			} {
				if err := os.MkdirAll(bin, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/usr/bin/env bash\n"+body+"\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(kernel, []byte(tc.kernel+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			conf := filepath.Join(dir, "90-nuvlagen.conf")
			if err := os.WriteFile(conf, []byte(tc.conf), 0o644); err != nil {
				t.Fatal(err)
			}
			prog := "set -euo pipefail\nprog=test\ndry_run=false\ndry_exists=false\nchanged=false\n" +
				library(t, "../shell/lib/helpers.sh") + library(t, "lib/prepare.sh") + "\napply_sysctls \"$1\"\n"
			cmd := exec.Command("bash", "-c", prog, "bash", conf)
			cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "KERNEL=" + kernel}
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("%v\n%s", err, stderr.String())
			}
			if want := "+ sysctl -p " + conf + "\n"; stdout.String() != want {
				t.Errorf("stdout %q, want %q", stdout.String(), want)
			}
			want := ""
			if tc.warn {
				want = "test: warning: the ephemeral port range changed from 32768-60999 to 40000-49999: dockerd reads it when it starts, so its containers' published ports come from the new range only after docker restarts (systemctl restart docker, which restarts the containers of this node)\n"
			}
			if stderr.String() != want {
				t.Errorf("stderr %q, want %q", stderr.String(), want)
			}
		})
	}
}
