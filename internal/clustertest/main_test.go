package clustertest

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nuvla/nuvlagen/internal/e2eimage"
)

// requireVar makes anything missing a failure instead of a skip (root,
// the tools, network namespaces, dockerd, Traefik's build): CI sets it,
// as does `make e2e-cluster`.
const requireVar = "NUVLAGEN_E2E_SWARM"

// prefix names everything the test creates: the network namespaces
// (nuvlacl-<site>-sw, nuvlacl-<node>, nuvlacl-<site>-c-<class>) and the
// directory in the temporary directory that holds the daemons' state.
const prefix = "nuvlacl"

// lockFile keeps runs from any work tree apart: the names above are
// fixed, and a run sweeps what an earlier, killed one left.
var lockFile = filepath.Join(os.TempDir(), "nuvlagen-clustertest.lock")

// rootDir holds one directory per site: its rendered files, secrets,
// and one directory per node (the daemon's state and its /run).
var rootDir = filepath.Join(os.TempDir(), prefix)

// setup is what TestMain found: why the tests cannot run, if they
// cannot, and the Traefik binary.
var setup struct {
	skip    string
	traefik string
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if testing.Short() {
		setup.skip = "-short"
		return m.Run()
	}
	if setup.skip = requirements(); setup.skip != "" {
		return m.Run()
	}
	unlock, err := e2eimage.Lock(lockFile, 20*time.Minute)
	if err != nil {
		setup.skip = err.Error()
		return m.Run()
	}
	defer unlock()
	if err := sweep(); err != nil {
		fmt.Fprintf(os.Stderr, "clustertest: removing what an earlier run left: %v\n", err)
		return 1
	}
	code := m.Run()
	os.Remove(rootDir)
	if err := leftovers(); err != nil {
		fmt.Fprintf(os.Stderr, "clustertest: the run left something behind: %v\n", err)
		return 1
	}
	return code
}

// requirements says what is missing to run a cluster here, or "".
func requirements() string {
	if os.Geteuid() != 0 {
		return "needs root to create network namespaces and start dockerd in them (make e2e-cluster as root; .ci/run runs as root)"
	}
	for _, tool := range []string{"ip", "nsenter", "unshare", "mount", "dockerd", "docker", "nft", "iptables", "iptables-save", "iptables-restore", "bash", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Sprintf("needs %s (apt-get install iproute2 util-linux docker.io nftables iptables)", tool)
		}
	}
	// Before 23.0, dockerd reads its trust key, /etc/docker/key.json,
	// and makes one where there is none: the machine's must be there.
	if _, err := os.Stat("/etc/docker/key.json"); err != nil {
		out, _ := exec.Command("dockerd", "--version").Output()
		var major int
		if _, err := fmt.Sscanf(string(out), "Docker version %d.", &major); err != nil || major < 23 {
			return fmt.Sprintf("dockerd (%s) would create /etc/docker/key.json, its trust key, which is not there", bytes.TrimSpace(out))
		}
	}
	probe := fmt.Sprintf("%s-probe-%d", prefix, os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", probe).CombinedOutput(); err != nil {
		return fmt.Sprintf("cannot create network namespaces here: %v: %s", err, bytes.TrimSpace(out))
	}
	exec.Command("ip", "netns", "del", probe).Run()
	bin, err := e2eimage.TraefikPath()
	if err == nil {
		err = e2eimage.CheckTraefik(bin)
	}
	if err != nil {
		return fmt.Sprintf("Traefik %s (`make runtime-traefik` builds it): %v", e2eimage.TraefikVersion, err)
	}
	setup.traefik = bin
	return ""
}

// require skips t, or fails it under NUVLAGEN_E2E_SWARM=1, when the
// cluster cannot run here.
func require(t *testing.T) {
	t.Helper()
	if setup.skip == "" {
		return
	}
	if setup.skip == "-short" {
		t.Skip("cluster test skipped: -short")
	}
	if os.Getenv(requireVar) != "" {
		t.Fatalf("%s is set but the cluster test cannot run: %s", requireVar, setup.skip)
	}
	t.Skipf("cluster test skipped (set %s=1 to make this a failure): %s", requireVar, setup.skip)
}

