package scripts_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"mvdan.cc/sh/v3/syntax"

	"github.com/nuvla/nuvlagen/generator/pki"
	"github.com/nuvla/nuvlagen/internal/netns"
)

// The Docker TLS test runs the docker_tls step of the generated prepare
// script of example-target's manager against a real, second dockerd in a
// network namespace of its own ("the target manager", 203.0.113.10),
// started from the drop-in the script writes, and checks it from another
// namespace ("the Nuvla host", 192.0.2.10) with the Docker Engine API
// client: Nuvla's client certificate gets in, no certificate or another
// CA's is refused, 2375 is closed, and the local socket still answers. A
// second run changes nothing; a run whose new configuration dockerd
// refuses puts the previous one back and dockerd serves it again.
//
// systemd is not there: a stand-in systemctl reads the drop-in like
// systemd (the last ExecStart=) and starts its command line in the
// namespace; docker and ss are the real ones pointed at that dockerd. The
// script's functions and values come from the generated script itself
// (parsed with mvdan.cc/sh); only its install paths are moved into a
// temporary root, so the script reads and writes nothing of the machine's
// /etc. The second dockerd keeps its state in that root too; before 23.0
// it also reads its trust key, /etc/docker/key.json, which the machine's
// own dockerd made: where there is none it would make one, and the test
// skips.

const (
	managerAddr = "203.0.113.10"
	nuvlaAddr   = "192.0.2.10"
	managerNode = "target-manager-1"
)

// requireNetnsDocker skips t, or fails it under NUVLAGEN_E2E_NETNS=1,
// unless it runs as root with the tools the test needs.
func requireNetnsDocker(t *testing.T) map[string]string {
	t.Helper()
	skip := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("NUVLAGEN_E2E_NETNS") != "" {
			t.Fatalf(format+" (and NUVLAGEN_E2E_NETNS is set: this test must run here)", args...)
		}
		t.Skipf(format+" (set NUVLAGEN_E2E_NETNS=1 to make this a failure)", args...)
	}
	if os.Geteuid() != 0 {
		skip("needs root to create network namespaces and start a dockerd")
	}
	tools := map[string]string{}
	for _, tool := range []string{"ip", "nsenter", "unshare", "setsid", "dockerd", "docker", "ss", "openssl"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			skip("needs %s (apt-get install iproute2 util-linux docker.io openssl)", tool)
		}
		tools[tool] = p
	}
	if _, err := os.Stat("/etc/docker/key.json"); err != nil {
		out, _ := exec.Command(tools["dockerd"], "--version").Output()
		var major int
		if _, err := fmt.Sscanf(string(out), "Docker version %d.", &major); err != nil || major < 23 {
			skip("%s (%s) would create /etc/docker/key.json, its trust key, which is not there", tools["dockerd"], bytes.TrimSpace(out))
		}
	}
	name := fmt.Sprintf("nuvladtls-%d-probe", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		skip("cannot create network namespaces here: %v: %s", err, bytes.TrimSpace(out))
	}
	exec.Command("ip", "netns", "del", name).Run()
	return tools
}

var dtlsSeq atomic.Int64

func mustRun(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// newNetns creates a namespace, deleted when the test ends, and returns
// its path.
func newNetns(t *testing.T, role string) (string, string) {
	t.Helper()
	name := fmt.Sprintf("nuvladtls-%d-%d-%s", os.Getpid(), dtlsSeq.Add(1), role)
	mustRun(t, "ip", "netns", "add", name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("deleting namespace %s: %v\n%s", name, err, out)
		}
	})
	mustRun(t, "ip", "-n", name, "link", "set", "lo", "up")
	return name, "/var/run/netns/" + name
}

