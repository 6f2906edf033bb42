package scripts

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nuvla/nuvlagen/generator/site"
)

// Teardown renders teardown.sh.
func Teardown(s *site.Site) ([]byte, error) {
	nets, err := networks(s)
	if err != nil {
		return nil, fmt.Errorf("site %s: %w", s.Name, err)
	}
	w := newScript(s.File)
	w.Comment(`#
# teardown.sh removes the stacks of site %s in reverse deployment order,
# waiting for each to be gone. It keeps the Docker secrets and the shared
# networks unless asked, and always keeps the volumes.
#
# A dry run plans against a complete deployment: every "?" query is
# answered "present".
`, s.Name)
	w.Text(dryRunDoc)
	w.Text("set -euo pipefail\n\n")
	w.Text("prog=teardown.sh\n")
	w.Assign("site", s.Name)
	w.Text("dry_run=false\ndry_exists=true\n")
	w.Text("remove_secrets=false\nremove_networks=false\n")
	w.Assign("default_timeout", strconv.Itoa(DefaultTimeout))
	w.Text("timeout=$default_timeout\n\n")
	w.Helpers()
	w.Text("\n")
	w.Library(libs, "lib/teardown.sh")
	w.Text("\n")
	w.Library(libs, "lib/teardown-main.sh")
	for i := len(s.Stacks) - 1; i >= 0; i-- {
		w.Cmd("remove_stack", s.Stacks[i].Name)
	}
	w.Text("\nif \"$remove_secrets\"; then\n")
	for _, sec := range s.Secrets {
		w.Text("\t")
		w.Cmd("remove_secret", sec.Name)
	}
	w.Text("fi\n")
	if len(nets) > 0 {
		w.Text("\nif \"$remove_networks\"; then\n")
		for i := len(nets) - 1; i >= 0; i-- {
			w.Text("\t")
			w.Cmd("remove_network", nets[i].name)
		}
		w.Text("fi\n")
	}
	vols, err := volumes(s)
	if err != nil {
		return nil, fmt.Errorf("site %s: %w", s.Name, err)
	}
	if len(vols) > 0 {
		w.Text("\n")
		w.Cmd("note", "kept volumes, on the nodes that ran them: "+strings.Join(vols, " "))
	}
	if s.NFS != nil {
		w.Cmd("note", "kept Minio's data in "+s.NFS.Share+" on the NFS server")
	}
	w.Text("note \"site $site torn down\"\n")
	return w.Bytes()
}
