// Package synthetic makes site files for benchmarks and scale tests.
package synthetic

import (
	"fmt"
	"strings"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
)

// Targets makes n target site files of nodes nodes each, with distinct
// names and addresses.
func Targets(n, nodes int) []nuvlacue.File {
	out := make([]nuvlacue.File, n)
	for i := range n {
		var b strings.Builder
		fmt.Fprintf(&b, "sites: \"t%04d\": {\n\tkind: \"target\"\n\tdomain: \"t%04d.example.org\"\n", i, i)
		b.WriteString("\tgroups: {management: [\"198.51.100.0/28\"], nuvla: [\"192.0.2.10/32\"]}\n\tnodes: {\n")
		for j := range nodes {
			role, nfs := "worker", ""
			if j == 0 {
				role, nfs = "manager", ", nfsServer: true"
			}
			fmt.Fprintf(&b, "\t\t\"n%02d\": {address: \"203.0.113.%d\", role: %q%s}\n", j, 1+j, role, nfs)
		}
		b.WriteString("\t}\n}\n")
		out[i] = nuvlacue.File{Name: fmt.Sprintf("t%04d.cue", i), Data: []byte(b.String())}
	}
	return out
}
