package scripts

import (
	"cuelang.org/go/cue/errors"

	"github.com/nuvla/nuvlagen/generator/site"
)

// Warnings are the findings about the Swarm the scripts deploy on that do
// not stop generation, positioned at the site's nodes: its managers'
// fault tolerance under Raft, which keeps the Swarm running while a
// majority of managers is up.
func Warnings(s *site.Site) []errors.Error {
	managers := 0
	for _, n := range s.Nodes {
		if n.Role == "manager" {
			managers++
		}
	}
	switch {
	case managers == 1:
		return []errors.Error{errors.Newf(s.Pos("nodes"),
			"warning: site %s has a single manager: the Swarm has no fault tolerance, and losing that node stops every change to it (3 managers tolerate the loss of one)", s.Name)}
	case managers > 1 && managers%2 == 0:
		return []errors.Error{errors.Newf(s.Pos("nodes"),
			"warning: site %s has %d managers, an even number: under Raft it tolerates the loss of no more managers than %d would (%d), for one more node that can fail; use %d or %d", s.Name, managers, managers-1, (managers-1)/2, managers-1, managers+1)}
	}
	return nil
}
