package firewall_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
