package swarmtest

import (
	"bytes"
	"fmt"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/nuvla/nuvlagen/generator/site"
)

// checkSpecs asserts, from the generated compose files and the model
// rather than the goldens, that the daemon stored what the files ask for.
func checkSpecs(t *testing.T, dp *deployment, snap *snapshot) {
	t.Helper()
	s := dp.site
	shared := map[string]bool{s.Networks.Public: true, s.Networks.Backend: true}
	for _, o := range []struct {
		name       string
		attachable bool
	}{{s.Networks.Public, false}, {s.Networks.Backend, true}} {
		n, ok := snap.networks[o.name]
		switch {
		case !ok:
			t.Errorf("network %s: not on the daemon", o.name)
		case str(n, "Driver") != "overlay" || str(n, "Scope") != "swarm":
			t.Errorf("network %s: driver %s, scope %s; want an overlay network of the Swarm", o.name, str(n, "Driver"), str(n, "Scope"))
		case get(n, "Attachable") != o.attachable:
			t.Errorf("network %s: attachable %v, want %v", o.name, get(n, "Attachable"), o.attachable)
		}
	}
	want := 0
	for _, st := range s.Stacks {
		p := dp.projects[st.Name]
		want += len(p.Services)
		for _, svc := range p.Services {
			name := st.Name + "_" + svc.Name
			v, ok := snap.services[name]
			if !ok {
				t.Errorf("service %s: not on the daemon", name)
				continue
			}
			checkService(t, dp, snap, st.Name, p, svc, name, v, shared)
		}
	}
	if len(snap.services) != want {
		t.Errorf("the daemon has %d services of the site's stacks, the compose files define %d", len(snap.services), want)
	}
	// Every secret the site creates and every config the stacks create is
	// mounted somewhere: an unused one is a value the operator provides
	// for nothing.
	used := map[string]bool{}
	for _, v := range snap.services {
		for _, k := range []string{"Secrets", "Configs"} {
			refs, _ := get(v, "Spec", "TaskTemplate", "ContainerSpec", k).([]any)
			for _, r := range refs {
				used[str(r, "SecretName")+str(r, "ConfigName")] = true
			}
		}
	}
	for _, sec := range s.Secrets {
		if !used[dp.versions[sec.Name]] {
			t.Errorf("secret %s: the site creates it, no service mounts it", sec.Name)
		}
	}
	for name := range snap.configs {
		if !used[name] {
			t.Errorf("config %s: on the daemon, no service mounts it", name)
		}
	}
}

