package firewall_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/nuvla/nuvlagen/generator/firewall"
	"github.com/nuvla/nuvlagen/generator/site"
)

// TestQueryPrefix: a prefix is answered in parts of one outcome, and the
// overlap note appears only where the overlap is the answer.
func TestQueryPrefix(t *testing.T) {
	// nuvla's 198.51.100.4 lies inside management's /28: it reaches SSH
	// through management only.
	overlapping := loadTestNuvla(t, `"198.51.100.0/28"`, `"198.51.100.4/32"`, "")
	narrowUsers := loadTest(t, `"198.51.100.0/28"`, `groups: users: ["198.51.0.0/16"]`)
	world := loadTest(t, `"198.51.100.0/28"`, "")
	for _, tc := range []struct {
		name       string
		rs         *site.Site
		from, node string
		port       int
		allowed    bool
		want       []string // lines of Explain, in order
		not        string   // a substring Explain must not have
	}{
		{"address", world, "198.51.100.1/32", "m1", 22, true, []string{
			"allowed: 198.51.100.1 -> m1 22/tcp (site t)",
			"  source: management (198.51.100.0/28), users (0.0.0.0/0)",
			"  rule: ssh (ssh: 22/tcp from management) at cue/firewall.cue:",
		}, "note:"},
		{"open to everyone: no note", world, "198.51.100.1/32", "m1", 40000, true, []string{"  rule: ephemeral"}, "note:"},
		{"blocked: no note", world, "198.51.100.1/32", "m1", 2376, false, []string{"blocked: 198.51.100.1"}, "note:"},
		{"nuvla inside management", overlapping, "198.51.100.4/32", "m1", 22, true, []string{
			"  source: management (198.51.100.0/28), nuvla (198.51.100.4/32), users (0.0.0.0/0)",
			"  note: the groups overlap: let in as management, not as nuvla (its narrowest group)",
			"  rule: ssh",
		}, ""},
		{"nuvla's own port: no note", overlapping, "198.51.100.4/32", "m1", 2376, true, []string{"  rule: docker"}, "note:"},
		{"management inside narrow users", narrowUsers, "198.51.100.1/32", "m1", 40000, true, []string{
			"  note: the groups overlap: let in as users, not as management (its narrowest group)",
		}, ""},
		{"prefix in parts", world, "198.51.100.0/27", "m1", 22, false, []string{
			"partly allowed: 198.51.100.0/27 -> m1 22/tcp (site t): 16 of 32 addresses let in",
			"  from 198.51.100.0/28: allowed",
			"    rule: ssh",
			"  from 198.51.100.16/28: blocked",
			"    source: users (0.0.0.0/0)",
			"    not from here: ssh",
		}, ""},
		{"prefix of one outcome", world, "0.0.0.0/0", "w1", 443, true, []string{
			"allowed: 0.0.0.0/0 -> w1 443/tcp (site t)",
			"  source: users (0.0.0.0/0)",
			"  rule: http",
		}, "\n  from "},
		{"the rest of a wide prefix", world, "0.0.0.0/0", "w1", 2376, false, []string{
			"partly allowed: 0.0.0.0/0 -> w1 2376/tcp (site t): 1 of 4294967296 addresses let in",
			"  from 0.0.0.0/1, 128.0.0.0/2, 192.0.0.0/23 and ",
			"    not from here: docker",
			"  from 192.0.2.10/32: allowed",
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := firewall.Compile(tc.rs)
			if err != nil {
				t.Fatal(err)
			}
			a, err := rs.QueryPrefix(netip.MustParsePrefix(tc.from), tc.node, "tcp", tc.port)
			if err != nil {
				t.Fatal(err)
			}
			got := a.Explain()
			if a.Allowed() != tc.allowed {
				t.Errorf("allowed %v, want %v:\n%s", a.Allowed(), tc.allowed, got)
			}
			rest := got
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 || (i > 0 && rest[i-1] != '\n') {
					t.Fatalf("no line %q (in order) in:\n%s", w, got)
				}
				rest = rest[i+len(w):]
			}
			if tc.not != "" && strings.Contains(got, tc.not) {
				t.Errorf("has %q:\n%s", tc.not, got)
			}
		})
	}
}
