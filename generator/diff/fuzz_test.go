package diff

import (
	"strings"
	"testing"
)

// FuzzCompare: whatever two files hold, comparing them never panics, and
// two different files always yield a report that says something.
func FuzzCompare(f *testing.F) {
	f.Add("stacks/s/docker-compose.yml", "services:\n  a:\n    image: x:1\n", "services:\n  a:\n    image: x:2\n")
	f.Add("firewall/rules.json", `{"generated": "g", "site": "s", "nodes": [{"name": "n", "rules": [{"proto": "tcp", "ports": [{"from": 22, "to": 22}], "from": [{"class": "users", "cidrs": ["0.0.0.0/0"]}]}]}]}`, "")
	f.Add("nfs/exports", "/srv a(rw)\n", "/srv a(ro) b(rw\n")
	f.Add("stacks/s/traefik.yaml", "a: [1, 2]\n", "a: {b: 1}\n")
	f.Add("deploy.sh", "#!/bin/sh\n", "#!/bin/bash\n")
	f.Fuzz(func(t *testing.T, rel, old, new string) {
		if rel == "" || strings.HasPrefix(rel, "/") || strings.Contains(rel, "//") || strings.HasSuffix(rel, "/") {
			return
		}
		r := Compare(map[string][]byte{"s/" + rel: []byte(old)}, map[string][]byte{"s/" + rel: []byte(new)})
		if old != new && r.Empty() {
			t.Fatalf("%s: %q → %q: empty report", rel, old, new)
		}
		if old == new && !r.Empty() {
			t.Fatalf("%s: equal files reported: %+v", rel, r.Sites[0].Files)
		}
		for _, format := range Formats {
			var b strings.Builder
			if err := Write(&b, r, format, false); err != nil {
				t.Fatal(err)
			}
		}
	})
}