func checkService(t *testing.T, dp *deployment, snap *snapshot, stack string, p *types.Project, svc types.ServiceConfig, name string, v map[string]any, shared map[string]bool) {
	t.Helper()
	s := dp.site
	spec := v["Spec"].(map[string]any)

	// Networks: the model's names for the shared ones, the stack's
	// namespace for its own.
	var wantNets []string
	for n := range svc.Networks {
		pn := p.Networks[n]
		switch {
		case pn.Name != "":
			wantNets = append(wantNets, pn.Name)
		case bool(pn.External):
			wantNets = append(wantNets, n)
		default:
			wantNets = append(wantNets, stack+"_"+n)
		}
		if bool(pn.External) && !shared[wantNets[len(wantNets)-1]] {
			t.Errorf("service %s: external network %s is not one of the site's", name, wantNets[len(wantNets)-1])
		}
	}
	slices.Sort(wantNets)
	gotNets := snap.serviceNetworks(v)
	if d := cmp.Diff(wantNets, gotNets); d != "" {
		t.Errorf("service %s: networks differ (-compose +daemon):\n%s", name, d)
	}
	for _, n := range gotNets {
		if !shared[n] && !strings.HasPrefix(n, stack+"_") {
			t.Errorf("service %s: attached to %s, neither a network of the site nor of its stack", name, n)
		}
	}

	// Labels: Traefik's Swarm provider reads the service's labels, so the
	// routing labels must be there, and nowhere else.
	var deployLabels map[string]string
	if svc.Deploy != nil {
		deployLabels = svc.Deploy.Labels
	}
	svcLabels, _ := spec["Labels"].(map[string]any)
	for k, want := range deployLabels {
		if got, _ := svcLabels[k].(string); got != want {
			t.Errorf("service %s: label %s is %q on the service, the compose file sets %q", name, k, got, want)
		}
	}
	for k := range get(spec, "TaskTemplate", "ContainerSpec", "Labels").(map[string]any) {
		if strings.HasPrefix(k, "traefik.") {
			t.Errorf("service %s: Traefik label %s on the container, where the Swarm provider does not read it", name, k)
		}
	}
	if deployLabels["traefik.enable"] == "true" {
		if got, _ := svcLabels["traefik.swarm.network"].(string); got != s.Networks.Public {
			t.Errorf("service %s: traefik.swarm.network is %q on the service, want the public network %s", name, got, s.Networks.Public)
		}
		if !slices.Contains(gotNets, s.Networks.Public) {
			t.Errorf("service %s: routed by Traefik but not on the public network %s", name, s.Networks.Public)
		}
	}

	// Placement: as generated, and satisfiable by a node of the model.
	var wantCons []string
	if svc.Deploy != nil {
		wantCons = slices.Clone(svc.Deploy.Placement.Constraints)
	}
	gotCons := constraints(v)
	slices.Sort(wantCons)
	if d := cmp.Diff(wantCons, gotCons, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("service %s: placement constraints differ (-compose +daemon):\n%s", name, d)
	}
	ok := false
	for _, n := range s.Nodes {
		sat, err := satisfies(gotCons, n.Role, n.Labels)
		if err != nil {
			t.Errorf("service %s: %v", name, err)
		}
		ok = ok || sat
	}
	if !ok {
		t.Errorf("service %s: no node of the model satisfies %v", name, gotCons)
	}

	// Secrets and configs: each mounted at its target, under the name the
	// site creates (secrets) or the stack created (configs, with the
	// generated content).
	cs := get(spec, "TaskTemplate", "ContainerSpec")
	var wantRefs, gotRefs []string
	for _, sec := range svc.Secrets {
		target := sec.Target
		if target == "" {
			target = sec.Source
		}
		if !path.IsAbs(target) {
			target = "/run/secrets/" + target
		}
		secName := p.Secrets[sec.Source].Name
		if strings.HasPrefix(secName, "${") {
			// Named at deploy time (compose.SecretVariable): the version
			// the deployment created.
			secName = dp.versions[sec.Source]
		}
		wantRefs = append(wantRefs, "secret "+objectName(stack, sec.Source, secName, bool(p.Secrets[sec.Source].External))+" at "+target)
	}
	for _, c := range svc.Configs {
		pc := p.Configs[c.Source]
		target := c.Target
		if target == "" {
			target = "/" + c.Source
		}
		cname := objectName(stack, c.Source, pc.Name, bool(pc.External))
		wantRefs = append(wantRefs, "config "+cname+" at "+target)
		if cfg, ok := snap.configs[cname]; !ok {
			t.Errorf("service %s: config %s not on the daemon", name, cname)
		} else if data, err := configData(cfg); err != nil {
			t.Errorf("config %s: %v", cname, err)
		} else if gen := dp.files[path.Join("stacks", stack, path.Clean(pc.File))]; !bytes.Equal(data, gen) {
			t.Errorf("config %s: the daemon holds %d bytes that differ from the generated %s", cname, len(data), pc.File)
		}
	}
	for _, k := range []string{"Secrets", "Configs"} {
		refs, _ := get(cs, k).([]any)
		for _, r := range refs {
			kind, n := "secret", str(r, "SecretName")
			if k == "Configs" {
				kind, n = "config", str(r, "ConfigName")
			}
			gotRefs = append(gotRefs, kind+" "+n+" at "+str(r, "File", "Name"))
		}
	}
	slices.Sort(wantRefs)
	slices.Sort(gotRefs)
	if d := cmp.Diff(wantRefs, gotRefs); d != "" {
		t.Errorf("service %s: mounted secrets and configs differ (-compose +daemon):\n%s", name, d)
	}
	for _, r := range gotRefs {
		if n, ok := strings.CutPrefix(r, "secret "); ok {
			n, _, _ = strings.Cut(n, " at ")
			if !slices.ContainsFunc(s.Secrets, func(sec site.Secret) bool { return dp.versions[sec.Name] == n }) {
				t.Errorf("service %s: mounts secret %s, which the site does not create", name, n)
			}
		}
	}

	// Published ports and their modes.
	var wantPorts, gotPorts []string
	for _, pt := range svc.Ports {
		proto := pt.Protocol
		if proto == "" {
			proto = "tcp"
		}
		mode := pt.Mode
		if mode == "" {
			mode = "ingress"
		}
		wantPorts = append(wantPorts, fmt.Sprintf("%s/%s->%d %s", pt.Published, proto, pt.Target, mode))
	}
	ports, _ := get(spec, "EndpointSpec", "Ports").([]any)
	for _, pt := range ports {
		gotPorts = append(gotPorts, fmt.Sprintf("%v/%s->%v %s", get(pt, "PublishedPort"), str(pt, "Protocol"), get(pt, "TargetPort"), str(pt, "PublishMode")))
	}
	slices.Sort(wantPorts)
	slices.Sort(gotPorts)
	if d := cmp.Diff(wantPorts, gotPorts); d != "" {
		t.Errorf("service %s: published ports differ (-compose +daemon):\n%s", name, d)
	}

	// Mode and replicas.
	wantMode := "replicated 1"
	if svc.Deploy != nil {
		switch {
		case svc.Deploy.Mode == "global":
			wantMode = "global"
		case svc.Deploy.Replicas != nil:
			wantMode = fmt.Sprintf("replicated %d", *svc.Deploy.Replicas)
		}
	}
	gotMode := "global"
	if r := get(spec, "Mode", "Replicated"); r != nil {
		gotMode = fmt.Sprintf("replicated %v", get(r, "Replicas"))
	} else if get(spec, "Mode", "Global") == nil {
		gotMode = fmt.Sprintf("%v", get(spec, "Mode"))
	}
	if gotMode != wantMode {
		t.Errorf("service %s: mode %s on the daemon, %s in the compose file", name, gotMode, wantMode)
	}
}