// ourNamespaces lists the network namespaces named with prefix.
func ourNamespaces() ([]string, error) {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return nil, fmt.Errorf("ip netns list: %w", err)
	}
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], prefix+"-") {
			names = append(names, f[0])
		}
	}
	return names, nil
}

// nsPids are the processes in network namespace name, but the test's
// own: the thread a dial from a namespace locked ends with its goroutine,
// unless it is the main thread, which Go keeps (wedged, in that
// namespace) for the life of the process.
func nsPids(name string) []int {
	out, _ := exec.Command("ip", "netns", "pids", name).Output()
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
			pids = append(pids, pid)
		}
	}
	return pids
}

// emptyNamespace stops every process left in network namespace name:
// a dockerd first with SIGTERM (it stops its containers and its
// containerd), then what remains with SIGKILL.
func emptyNamespace(name string) {
	for _, pid := range nsPids(name) {
		if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) == "dockerd" {
			syscall.Kill(pid, syscall.SIGTERM)
		}
	}
	for deadline := time.Now().Add(45 * time.Second); len(nsPids(name)) > 0 && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		if !hasDockerd(name) {
			break
		}
	}
	for range 50 {
		pids := nsPids(name)
		if len(pids) == 0 {
			return
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func hasDockerd(name string) bool {
	for _, pid := range nsPids(name) {
		if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) == "dockerd" {
			return true
		}
	}
	return false
}

// sweep removes what a killed earlier run left: its daemons, its
// namespaces and its directory.
func sweep() error {
	names, err := ourNamespaces()
	if err != nil {
		return err
	}
	for _, name := range names {
		fmt.Fprintf(os.Stderr, "clustertest: removing namespace %s, left by an earlier run\n", name)
		emptyNamespace(name)
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			return fmt.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	}
	if err := unmountUnder(rootDir); err != nil {
		return err
	}
	if _, err := os.Stat(rootDir); err == nil {
		fmt.Fprintf(os.Stderr, "clustertest: removing %s, left by an earlier run\n", rootDir)
	}
	return os.RemoveAll(rootDir)
}

// mountsUnder lists the mount points under dir in the test's own mount
// namespace (the daemons mount in namespaces of their own).
func mountsUnder(dir string) ([]string, error) {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return nil, err
	}
	var l []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 && (f[1] == dir || strings.HasPrefix(f[1], dir+"/")) {
			l = append(l, f[1])
		}
	}
	return l, nil
}

func unmountUnder(dir string) error {
	mounts, err := mountsUnder(dir)
	if err != nil {
		return err
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		if err := syscall.Unmount(mounts[i], syscall.MNT_DETACH); err != nil {
			return fmt.Errorf("unmounting %s: %w", mounts[i], err)
		}
	}
	return nil
}

// leftovers says what of the test's is still there: a namespace, a
// process started with the root directory on its command line, a mount
// under it, the directory itself.
func leftovers() error {
	var errs []error
	if names, err := ourNamespaces(); err != nil {
		errs = append(errs, err)
	} else if len(names) > 0 {
		errs = append(errs, fmt.Errorf("network namespaces left: %v", names))
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(rootDir+"/")) {
			errs = append(errs, fmt.Errorf("process left: %s: %s", filepath.Dir(p), bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
		}
	}
	if mounts, err := mountsUnder(rootDir); err != nil {
		errs = append(errs, err)
	} else if len(mounts) > 0 {
		errs = append(errs, fmt.Errorf("mounts left: %v", mounts))
	}
	if _, err := os.Stat(rootDir); !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("%s is left (%v)", rootDir, err))
	}
	return errors.Join(errs...)
}
