package scripts_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nuvla/nuvlagen/generator/scripts"
	"github.com/nuvla/nuvlagen/generator/site"
)

func TestManagerWarnings(t *testing.T) {
	for _, tc := range []struct {
		managers, workers int
		want              string // "" for none
	}{
		{1, 0, "has a single manager: the Swarm has no fault tolerance"},
		{1, 3, "has a single manager"},
		{2, 1, "has 2 managers, an even number: under Raft it tolerates the loss of no more managers than 1 would (0)"},
		{3, 2, ""},
		{4, 0, "has 4 managers, an even number: under Raft it tolerates the loss of no more managers than 3 would (1), for one more node that can fail; use 3 or 5"},
		{5, 0, ""},
		{0, 2, ""}, // refused by the model, not warned of twice
	} {
		t.Run(fmt.Sprintf("%dm%dw", tc.managers, tc.workers), func(t *testing.T) {
			s := &site.Site{Name: "s"}
			for i := 0; i < tc.managers; i++ {
				s.Nodes = append(s.Nodes, site.Node{Name: fmt.Sprintf("m%d", i), Role: "manager"})
			}
			for i := 0; i < tc.workers; i++ {
				s.Nodes = append(s.Nodes, site.Node{Name: fmt.Sprintf("w%d", i), Role: "worker"})
			}
			got := scripts.Warnings(s)
			if tc.want == "" {
				if len(got) != 0 {
					t.Errorf("warnings: %v", got)
				}
				return
			}
			if len(got) != 1 || !strings.Contains(got[0].Error(), tc.want) || !strings.HasPrefix(got[0].Error(), "warning: site s ") {
				t.Errorf("warnings: %v, want one with %q", got, tc.want)
			}
		})
	}
}
