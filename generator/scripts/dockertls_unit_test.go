package scripts_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nuvla/nuvlagen/generator/pki"
)

// TestDockerDropin runs the generated script's own functions on units as
// systemctl cat prints them: the drop-in's command line is the unit's own
// (its last ExecStart, ours left out) with the TLS flags, and a unit or
// daemon.json that already sets a listener or TLS is refused.
func TestDockerDropin(t *testing.T) {
	script := rendered(t)["example-target"]["prepare/"+managerNode+".sh"]
	prelude := scriptPrelude(t, script)
	const dropin = "/etc/systemd/system/docker.service.d/nuvlagen-docker-tls.conf"
	const flags = " -H tcp://203.0.113.10:2376 --tlsverify --tlscacert=/etc/docker/nuvla-tls/ca.pem --tlscert=/etc/docker/nuvla-tls/cert.pem --tlskey=/etc/docker/nuvla-tls/key.pem"
	const debian = "# /lib/systemd/system/docker.service\n[Unit]\nDescription=Docker\n\n[Service]\nType=notify\nExecStart=/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock $DOCKER_OPTS\nExecReload=/bin/kill -s HUP $MAINPID\n"
	tests := []struct {
		name, unit, daemonJSON string
		want                   string // the drop-in's ExecStart, or the error
	}{
		{"debian", debian, "", "/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock $DOCKER_OPTS" + flags},
		{"ours left out", debian + "\n# " + dropin + "\n[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd -H fd:// --old" + flags + "\n", "",
			"/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock $DOCKER_OPTS" + flags},
		{"operator's drop-in", debian + "\n# /etc/systemd/system/docker.service.d/override.conf\n[Service]\nExecStart=\n ExecStart = /usr/bin/dockerd -H fd:// \\\n\t--log-level warn\n", "",
			"/usr/bin/dockerd -H fd:// --log-level warn" + flags},
		{"no -H keeps the default socket", "# /lib/systemd/system/docker.service\n[Service]\nExecStart=/usr/bin/dockerd\n", `{"log-level": "info"}`,
			"/usr/bin/dockerd -H unix:///var/run/docker.sock" + flags},
		{"[Install] is not [Service]", debian + "[Install]\nExecStart=/bin/false\n", "", "/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock $DOCKER_OPTS" + flags},
		{"plain TCP listener", "# /lib/systemd/system/docker.service\n[Service]\nExecStart=/usr/bin/dockerd -H fd:// -H tcp://0.0.0.0:2375\n", "",
			"error: docker.service already listens on TCP (/usr/bin/dockerd -H fd:// -H tcp://0.0.0.0:2375): remove that listener first (this script never opens a plain TCP listener)"},
		{"TLS flags", "# /lib/systemd/system/docker.service\n[Service]\nExecStart=/usr/bin/dockerd -H fd:// --tlsverify\n", "",
			"error: docker.service already passes TLS flags (/usr/bin/dockerd -H fd:// --tlsverify): remove them first"},
		{"hosts in daemon.json", debian, "{\n  \"hosts\" : [\"unix:///var/run/docker.sock\"]\n}\n",
			"error: DAEMON_JSON sets hosts or tls*: dockerd refuses them both as flags and in daemon.json; remove them there (this script adds them to docker.service)"},
		{"tlsverify in daemon.json", debian, `{"tlsverify": false}`, "error: DAEMON_JSON sets hosts or tls*: dockerd refuses them both as flags and in daemon.json; remove them there (this script adds them to docker.service)"},
		{"no ExecStart", "# /lib/systemd/system/docker.service\n[Service]\nExecStart=\n", "", "error: no ExecStart"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "bin")
			if err := os.Mkdir(bin, 0o755); err != nil {
				t.Fatal(err)
			}
			unit := filepath.Join(dir, "unit")
			if err := os.WriteFile(unit, []byte(tt.unit), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(bin, "systemctl"), []byte("#!/bin/sh\n[ \"$*\" = 'cat docker.service' ] && exec cat \"$UNIT\"\nexit 2\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			daemonJSON := filepath.Join(dir, "daemon.json")
			if tt.daemonJSON != "" {
				if err := os.WriteFile(daemonJSON, []byte(tt.daemonJSON), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			prog := prelude + `
docker_daemon_json=$DAEMON_JSON
base=$(docker_base_execstart) || die "no ExecStart"
docker_conflicts "$base"
docker_dropin_text "$base"
`
			cmd := exec.Command("bash", "-c", prog)
			cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "UNIT=" + unit, "DAEMON_JSON=" + daemonJSON, "LC_ALL=C"}
			out, err := cmd.CombinedOutput()
			got := string(out)
			if err != nil {
				got = "error: " + strings.TrimPrefix(strings.TrimSpace(strings.ReplaceAll(got, daemonJSON, "DAEMON_JSON")), managerNode+".sh: ")
			} else {
				lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
				n := len(lines)
				if n < 3 || lines[n-3] != "[Service]" || lines[n-2] != "ExecStart=" || !strings.HasPrefix(lines[n-1], "ExecStart=") {
					t.Fatalf("drop-in does not end with [Service], a reset and an ExecStart:\n%s", got)
				}
				got = strings.TrimPrefix(lines[n-1], "ExecStart=")
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestDockerTLSCheck runs the generated script's certificate check on
// good and bad docker-tls directories: it must refuse every bad one
// before anything changes, and tighten a key others can read.
func TestDockerTLSCheck(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("needs openssl (apt-get install openssl): the check's chain, address and expiry tests use it")
	}
	prelude := scriptPrelude(t, rendered(t)["example-target"]["prepare/"+managerNode+".sh"])
	// A CA made long ago, so that it can have issued an expired leaf.
	past := time.Now().Add(-(pki.LeafDays + 30) * 24 * time.Hour)
	ca, err := pki.NewCA("deployment CA", past)
	if err != nil {
		t.Fatal(err)
	}
	other := newTestCA(t, "another CA")
	now := time.Now()
	good := serverLeaf(t, ca, managerNode, managerAddr, now)
	tests := []struct {
		name  string
		setup func(dir string)
		want  string // "" for success
	}{
		{"good", func(string) {}, ""},
		{"secrets init's", func(string) {}, ""},
		{"key readable by others", func(dir string) { os.Chmod(filepath.Join(dir, "key.pem"), 0o644) },
			"warning: DIR/key.pem is readable by others: tightening it to 0600\n+ chmod 0600 -- DIR/key.pem"},
		{"key read-only for root", func(dir string) { os.Chmod(filepath.Join(dir, "key.pem"), 0o400) }, ""},
		{"no key", func(dir string) { os.Remove(filepath.Join(dir, "key.pem")) },
			"--docker-tls DIR: key.pem is missing or empty (nuvlagen secrets init writes docker-tls/target-manager-1/{ca,cert,key}.pem)"},
		{"empty ca", func(dir string) { os.WriteFile(filepath.Join(dir, "ca.pem"), nil, 0o644) },
			"--docker-tls DIR: ca.pem is missing or empty (nuvlagen secrets init writes docker-tls/target-manager-1/{ca,cert,key}.pem)"},
		{"another CA's server", func(dir string) { writePair(t, dir, serverLeaf(t, other, managerNode, managerAddr, now)) },
			"--docker-tls DIR: cert.pem is not a server certificate of ca.pem (openssl verify -CAfile ca.pem -purpose sslserver cert.pem)"},
		{"a client certificate", func(dir string) { writePair(t, dir, clientLeaf(t, ca, managerNode)) },
			"--docker-tls DIR: cert.pem is not a server certificate of ca.pem (openssl verify -CAfile ca.pem -purpose sslserver cert.pem)"},
		{"another key", func(dir string) {
			os.WriteFile(filepath.Join(dir, "key.pem"), serverLeaf(t, ca, managerNode, managerAddr, now).KeyPEM, 0o600)
		}, "--docker-tls DIR: key.pem is not the key of cert.pem"},
		{"another address", func(dir string) { writePair(t, dir, serverLeaf(t, ca, managerNode, "203.0.113.99", now)) },
			"--docker-tls DIR: cert.pem is not valid for 203.0.113.10 (its subject alternative names must hold the node's address)"},
		{"expired", func(dir string) { writePair(t, dir, serverLeaf(t, ca, managerNode, managerAddr, past)) },
			"--docker-tls DIR: cert.pem has expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := dockerTLSDir(t, ca, good)
			if tt.name == "secrets init's" {
				dir, _ = deploymentSecrets(t, newTestCA(t, "deployment CA"), "example-target", managerNode)
			}
			tt.setup(dir)
			cmd := exec.Command("bash", "-c", prelude+"docker_tls_src=$1\ndocker_tls_check\n", "bash", dir)
			cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C"}
			out, err := cmd.CombinedOutput()
			got := strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(string(out), dir, "DIR"), managerNode+".sh: ", ""))
			if strings.HasPrefix(tt.want, "warning:") || tt.want == "" {
				if err != nil || got != tt.want {
					t.Errorf("got %v\n%s\nwant success and\n%s", err, got, tt.want)
				}
			} else if err == nil || got != tt.want {
				t.Errorf("got %v\n%s\nwant failure:\n%s", err, got, tt.want)
			}
			if fi, err := os.Stat(filepath.Join(dir, "key.pem")); err == nil && fi.Mode().Perm()&0o077 != 0 && !strings.HasPrefix(tt.want, "--docker-tls") {
				t.Errorf("key.pem left %v", fi.Mode())
			}
		})
	}
}

// writePair replaces the server certificate and key of a docker-tls dir.
func writePair(t *testing.T, dir string, l *pki.Leaf) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), l.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), l.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestPrepareDockerTLSUsage: a target site's manager refuses to run
// without saying what to do with dockerd; other nodes refuse the options.
func TestPrepareDockerTLSUsage(t *testing.T) {
	files := rendered(t)["example-target"]
	dir := t.TempDir()
	writeSite(t, dir, files)
	tests := []struct {
		script string
		args   []string
		want   string
	}{
		{managerNode, nil, "target-manager-1.sh: node target-manager-1 is a manager of target site example-target: Nuvla drives its Swarm through the Docker API over TLS on 203.0.113.10:2376. Copy the directory docker-tls/target-manager-1 of the site's secrets (nuvlagen secrets init writes it) to this node and give it with --docker-tls DIR, or say --no-docker-tls to prepare the node without it"},
		{managerNode, []string{"--dry-run"}, "target-manager-1.sh: node target-manager-1 is a manager of target site example-target: Nuvla drives its Swarm through the Docker API over TLS on 203.0.113.10:2376. Copy the directory docker-tls/target-manager-1 of the site's secrets (nuvlagen secrets init writes it) to this node and give it with --docker-tls DIR, or say --no-docker-tls to prepare the node without it"},
		{managerNode, []string{"--docker-tls", "/x", "--no-docker-tls"}, "target-manager-1.sh: --docker-tls and --no-docker-tls exclude each other"},
		{managerNode, []string{"--docker-tls"}, "target-manager-1.sh: --docker-tls needs a directory"},
		{"target-worker-1", []string{"--docker-tls", "/x"}, "target-worker-1.sh: node target-worker-1 does not serve the Docker API to Nuvla: --docker-tls and --no-docker-tls are for the managers of a target site"},
	}
	for _, tt := range tests {
		cmd := exec.Command(filepath.Join(dir, "prepare", tt.script+".sh"), tt.args...)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C"}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 {
			t.Errorf("%s %v: %v, want exit status 2", tt.script, tt.args, err)
		}
		if first, _, _ := strings.Cut(stderr.String(), "\n"); first != tt.want {
			t.Errorf("%s %v:\ngot  %s\nwant %s", tt.script, tt.args, first, tt.want)
		}
	}
}