// scriptPrelude is the generated script's function definitions, its
// top-level assignments, set and exec (its options and fd 3), without its
// commands.
func scriptPrelude(t *testing.T, script []byte) string {
	t.Helper()
	f, err := syntax.NewParser().Parse(bytes.NewReader(script), "prepare.sh")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	pr := syntax.NewPrinter()
	for _, st := range f.Stmts {
		keep := false
		switch c := st.Cmd.(type) {
		case *syntax.FuncDecl:
			keep = true
		case *syntax.CallExpr:
			keep = len(c.Args) == 0 && len(c.Assigns) > 0 ||
				len(c.Args) > 0 && (c.Args[0].Lit() == "set" || c.Args[0].Lit() == "exec")
		}
		if keep {
			if err := pr.Print(&b, st); err != nil {
				t.Fatal(err)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// fakeSystemctl stands in for systemd's docker.service: the unit's
// ExecStart is $FAKE_BASE's content, a drop-in's last ExecStart= wins,
// restart starts that command line in $FAKE_NETNS and waits until dockerd
// answers, or fails when it exits first.
const fakeSystemctl = `#!/bin/bash
set -u
echo "systemctl $*" >>"$FAKE_LOG"
execstart() {
	local line cmd
	cmd=$(cat "$FAKE_BASE")
	if [[ -f $FAKE_DROPIN ]]; then
		while IFS= read -r line; do
			[[ $line == ExecStart=?* ]] && cmd=${line#ExecStart=}
		done <"$FAKE_DROPIN"
	fi
	printf '%s\n' "$cmd"
}
alive() { [[ -s $FAKE_PIDFILE ]] && kill -0 "$(cat "$FAKE_PIDFILE")" 2>/dev/null; }
stop() {
	local pid i
	alive || return 0
	pid=$(cat "$FAKE_PIDFILE")
	kill "$pid"
	for ((i = 0; i < 300; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -9 "$pid"
}
case "$*" in
"cat docker.service")
	printf '# /lib/systemd/system/docker.service\n[Unit]\nDescription=Docker Application Container Engine\n\n[Service]\nType=notify\nExecStart=%s\nExecReload=/bin/kill -s HUP $MAINPID\n' "$(cat "$FAKE_BASE")"
	if [[ -f $FAKE_DROPIN ]]; then
		printf '\n# %s\n' "$FAKE_DROPIN"
		cat "$FAKE_DROPIN"
	fi
	;;
daemon-reload) ;;
"restart docker")
	stop
	rm -f "$FAKE_PIDFILE"
	# The operator's interrupt lands while dockerd is down.
	if [[ -e $FAKE_HANG ]]; then
		rm -f "$FAKE_HANG"
		touch "$FAKE_HANG.reached"
		sleep 600
	fi
	read -ra argv <<<"$(execstart)"
	# In a session of its own, as systemd's services are: an interrupt of
	# the script's process group does not reach it. In a mount namespace
	# of its own too, where the machine's containerd, if one runs, is
	# hidden: dockerd would use it (and its "moby" namespace, the
	# machine's dockerd's) instead of supervising one of its own. Every
	# step execs: the process is dockerd.
	setsid unshare --mount --propagation private /bin/sh -c '
		if [ -d /run/containerd ]; then mount -t tmpfs -o mode=0711 nuvladtls /run/containerd || exit 1; fi
		exec nsenter --net="$FAKE_NETNS" "$@"' sh "${argv[@]}" </dev/null >>"$FAKE_DOCKERD_LOG" 2>&1 3>&- &
	pid=$!
	for ((i = 0; i < 600; i++)); do
		kill -0 "$pid" 2>/dev/null || exit 1
		"$FAKE_DOCKER" -H "unix://$FAKE_SOCK" version >/dev/null 2>&1 && exit 0
		sleep 0.1
	done
	exit 1
	;;
"is-active --quiet docker") alive ;;
*)
	echo "fake systemctl: unexpected: $*" >&2
	exit 2
	;;
esac
`

// dockerTLSRig is one run's namespaces, root, stand-ins and certificates.
type dockerTLSRig struct {
	t                    *testing.T
	prelude              string
	root, bin, sock      string
	base                 string // the unit's ExecStart, in root/base
	nuvlaNS              string
	env                  []string
	pidfile, execRoot    string
	dropin, log, dockerd string
}

func newDockerTLSRig(t *testing.T, tools map[string]string) *dockerTLSRig {
	files := rendered(t)["example-target"]
	script, ok := files["prepare/"+managerNode+".sh"]
	if !ok {
		t.Fatalf("example-target has no prepare/%s.sh", managerNode)
	}
	// Short: the managed containerd's socket path must fit in sun_path.
	root, err := os.MkdirTemp("", "nuvladtls")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(root); err != nil {
			t.Errorf("removing %s: %v", root, err)
		}
	})
	managerName, managerNS := newNetns(t, "manager")
	nuvlaName, nuvlaNS := newNetns(t, "nuvla")
	mustRun(t, "ip", "link", "add", "name", "eth0", "netns", managerName, "type", "veth", "peer", "name", "eth0", "netns", nuvlaName)
	for _, side := range []struct{ ns, addr, peer string }{{managerName, managerAddr, nuvlaAddr}, {nuvlaName, nuvlaAddr, managerAddr}} {
		mustRun(t, "ip", "-n", side.ns, "addr", "add", side.addr+"/32", "dev", "eth0")
		mustRun(t, "ip", "-n", side.ns, "link", "set", "eth0", "up")
		mustRun(t, "ip", "-n", side.ns, "route", "add", side.peer+"/32", "dev", "eth0")
	}

	r := &dockerTLSRig{
		t:        t,
		prelude:  scriptPrelude(t, script),
		root:     root,
		bin:      filepath.Join(root, "bin"),
		sock:     filepath.Join(root, "docker.sock"),
		nuvlaNS:  nuvlaNS,
		pidfile:  filepath.Join(root, "docker.pid"),
		execRoot: filepath.Join(root, "exec"),
		dropin:   filepath.Join(root, "etc/systemd/system/docker.service.d/nuvlagen-docker-tls.conf"),
		log:      filepath.Join(root, "systemctl.log"),
		dockerd:  filepath.Join(root, "dockerd.log"),
	}
	// The operator's daemon.json, which the script must leave alone.
	if err := os.MkdirAll(filepath.Join(root, "etc/docker"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/docker/daemon.json"), []byte(`{"log-level": "info"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The unit's own command line, as the packaged unit's -H fd:// would
	// be: a local socket, and this dockerd's state kept in root. No
	// iptables, no bridge: nothing outside the namespace is touched.
	r.base = strings.Join([]string{tools["dockerd"], "-H", "unix://" + r.sock,
		"--config-file", filepath.Join(root, "etc/docker/daemon.json"),
		"--data-root", filepath.Join(root, "data"), "--exec-root", r.execRoot,
		"--pidfile", r.pidfile, "--storage-driver", "vfs",
		"--iptables=false", "--ip6tables=false", "--bridge=none"}, " ")
	r.setBase(r.base)
	t.Cleanup(r.stopDockerd)

	if err := os.MkdirAll(r.bin, 0o755); err != nil {
		t.Fatal(err)
	}
	stand := map[string]string{
		"systemctl": fakeSystemctl,
		"docker":    "#!/bin/sh\nexec \"$FAKE_DOCKER\" -H \"unix://$FAKE_SOCK\" \"$@\"\n",
		"ss":        "#!/bin/sh\nexec nsenter --net=\"$FAKE_NETNS\" \"$FAKE_SS\" \"$@\"\n",
	}
	for name, body := range stand {
		if err := os.WriteFile(filepath.Join(r.bin, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r.env = []string{
		"PATH=" + r.bin + ":" + os.Getenv("PATH"), "LC_ALL=C",
		"FAKE_BASE=" + filepath.Join(root, "base"), "FAKE_DROPIN=" + r.dropin,
		"FAKE_NETNS=" + managerNS, "FAKE_PIDFILE=" + r.pidfile, "FAKE_SOCK=" + r.sock,
		"FAKE_LOG=" + r.log, "FAKE_DOCKERD_LOG=" + r.dockerd, "FAKE_HANG=" + filepath.Join(root, "hang"),
		"FAKE_DOCKER=" + tools["docker"], "FAKE_SS=" + tools["ss"],
	}
	return r
}

func (r *dockerTLSRig) setBase(base string) {
	if err := os.WriteFile(filepath.Join(r.root, "base"), []byte(base+"\n"), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// stopDockerd stops the dockerd of the rig and the containerd it
// supervises, if they run.
func (r *dockerTLSRig) stopDockerd() {
	for _, pf := range []string{r.pidfile, filepath.Join(r.execRoot, "containerd/containerd.pid")} {
		b, err := os.ReadFile(pf)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 1 {
			continue
		}
		if syscall.Kill(pid, syscall.SIGTERM) != nil {
			continue
		}
		deadline := time.Now().Add(30 * time.Second)
		for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if syscall.Kill(pid, 0) == nil {
			r.t.Errorf("dockerd %d did not stop on SIGTERM: killing it", pid)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// run runs the generated script's certificate check and docker_tls step
// with the certificates of dir; the install paths are under the root.
func (r *dockerTLSRig) run(dir string) (string, error) {
	r.t.Helper()
	cmd := r.command(dir)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// interrupted runs it as run does, and interrupts its process group (as
// ^C does) while the restart of dockerd is under way.
func (r *dockerTLSRig) interrupted(dir string) (string, error) {
	r.t.Helper()
	hang := filepath.Join(r.root, "hang")
	if err := os.WriteFile(hang, nil, 0o644); err != nil {
		r.t.Fatal(err)
	}
	cmd := r.command(dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(hang + ".reached"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
			r.t.Fatalf("the restart was never reached:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	err := cmd.Wait()
	return out.String(), err
}

// command is the script's step as a command, not started.
func (r *dockerTLSRig) command(dir string) *exec.Cmd {
	prog := r.prelude + `
docker_tls_dir=$ROOT/etc/docker/nuvla-tls
docker_dropin=$ROOT/etc/systemd/system/docker.service.d/nuvlagen-docker-tls.conf
docker_backups=$ROOT/var/backups/nuvlagen-docker-tls
docker_daemon_json=$ROOT/etc/docker/daemon.json
docker_tls_src=$1
docker_tls_check
docker_tls_plan
docker_tls
echo "changed=$changed"
`
	cmd := exec.Command("bash", "-c", prog, "bash", dir)
	cmd.Env = append([]string{"ROOT=" + r.root}, r.env...)
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

func (r *dockerTLSRig) read(p string) string {
	r.t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		r.t.Fatal(err)
	}
	return string(b)
}

// nsDial dials from the network namespace at path.
func nsDial(path string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return netns.Dialer(path)
}

// nuvlaClient is a Docker API client in the Nuvla namespace that trusts
// ca and presents cert, if any.
func (r *dockerTLSRig) nuvlaClient(ca []byte, cert *pki.Leaf) *client.Client {
	r.t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		r.t.Fatal("no CA certificate")
	}
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if cert != nil {
		pair, err := tls.X509KeyPair(cert.CertPEM, cert.KeyPEM)
		if err != nil {
			r.t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	tr := &http.Transport{TLSClientConfig: cfg, DialContext: nsDial(r.nuvlaNS)}
	c, err := client.New(client.WithHost("tcp://"+net.JoinHostPort(managerAddr, "2376")),
		client.WithHTTPClient(&http.Client{Transport: tr, Timeout: 20 * time.Second}))
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { c.Close() })
	return c
}

// checkServes checks what Nuvla's side sees: its certificate gets in, no
// certificate or another CA's is refused by the server, 2375 is closed;
// and the local socket answers.
func (r *dockerTLSRig) checkServes(ca *pki.CA, nuvla, stranger *pki.Leaf) {
	t := r.t
	t.Helper()
	ctx := context.Background()
	good := r.nuvlaClient(ca.CertPEM(), nuvla)
	if _, err := good.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		t.Errorf("Nuvla's client certificate: Ping: %v\n%s", err, r.read(r.dockerd))
	}
	if info, err := good.Info(ctx, client.InfoOptions{}); err != nil {
		t.Errorf("Nuvla's client certificate: Info: %v", err)
	} else if info.Info.Driver != "vfs" {
		t.Errorf("Info answered by another dockerd: storage driver %q", info.Info.Driver)
	}
	for name, c := range map[string]*client.Client{
		"no client certificate":           r.nuvlaClient(ca.CertPEM(), nil),
		"another CA's client certificate": r.nuvlaClient(ca.CertPEM(), stranger),
	} {
		_, err := c.Ping(ctx, client.PingOptions{})
		// The server's alert, not a failure of the client's own checks.
		if err == nil || !strings.Contains(err.Error(), "remote error: tls:") {
			t.Errorf("%s: Ping got %v, want the server's TLS alert", name, err)
		}
	}
	conn, err := nsDial(r.nuvlaNS)(ctx, "tcp", net.JoinHostPort(managerAddr, "2375"))
	if err == nil {
		conn.Close()
		t.Errorf("2375 accepts connections")
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("2375: %v, want connection refused", err)
	}
	local, err := client.New(client.WithHost("unix://" + r.sock))
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	if _, err := local.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		t.Errorf("local socket: Ping: %v", err)
	}
}

func TestDockerTLSAgainstDockerd(t *testing.T) {
	tools := requireNetnsDocker(t)
	r := newDockerTLSRig(t, tools)
	// The deployment's secrets directory, as secrets init writes it: the
	// manager's docker-tls directory and Nuvla's client pair.
	ca := newTestCA(t, "deployment CA")
	certs, nuvla := deploymentSecrets(t, ca, "example-target", managerNode)
	stranger := clientLeaf(t, newTestCA(t, "another CA"), "nuvla")

	out, err := r.run(certs)
	t.Logf("first run:\n%s", out)
	if err != nil {
		t.Fatalf("first run: %v\n%s\ndockerd:\n%s", err, out, r.read(r.dockerd))
	}
	if !strings.Contains(out, "changed=true") {
		t.Errorf("first run changed nothing:\n%s", out)
	}
	dropin := r.read(r.dropin)
	wantExec := "ExecStart=" + r.base + " -H tcp://" + managerAddr + ":2376 --tlsverify" +
		" --tlscacert=" + r.root + "/etc/docker/nuvla-tls/ca.pem --tlscert=" + r.root + "/etc/docker/nuvla-tls/cert.pem --tlskey=" + r.root + "/etc/docker/nuvla-tls/key.pem\n"
	if !strings.Contains(dropin, "\n[Service]\nExecStart=\n"+wantExec) {
		t.Errorf("drop-in:\n%s\nwant its [Service] to reset ExecStart and then\n%s", dropin, wantExec)
	}
	for p, mode := range map[string]os.FileMode{"etc/docker/nuvla-tls": 0o700 | os.ModeDir, "etc/docker/nuvla-tls/key.pem": 0o600, "etc/docker/nuvla-tls/cert.pem": 0o644} {
		if fi, err := os.Stat(filepath.Join(r.root, p)); err != nil {
			t.Error(err)
		} else if fi.Mode() != mode {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), mode)
		}
	}
	if got := r.read(filepath.Join(r.root, "etc/docker/daemon.json")); got != `{"log-level": "info"}`+"\n" {
		t.Errorf("daemon.json changed: %q", got)
	}
	r.checkServes(ca, nuvla, stranger)

	backups := filepath.Join(r.root, "var/backups/nuvlagen-docker-tls")
	if fi, err := os.Stat(backups); err != nil {
		t.Error(err)
	} else if fi.Mode().Perm() != 0o700 {
		t.Errorf("backups directory: mode %v, want 0700", fi.Mode())
	}
	saved, _ := os.ReadDir(backups)

	// Again: nothing to change, dockerd not restarted, nothing saved.
	before := r.read(r.log)
	out, err = r.run(certs)
	if err != nil || !strings.Contains(out, "changed=false") {
		t.Errorf("second run: %v\n%s", err, out)
	}
	if after := r.read(r.log); strings.Count(after, "restart") != strings.Count(before, "restart") {
		t.Errorf("second run restarted docker:\n%s", after)
	}
	if again, _ := os.ReadDir(backups); len(again) != len(saved) || len(saved) != 1 {
		t.Errorf("backups after the first run %d, after the second %d: want 1 and 1", len(saved), len(again))
	}

	// A unit whose command line dockerd refuses (after a package upgrade,
	// say): the new drop-in does not come up, the previous one is put back
	// and dockerd serves it again.
	r.setBase(r.base + " --no-such-flag")
	out, err = r.run(certs)
	t.Logf("refused configuration:\n%s", out)
	if err == nil {
		t.Errorf("run with a refused configuration succeeded:\n%s", out)
	}
	for _, want := range []string{"docker did not come back", "restoring the previous Docker configuration", "docker runs again with the previous configuration"} {
		if !strings.Contains(out, want) {
			t.Errorf("refused configuration: output lacks %q:\n%s", want, out)
		}
	}
	if got := r.read(r.dropin); got != dropin {
		t.Errorf("drop-in not restored:\n%s\nwant:\n%s", got, dropin)
	}
	r.checkServes(ca, nuvla, stranger)

	// New certificates, and ^C while dockerd is down: the previous files
	// are put back and dockerd serves them again.
	r.setBase(r.base)
	renewed := dockerTLSDir(t, ca, serverLeaf(t, ca, managerNode, managerAddr, time.Now()))
	oldCert := r.read(filepath.Join(r.root, "etc/docker/nuvla-tls/cert.pem"))
	out, err = r.interrupted(renewed)
	t.Logf("interrupted:\n%s", out)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Errorf("interrupted run: %v, want exit status 130", err)
	}
	if !strings.Contains(out, "docker runs again with the previous configuration") {
		t.Errorf("interrupted run did not bring the previous configuration back:\n%s", out)
	}
	if got := r.read(filepath.Join(r.root, "etc/docker/nuvla-tls/cert.pem")); got != oldCert {
		t.Errorf("interrupted run left the new cert.pem in place")
	}
	if got := r.read(r.dropin); got != dropin {
		t.Errorf("interrupted run: drop-in not restored:\n%s", got)
	}
	r.checkServes(ca, nuvla, stranger)
}
