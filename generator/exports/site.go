package exports

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"cuelang.org/go/cue/errors"

	"github.com/nuvla/nuvlagen/generator/compose"
	"github.com/nuvla/nuvlagen/generator/site"
)

// Target is where the NFS server's prepare script installs the file:
// exportfs reads /etc/exports.d/*.exports besides /etc/exports, so the
// server's own exports are left alone.
const Target = "/etc/exports.d/nuvlagen.exports"

// FromSite is the export of a target site's share: to every cluster node
// by address, never to a wildcard, with the site's options.
func FromSite(s *site.Site) []Export {
	if s.NFS == nil {
		return nil
	}
	e := Export{Path: s.NFS.Share}
	for _, n := range s.Nodes {
		e.Clients = append(e.Clients, Client{Host: n.Address.String(), Options: slices.Clone(s.NFS.Options)})
	}
	return []Export{e}
}

// Render renders a target site's exports file. Option errors point at the
// site's nfs.options and stop generation; warnings (no_root_squash,
// insecure) are written into the file as comments, where a reviewer of
// out/ sees them.
func Render(s *site.Site) ([]byte, error) {
	list := FromSite(s)
	if list == nil {
		return nil, nil
	}
	var errs errors.Error
	var warnings []string
	// One client's findings stand for all: they share the options.
	for _, f := range CheckOptions("nfs.options", s.NFS.Options) {
		if f.Severity == Error {
			errs = errors.Append(errs, errors.Newf(s.Pos("nfs", "options"), "%s", f.Msg))
			continue
		}
		warnings = append(warnings, f.Msg)
	}
	if len(s.NFS.Options) == 0 {
		errs = errors.Append(errs, errors.Newf(s.Pos("nfs", "options"), "nfs.options: empty; exportfs would apply its defaults and warn: write them out"))
	}
	if errs != nil {
		return nil, errs
	}
	var b bytes.Buffer
	b.WriteString(compose.Header(s.File))
	fmt.Fprintf(&b, "#\n# %s on the NFS server of site %s: the share, to\n# each node of the cluster by address. The server's prepare script installs it.\n", Target, s.Name)
	for _, w := range warnings {
		fmt.Fprintf(&b, "#\n# warning: %s\n", w)
	}
	b.Write(Print(list))

	// The file must read back as what was meant, and pass the full check.
	back, err := Parse(b.String())
	if err != nil {
		return nil, fmt.Errorf("internal error: generated exports do not parse: %w", err)
	}
	if !equal(back, list) {
		return nil, fmt.Errorf("internal error: generated exports do not read back as written")
	}
	// Errors were caught above; the clients are node addresses, so the
	// only warnings left are the options' own, already in the file.
	for _, f := range Check(back) {
		if f.Severity == Error || clientWarning(f.Msg) {
			return nil, fmt.Errorf("internal error: generated exports: %s", f)
		}
	}
	return b.Bytes(), nil
}

func clientWarning(m string) bool {
	return strings.Contains(m, "every host") || strings.Contains(m, "wildcard") || strings.Contains(m, "no options")
}

// equal compares exports ignoring line numbers.
func equal(a, b []Export) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Path != y.Path || !slices.Equal(x.Defaults, y.Defaults) || (x.Defaults == nil) != (y.Defaults == nil) || len(x.Clients) != len(y.Clients) {
			return false
		}
		for j := range x.Clients {
			if x.Clients[j].Host != y.Clients[j].Host || !slices.Equal(x.Clients[j].Options, y.Clients[j].Options) {
				return false
			}
		}
	}
	return true
}
