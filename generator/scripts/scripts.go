package scripts

import (
	"github.com/nuvla/nuvlagen/generator/site"
)

// Render returns the site's scripts by their paths in out/<site>/:
// deploy.sh, teardown.sh, verify.sh and prepare/<node>.sh. nodeFiles are
// the rendered NFS files the prepare scripts install.
func Render(s *site.Site, nodeFiles map[string][]byte) (map[string][]byte, error) {
	out := map[string][]byte{}
	d, err := Deploy(s)
	if err != nil {
		return nil, err
	}
	out["deploy.sh"] = d
	t, err := Teardown(s)
	if err != nil {
		return nil, err
	}
	out["teardown.sh"] = t
	v, err := Verify(s)
	if err != nil {
		return nil, err
	}
	out["verify.sh"] = v
	p, err := Prepare(s, nodeFiles)
	if err != nil {
		return nil, err
	}
	for k, v := range p {
		out[k] = v
	}
	return out, nil
}
