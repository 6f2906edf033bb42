package firewall_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/rogpeppe/go-internal/diff"

	"github.com/nuvla/nuvlagen/generator/compose"
	"github.com/nuvla/nuvlagen/generator/firewall"
	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/generator/site/sitetest"
)

// TestApplyConfirm checks apply.sh's confirm-or-roll-back window: rules
// not confirmed are rolled back to what was there before (nothing, or the
// previous rules), confirmed ones are kept; and a file that fails the
// syntax check is never applied.
func TestApplyConfirm(t *testing.T) {
	requireNamespaces(t, "nft")
	s := sitetest.Kind(t, site.KindTarget)
	rs, err := firewall.Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	n := &rs.Nodes[0]
	files := firewall.Render(compose.Header(s.File), rs)
	write := func(dir string, edit func(name, text string) string) {
		for p, b := range files {
			text := string(b)
			if edit != nil {
				text = edit(filepath.Base(p), text)
			}
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(p)), []byte(text), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	v1 := t.TempDir()
	write(v1, nil)
	// v2 moves SSH to another port: a change worth confirming.
	v2 := t.TempDir()
	write(v2, func(name, text string) string {
		text = strings.ReplaceAll(text, "tcp dport { 22 }", "tcp dport { 2222 }")
		return strings.ReplaceAll(text, "--dports 22 ", "--dports 2222 ")
	})
	// broken has a rule neither nft nor iptables-restore accepts (in ufw's
	// after.rules block, too).
	broken := t.TempDir()
	write(broken, func(name, text string) string {
		text = strings.Replace(text, "ct state invalid drop", "ct state invalid dorp", 1)
		return strings.Replace(text, "-j DROP\n", "-j DORP\n", 1)
	})

	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			requireTools(t, be.tools...)
			t.Parallel()
			node := newNS(t, "apply")
			node.execInput(dockerRules(), "iptables-restore")
			node.execInput(dockerRules6, "ip6tables-restore")
			var root ufwRoot
			if be.name == "ufw" {
				root = newUFWRoot(t)
			}
			// The namespace does not carry the node's address: apply.sh
			// refuses another node's rules unless forced.
			refused := exec.Command("ip", "netns", "exec", node.name, "bash", filepath.Join(v1, "apply.sh"), "--backend", be.name, n.Name)
			if out, err := refused.CombinedOutput(); err == nil || !strings.Contains(string(out), "is not an address of this machine") {
				t.Errorf("apply.sh on a machine without %s's address: %v\n%s", n.Name, err, out)
			}
			apply := func(dir, answer string, confirm bool) error {
				args := []string{"bash", filepath.Join(dir, "apply.sh"), "--backend", be.name, "--force"}
				if confirm {
					args = append(args, "--confirm", "2")
				}
				args = append(args, n.Name)
				if be.name == "ufw" {
					args = root.wrap(args)
				}
				cmd := exec.Command("ip", append([]string{"netns", "exec", node.name}, args...)...)
				cmd.Stdin = strings.NewReader(answer)
				out, err := cmd.CombinedOutput()
				t.Logf("apply.sh (%s, answer %q): %v\n%s", filepath.Base(dir), answer, err, out)
				return err
			}
			state := func() string { return be.dump(node) }
			same := func(what, want, got string) {
				t.Helper()
				if want != got {
					t.Errorf("%s:\n%s", what, diff.Diff("want", []byte(want), "got", []byte(got)))
				}
			}

			empty := state()
			if apply(broken, "", false) == nil {
				t.Fatal("apply.sh applied a file that fails the syntax check")
			}
			same("a broken file changed the rules", empty, state())
			if apply(v1, "no\n", true) == nil {
				t.Error("apply.sh succeeded without confirmation")
			}
			same("not confirmed on a node without rules: not rolled back", empty, state())

			if err := apply(v1, "yes\n", true); err != nil {
				t.Fatalf("confirmed apply failed: %v", err)
			}
			first := state()
			if first == empty {
				t.Fatal("confirmed rules were not applied")
			}
			if be.name == "ufw" {
				return // v2 changes nothing ufw sees, and ufw is slow
			}
			if apply(v2, "", true) == nil {
				t.Error("apply.sh succeeded without an answer")
			}
			same("not confirmed: the previous rules are not back", first, state())
			if err := apply(v2, "yes\n", true); err != nil {
				t.Fatalf("confirmed apply failed: %v", err)
			}
			if state() == first {
				t.Error("confirmed new rules were not applied")
			}
		})
	}
}

