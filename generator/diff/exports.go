package diff

import (
	"fmt"
	"path"
	"strings"
)

// exportsDiffer compares NFS exports(5) files: one export per line,
// `/path host(opts) host(opts)`, with `#` comments and backslash
// continuations. A client that loses access is a risk: whatever mounts the
// share there stops working.
var exportsDiffer = Differ{
	Kind:  "exports",
	Match: func(rel string) bool { return path.Base(rel) == "exports" || strings.HasSuffix(rel, ".exports") },
	Diff:  diffExports,
}

// exports maps an exported path to its clients and their options.
type exports map[string]map[string]string

func parseExports(data []byte) (exports, error) {
	out := exports{}
	text := strings.ReplaceAll(string(data), "\\\n", " ")
	for i, line := range strings.Split(text, "\n") {
		if j := strings.Index(line, "#"); j >= 0 {
			line = line[:j]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		dir := fields[0]
		if strings.HasPrefix(dir, `"`) {
			dir = strings.Trim(dir, `"`)
		}
		if !strings.HasPrefix(dir, "/") {
			return nil, fmt.Errorf("line %d: %q is not an absolute exported path", i+1, fields[0])
		}
		if out[dir] == nil {
			out[dir] = map[string]string{}
		}
		for _, c := range fields[1:] {
			host, opts, ok := strings.Cut(c, "(")
			if ok {
				if !strings.HasSuffix(opts, ")") {
					return nil, fmt.Errorf("line %d: client %q: unbalanced parenthesis", i+1, c)
				}
				opts = strings.TrimSuffix(opts, ")")
			}
			if host == "" {
				// "/path (opts)": default options for every host.
				host = "*"
			}
			out[dir][host] = opts
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
			var m exports
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
