package scripts_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
