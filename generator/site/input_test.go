package site

import (
	"strings"
	"testing"

	"cuelang.org/go/cue"

	"github.com/nuvla/nuvlagen/generator/diag"
)

// TestInputFields checks the split of the model: every field of #Site is
// either a field of #SiteInput, which a site file writes, or marked
// @nuvlagen(derived), which it does not (the property test of hostile
// values skips those), never both.
func TestInputFields(t *testing.T) {
	l, err := NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	sites, err := l.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sites {
		in := l.input.FillPath(cue.ParsePath("kind"), s.Kind)
		input := map[string]bool{}
		iter, err := in.Fields(cue.Optional(true))
		if err != nil {
			t.Fatal(err)
		}
		for iter.Next() {
			input[iter.Selector().Unquoted()] = true
		}
		iter, err = s.value.Fields(cue.Optional(true))
		if err != nil {
			t.Fatal(err)
		}
		for iter.Next() {
			name := iter.Selector().Unquoted()
			a := iter.Value().Attribute("nuvlagen")
			derived := a.Err() == nil && a.Contents() == "derived"
			switch {
			case derived && input[name]:
				t.Errorf("site %s: %s is a field of #SiteInput and marked derived", s.Name, name)
			case !derived && !input[name]:
				t.Errorf("site %s: %s is neither a field of #SiteInput nor marked derived", s.Name, name)
			}
		}
	}
}

// TestInputKind: fields #SiteInput has for one kind of site only are
// refused in the other's.
func TestInputKind(t *testing.T) {
	l, err := NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	const host = `package nuvla
sites: h: {
	kind:   "host"
	domain: "nuvla.example.org"
	nodes: {
		m1: {address: "192.0.2.10", role: "manager", labels: type: "frontend"}
		w1: {address: "192.0.2.11", role: "worker", labels: type: "worker-job"}
		w2: {address: "192.0.2.12", role: "worker", labels: type: "worker-db"}
	}
	groups: management: ["198.51.100.0/28"]
	%s
}
`
	if _, err := l.Load("h.cue", []byte(strings.Replace(host, "%s", "", 1))); err != nil {
		t.Fatalf("the host site: %v", err)
	}
	for _, extra := range []string{`nfs: share: "/srv"`, `minio: s3Domain: "s3.example.org"`} {
		if _, err := l.Load("h.cue", []byte(strings.Replace(host, "%s", extra, 1))); err == nil {
			t.Errorf("a host site with %s loads", extra)
		}
	}
}

// TestReferences: the model refuses a rule naming or carving out a port
// that does not exist, and firewall.openToWorld naming a rule that does
// not, at the name in the site file (cue/references.cue).
func TestReferences(t *testing.T) {
	l, err := NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	const src = `package nuvla
sites: t: {
	kind:   "target"
	domain: "t.example.org"
	nodes: {
		m1: {address: "203.0.113.10", role: "manager", nfsServer: true}
		w1: {address: "203.0.113.11", role: "worker"}
	}
	groups: {management: ["198.51.100.0/28"], nuvla: ["192.0.2.10/32"]}
	%s
}
`
	for _, tc := range []struct{ extra, want string }{
		{`firewall: openToWorld: ["ssh", "sssh"]`,
			`t.cue:10:33: sites.t.firewall.openToWorld.1: firewall.openToWorld names a rule that firewall.rules does not define (rule at cue/references.cue:17:46)`},
		{`firewall: rules: app: {service: "app", ports: ["http", "nope"], from: ["users"]}`,
			`t.cue:10:57: sites.t.firewall.rules.app.ports.1: firewall rule app names a port that firewall.ports does not define (rule at cue/references.cue:14:31)`},
		{`firewall: rules: app: {service: "app", ports: ["http"], except: ["gone"], from: ["users"]}`,
			`t.cue:10:67: sites.t.firewall.rules.app.except.0: firewall rule app carves out a port that firewall.ports does not define (rule at cue/references.cue:15:32)`},
		{`firewall: rules: app: {service: "app", ports: ["http"], except: ["mountd"], from: ["users"]}
	firewall: openToWorld: ["app"]`, ""},
	} {
		_, err := l.Load("t.cue", []byte(strings.Replace(src, "%s", tc.extra, 1)))
		got := strings.Join(diag.Lines(err, ""), "\n")
		if got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.extra, got, tc.want)
		}
	}
}
