package diff

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/nuvla/nuvlagen/generator/exports"
)

// exportsDiffer compares NFS exports(5) files, read by exports.Parse: a
// client that loses access is a risk, whatever mounts the share there
// stops working. A client's options are the line's "-opts" defaults
// followed by its own; a client without a host ("(opts)": the world) is
// shown as *.
var exportsDiffer = differ{
	Kind:  "exports",
	Match: func(rel string) bool { return path.Base(rel) == "exports" || strings.HasSuffix(rel, ".exports") },
	Diff:  diffExports,
}

// exportTable maps an exported path to its clients and their options.
type exportTable map[string]map[string]string

func parseExports(data []byte) (exportTable, error) {
	list, err := exports.Parse(string(data))
	if err != nil {
		return nil, err
	}
	out := exportTable{}
	for _, e := range list {
		if out[e.Path] == nil {
			out[e.Path] = map[string]string{}
		}
		for _, c := range e.Clients {
			host := c.Host
			if host == "" {
				host = "*"
			}
			out[e.Path][host] = strings.Join(append(slices.Clone(e.Defaults), c.Options...), ",")
		}
	}
	return out, nil
}

func diffExports(rel string, old, new []byte) ([]Change, error) {
	eo, err := parseExports(old)
	if err != nil {
		return nil, fmt.Errorf("old %s: %w", rel, err)
	}
	en, err := parseExports(new)
	if err != nil {
		return nil, fmt.Errorf("new %s: %w", rel, err)
	}
	var out []Change
	for _, d := range deltas(eo, en, dataOpts...) {
		dir := d.path[0]
		if len(d.path) == 1 {
			// A whole export added or removed: one line per client.
			var m exportTable
			op, risk, verb := OpAdd, "", "may mount"
			if d.removed() {
				m, op, risk, verb = eo, OpRemove, RiskNFSRemoved, "no longer mounts"
			} else {
				m = en
			}
			for _, host := range sortedHosts(m[dir]) {
				out = append(out, Change{Op: op, Text: fmt.Sprintf("NFS client %s %s %s (%s)", host, verb, dir, m[dir][host]), Risk: risk})
			}
			continue
		}
		host := d.path[1]
		switch {
		case d.added():
			out = append(out, Change{Op: OpAdd, Text: fmt.Sprintf("NFS client %s may mount %s (%s)", host, dir, show(d.new))})
		case d.removed():
			out = append(out, Change{Op: OpRemove, Text: fmt.Sprintf("NFS client %s no longer mounts %s (was %s)", host, dir, show(d.old)), Risk: RiskNFSRemoved})
		default:
			out = append(out, Change{Op: OpChange, Text: fmt.Sprintf("NFS client %s on %s: options %s → %s", host, dir, show(d.old), show(d.new))})
		}
	}
	return out, nil
}

func sortedHosts(m map[string]string) []string { return unionKeys(m, nil) }
