package cli

import (
	"bytes"
	"strings"
	"testing"
)

func TestFirewallQuery(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want []string // substrings of stdout, or of stderr on usage errors
	}{
		{[]string{"--from", "203.0.113.11", "--to", "target-manager-1", "--port", "2377/tcp"}, ExitOK,
			[]string{"allowed: 203.0.113.11 -> target-manager-1 2377/tcp", "rule: swarm-manager", "cue/firewall.cue:"}},
		{[]string{"--from", "198.51.100.5", "--to", "target-manager-1", "--port", "2377/tcp"}, ExitInvalid,
			[]string{"blocked:", "not from here: swarm-manager", "source: management (198.51.100.0/28), users (0.0.0.0/0)"}},
		// A prefix, answered in parts; a node by its address.
		{[]string{"--from", "198.51.100.0/24", "--to", "203.0.113.10", "--port", "22"}, ExitInvalid,
			[]string{"partly allowed: 198.51.100.0/24 -> target-manager-1 22/tcp (site example-target): 16 of 256 addresses let in", "  from 198.51.100.0/28: allowed", "  from 198.51.100.16/28, 198.51.100.32/27, 198.51.100.64/26, 198.51.100.128/25: blocked"}},
		{[]string{"--from", "198.51.100.0/28", "--to", "target-manager-1", "--port", "22"}, ExitOK,
			[]string{"allowed: 198.51.100.0/28 -> target-manager-1 22/tcp"}},
		{[]string{"--from", "198.51.100.1/24", "--to", "target-manager-1", "--port", "22"}, ExitUsage,
			[]string{"bits set past the prefix length: 198.51.100.0/24?"}},
		{[]string{"--from", "203.0.113.11", "--to", "target-worker-1", "--port", "2377"}, ExitInvalid,
			[]string{"no rule opens 2377/tcp on target-worker-1"}},
		{[]string{"--from", "198.51.100.200", "--to", "target-manager-1", "--port", "33333/tcp"}, ExitInvalid,
			[]string{"not from here: nfs"}},
		{[]string{"--from", "198.51.100.200", "--to", "target-manager-1", "--port", "33334/tcp"}, ExitOK,
			[]string{"rule: ephemeral"}},
		{[]string{"--from", "203.0.113.12", "--to", "target-manager-1", "--port", "4789/udp"}, ExitOK,
			[]string{"rule: swarm-cluster"}},
		{[]string{"--from", "198.51.100.1", "--to", "host-worker-1", "--port", "2376/tcp"}, ExitOK,
			[]string{"(site example-host)", "rule: docker"}},
		// Across the deployment: a host node, by name, to a target.
		{[]string{"--from", "host-worker-1", "--to", "target-manager-1", "--port", "2376/tcp"}, ExitOK,
			[]string{"allowed: 192.0.2.11 -> target-manager-1 2376/tcp (site example-target)", "source: nuvla (192.0.2.10/32, 192.0.2.11/32)", "rule: docker"}},
		{[]string{"--site", "../../../cue/sites/example-target.cue", "--from", "192.0.2.11", "--to", "target-manager-1", "--port", "2376/tcp"}, ExitOK,
			[]string{"allowed: 192.0.2.11 -> target-manager-1 2376/tcp"}},
		{[]string{"--site", "../../../cue/sites/example-target.cue", "--from", "host-worker-2", "--to", "target-manager-1", "--port", "2376/tcp"}, ExitUsage,
			[]string{"or the name of a node of these sites or of their hosts"}},
		{[]string{"--from", "host-worker-2", "--to", "target2-manager-1", "--port", "2376/tcp"}, ExitInvalid,
			[]string{"blocked: 192.0.2.12 -> target2-manager-1 2376/tcp (site example-target-2)"}},
		{[]string{"--from", "198.51.100.1", "--to", "nope", "--port", "22"}, ExitUsage,
			[]string{`--to "nope": no node of these sites has that name or address; their nodes:`, "\n  example-target: target-manager-1 203.0.113.10, target-worker-1 203.0.113.11, target-worker-2 203.0.113.12\n"}},
		{[]string{"--from", "nope", "--to", "host-worker-1", "--port", "22"}, ExitUsage,
			[]string{"want an IPv4 address, a prefix such as 198.51.100.0/24, or the name of a node", "\n  example-host: host-manager-1 192.0.2.10, "}},
		{[]string{"--site", "../../../cue/sites/example-target.cue", "--from", "nope", "--to", "target-manager-1", "--port", "22"}, ExitUsage,
			[]string{"\n  example-host (the host of example-target): host-manager-1 192.0.2.10, host-worker-1 192.0.2.11\n"}},
		{[]string{"--from", "198.51.100.1", "--to", "host-worker-1", "--port", "22/sctp"}, ExitUsage, []string{"want tcp or udp"}},
		{[]string{"--to", "host-worker-1"}, ExitUsage, []string{"required"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(append([]string{"firewall", "query"}, tc.args...), &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout.String(), stderr.String())
			}
			out := stdout.String() + stderr.String()
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestGenerateWarnings checks that generate prints the firewall's fixes of
// the seed tables and the examples' lack of manager fault tolerance on
// stderr, positioned, and still succeeds.
func TestGenerateWarnings(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"generate", "--out", t.TempDir()}, &stdout, &stderr); code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	for _, w := range []string{
		"warning: site example-host, rule swarm-manager: the seed opens 2377/tcp (Swarm management) only to management",
		"warning: site example-target, rule ephemeral: the seed opens the ephemeral range 32768-60999/tcp to users, which includes NFS mountd's 33333/tcp",
		"cue/sites/example-host.cue:7:2: warning: site example-host has a single manager: the Swarm has no fault tolerance",
	} {
		if !strings.Contains(stderr.String(), w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if !strings.HasPrefix(line, "cue/firewall.cue:") && !(strings.HasPrefix(line, "cue/sites/") && strings.Contains(line, " manager")) {
			t.Errorf("warning without the position of its rule or site's nodes: %q", line)
		}
	}
}