// TestApplyInterrupted checks that Ctrl-C, a hang-up or a kill while
// apply.sh --confirm waits for "yes" rolls the rules back, as no answer
// does, and that the backup is removed only after the roll back.
func TestApplyInterrupted(t *testing.T) {
	requireNamespaces(t, "nft")
	s := sitetest.Kind(t, site.KindTarget)
	rs, err := firewall.Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	n := &rs.Nodes[0]
	// v1 is applied and confirmed first, when there are rules before; v2
	// (SSH on another port) is interrupted.
	v1, v2 := t.TempDir(), t.TempDir()
	for p, b := range firewall.Render(compose.Header(s.File), rs) {
		if err := os.WriteFile(filepath.Join(v1, filepath.Base(p)), b, 0o755); err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(b), "tcp dport { 22 }", "tcp dport { 2222 }")
		text = strings.ReplaceAll(text, "--dports 22 ", "--dports 2222 ")
		if err := os.WriteFile(filepath.Join(v2, filepath.Base(p)), []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	signals := []struct {
		name string
		sig  syscall.Signal
	}{{"INT", syscall.SIGINT}, {"HUP", syscall.SIGHUP}, {"TERM", syscall.SIGTERM}}
	for _, be := range backends[:2] { // nft, iptables; ufw's roll back is the one TestApplyConfirm checks
		for _, sg := range signals {
			for _, before := range []string{"no rules", "confirmed rules"} {
				t.Run(be.name+"/"+sg.name+"/"+before, func(t *testing.T) {
					// A shell started with a signal ignored cannot trap it:
					// SIGINT for a job a shell runs in the background,
					// SIGHUP under nohup.
					if ignored(t, sg.sig) {
						t.Skipf("SIG%s is ignored by this test process, so by apply.sh: bash cannot trap it", sg.name)
					}
					t.Parallel()
					node := newNS(t, "intr")
					node.execInput(dockerRules(), "iptables-restore")
					node.execInput(dockerRules6, "ip6tables-restore")
					tmp := t.TempDir()
					start := func(dir, confirm string) (*exec.Cmd, io.WriteCloser, *bufio.Reader) {
						cmd := exec.Command("ip", "netns", "exec", node.name, "bash", filepath.Join(dir, "apply.sh"), "--backend", be.name, "--force", "--confirm", confirm, n.Name)
						cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
						stdin, err := cmd.StdinPipe()
						if err != nil {
							t.Fatal(err)
						}
						stderr, err := cmd.StderrPipe()
						if err != nil {
							t.Fatal(err)
						}
						if err := cmd.Start(); err != nil {
							t.Fatal(err)
						}
						return cmd, stdin, bufio.NewReader(stderr)
					}
					if before == "confirmed rules" {
						cmd, stdin, stderr := start(v1, "30")
						fmt.Fprintln(stdin, "yes")
						io.Copy(io.Discard, stderr)
						if err := cmd.Wait(); err != nil {
							t.Fatalf("confirmed apply: %v", err)
						}
					}
					want := be.dump(node)

					cmd, stdin, stderr := start(v2, "60")
					defer stdin.Close()
					var log strings.Builder
					for {
						line, err := stderr.ReadString('\n')
						log.WriteString(line)
						if err != nil {
							t.Fatalf("apply.sh ended before asking for confirmation: %v\n%s", err, log.String())
						}
						if strings.Contains(line, "type yes within") {
							break
						}
					}
					if be.dump(node) == want {
						t.Fatal("the new rules are not applied while apply.sh waits")
					}
					if err := cmd.Process.Signal(sg.sig); err != nil {
						t.Fatal(err)
					}
					rest, _ := io.ReadAll(stderr)
					log.Write(rest)
					err := cmd.Wait()
					code := cmd.ProcessState.ExitCode()
					if want := 128 + int(sg.sig); code != want {
						t.Errorf("exit status %d (%v), want %d\n%s", code, err, want, log.String())
					}
					if !strings.Contains(log.String(), "SIG"+sg.name+" before the rules were confirmed, rolling back") {
						t.Errorf("apply.sh does not say it rolls back:\n%s", log.String())
					}
					if got := be.dump(node); got != want {
						t.Errorf("after SIG%s, the rules are not the previous ones:\n%s", sg.name, diff.Diff("want", []byte(want), "got", []byte(got)))
					}
					if left, _ := os.ReadDir(tmp); len(left) > 0 {
						t.Errorf("the backup is left after a roll back that worked: %v", left)
					}
				})
			}
		}
	}
}

// ignored reports whether this process ignores sig (and so its children:
// a shell cannot trap a signal ignored when it starts).
func ignored(t *testing.T, sig syscall.Signal) bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "SigIgn:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && mask&(1<<(uint(sig)-1)) != 0
		}
	}
	return false
}

// TestApplyWithoutIPv6: on a kernel without IPv6 (here: /proc/sys/net
// hidden in a mount namespace), the iptables backend applies the IPv4
// rules and leaves ip6tables alone.
func TestApplyWithoutIPv6(t *testing.T) {
	requireNamespaces(t, "unshare", "mount", "ip6tables-save")
	s := sitetest.Kind(t, site.KindTarget)
	rs, err := firewall.Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for p, b := range firewall.Render(compose.Header(s.File), rs) {
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(p)), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	node := newNS(t, "noipv6")
	node.execInput(dockerRules(), "iptables-restore")
	node.execInput(dockerRules6, "ip6tables-restore")
	before6 := normalize(node.exec("ip6tables-save"))
	out := node.exec("unshare", "-m", "--propagation", "private", "bash", "-c", `mount -t tmpfs none /proc/sys/net && exec "$@"`, "noipv6",
		"bash", filepath.Join(dir, "apply.sh"), "--backend", "iptables", "--force", rs.Nodes[0].Name)
	if !strings.Contains(out, "IPv6 is off in this kernel") {
		t.Errorf("apply.sh does not say it leaves IPv6 alone:\n%s", out)
	}
	if !strings.Contains(node.exec("iptables-save"), "-A NUVLA-INPUT") {
		t.Error("the IPv4 rules are not applied")
	}
	if after6 := normalize(node.exec("ip6tables-save")); after6 != before6 {
		t.Errorf("ip6tables changed:\n%s", diff.Diff("before", []byte(before6), "after", []byte(after6)))
	}
}