// objectName is the Swarm name of a top-level secret or config.
func objectName(stack, key, name string, external bool) string {
	switch {
	case name != "":
		return name
	case external:
		return key
	default:
		return stack + "_" + key
	}
}

// constraints are a service's placement constraints, sorted.
func constraints(v map[string]any) []string {
	var c []string
	l, _ := get(v, "Spec", "TaskTemplate", "Placement", "Constraints").([]any)
	for _, x := range l {
		c = append(c, x.(string))
	}
	slices.Sort(c)
	return c
}

// satisfies evaluates placement constraints of the forms the model uses
// (node.role and node.labels, == and !=) for a node, as Swarm does: label
// values compare case-insensitively, a missing label equals nothing.
// Other forms are an error, so that a new one is noticed here.
func satisfies(constraints []string, role string, labels map[string]string) (bool, error) {
	for _, c := range constraints {
		key, val, neg := "", "", false
		if l, r, ok := strings.Cut(c, "!="); ok {
			key, val, neg = l, r, true
		} else if l, r, ok := strings.Cut(c, "=="); ok {
			key, val = l, r
		} else {
			return false, fmt.Errorf("constraint %q: no == or !=", c)
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		var have string
		var present bool
		switch {
		case key == "node.role":
			have, present = role, true
		case strings.HasPrefix(key, "node.labels."):
			have, present = labels[strings.TrimPrefix(key, "node.labels.")]
		default:
			return false, fmt.Errorf("constraint %q: the test does not evaluate %s", c, key)
		}
		if match := present && strings.EqualFold(have, val); match == neg {
			return false, nil
		}
	}
	return true, nil
}
