package vet

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nuvla/nuvlagen/generator/site/sitetest"
)

// TestSiteNetworksByKind: the networks a site creates are those its
// deploy.sh creates: a target's stacks use no backend network, so its
// deploy.sh creates none, and a file that needs it is refused.
func TestSiteNetworksByKind(t *testing.T) {
	for _, tc := range []struct {
		kind string
		want string // the message for the backend network, or ""
	}{
		{"host", ""},
		{"target", `external network %q is not one the site %s creates (%s)`},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			s := sitetest.Kind(t, tc.kind)
			src := fmt.Sprintf("services:\n  web:\n    image: nginx:1.27.2\n    networks: [public, backend]\n"+
				"networks:\n  public:\n    external: true\n    name: %s\n  backend:\n    external: true\n    name: %s\n",
				s.Networks.Public, s.Networks.Backend)
			var got []string
			for _, d := range File("app/docker-compose.yml", []byte(src), &Options{Site: s}) {
				if d.Rule == ruleSiteNetwork.ID {
					got = append(got, d.Message)
				}
			}
			want := []string{}
			if tc.want != "" {
				want = append(want, fmt.Sprintf(tc.want, s.Networks.Backend, s.Name, s.Networks.Public))
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}
