package scripts_test

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"testing"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
	"github.com/nuvla/nuvlagen/generator/compose"
	"github.com/nuvla/nuvlagen/generator/pipeline"
	"github.com/nuvla/nuvlagen/generator/pipeline/pipelinetest"
	"github.com/nuvla/nuvlagen/generator/site"
)

// kernelLine is a line of the sysctl.d file a prepare script installs.
var kernelLine = regexp.MustCompile(`(?m)^(net\.ipv4\.ip_local_port_range|vm\.swappiness|vm\.max_map_count) = (.*)$`)

// TestPrepareKernelSettings: every node's prepare script sets the site's
// ephemeralPorts as net.ipv4.ip_local_port_range, and exactly the nodes
// that Elasticsearch's placement, read from the rendered compose file of
// the stack that runs it, admits get Elasticsearch's settings
// (vm.max_map_count 262144, vm.swappiness 1: swap only under memory
// pressure, as Elasticsearch asks where swap stays on), also with the db
// stack renamed and with ephemeralPorts set.
func TestPrepareKernelSettings(t *testing.T) {
	var inputs []pipeline.Input
	var hostSrc []byte
	for _, f := range nuvlacue.Sites() {
		inputs = append(inputs, pipeline.Input{Name: f.Name, Data: f.Data})
		if strings.HasSuffix(f.Name, "/example-host.cue") {
			hostSrc = f.Data
		}
	}
	// A host on its own, its db stack renamed, its ephemeral range set.
	renamed := strings.Replace(string(hostSrc), `sites: "example-host": {`, `sites: "kernel-host": {
	stackNames: db: "store"
	ephemeralPorts: {from: 40000, to: 49999}`, 1)
	renamed = strings.ReplaceAll(renamed, "nuvla.example.org", "kernel.example.org")
	renamed = strings.ReplaceAll(renamed, `"192.0.2.1`, `"192.0.2.5`) // its nodes' addresses
	inputs = append(inputs, pipeline.Input{Name: "kernel-host.cue", Data: []byte(renamed)})
	l, err := site.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	res := pipelinetest.Render(t, pipeline.Options{}, inputs...)
	seen := map[string]bool{}
	for _, in := range inputs {
		sites, err := l.Load(in.Name, in.Data)
		if err != nil {
			t.Fatalf("%s: %v", in.Name, err)
		}
		for _, s := range sites {
			seen[s.Name] = true
			t.Run(s.Name, func(t *testing.T) { checkKernel(t, s, pipelinetest.Site(t, res, s.Name)) })
		}
	}
	if !seen["kernel-host"] {
		t.Fatal("the renamed host did not load")
	}
}

func checkKernel(t *testing.T, s *site.Site, files pipeline.Files) {
	es := map[string]bool{}
	found := false
	for _, st := range s.Stacks {
		p, err := compose.Project(st.Name, files[path.Join("stacks", st.Name, compose.FileName)])
		if err != nil {
			t.Fatal(err)
		}
		svc, ok := p.Services["es"]
		if !ok {
			continue
		}
		found = true
		var constraints []string
		if svc.Deploy != nil {
			constraints = svc.Deploy.Placement.Constraints
		}
		for _, n := range s.NodesSatisfying(constraints) {
			es[n.Name] = true
		}
	}
	if s.Kind == site.KindHost && (!found || len(es) == 0) {
		t.Fatalf("host site %s: no node runs Elasticsearch", s.Name)
	}
	ports := fmt.Sprintf("%d %d", s.EphemeralPorts.From, s.EphemeralPorts.To)
	for _, n := range s.Nodes {
		script := string(files["prepare/"+n.Name+".sh"])
		got := map[string]string{}
		for _, m := range kernelLine.FindAllStringSubmatch(script, -1) {
			if prev, ok := got[m[1]]; ok && prev != m[2] {
				t.Errorf("node %s sets %s twice: %s and %s", n.Name, m[1], prev, m[2])
			}
			got[m[1]] = m[2]
		}
		want := map[string]string{"net.ipv4.ip_local_port_range": ports}
		if es[n.Name] {
			want["vm.max_map_count"], want["vm.swappiness"] = "262144", "1"
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("node %s (Elasticsearch's: %v): %s = %q, want %q", n.Name, es[n.Name], k, got[k], v)
			}
		}
		for k, v := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("node %s, where Elasticsearch does not run: sets %s = %s", n.Name, k, v)
			}
		}
	}
}
