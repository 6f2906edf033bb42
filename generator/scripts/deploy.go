package scripts

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/nuvla/nuvlagen/generator/compose"
	"github.com/nuvla/nuvlagen/generator/secrets"
	"github.com/nuvla/nuvlagen/generator/site"
)

// DefaultTimeout is how long, in seconds, deploy.sh waits for a stack to
// converge and teardown.sh for one to be removed.
const DefaultTimeout = 300

// DefaultSettle is how long, in seconds, the tasks of a stack must keep
// running, the same ones, for deploy.sh to count the stack as started: the
// 5 s docker service create waits to verify that tasks are stable.
const DefaultSettle = 5

// network is a shared overlay network the stacks declare external.
type network struct {
	name       string
	attachable bool
}

// composeResources are the parts of a compose file the scripts create
// or remove outside `docker stack deploy`.
type composeResources struct {
	Networks map[string]struct {
		External json.RawMessage `json:"external"`
		Name     *string         `json:"name"`
	} `json:"networks"`
	Volumes map[string]*struct {
		Name *string `json:"name"`
	} `json:"volumes"`
}

// placement is the part of a compose file that selects nodes, and the
// environment that may name a site variable.
type placement struct {
	Services map[string]struct {
		Environment map[string]*string `json:"environment"`
		Deploy      struct {
			Placement struct {
				Constraints []string `json:"constraints"`
			} `json:"placement"`
		} `json:"deploy"`
	} `json:"services"`
}

// labelConstraint is a placement constraint on a node label.
var labelConstraint = regexp.MustCompile(`^\s*node\.labels\.([^\s=!]+)\s*(==|!=)`)

// managedLabels are the node label keys deploy.sh owns: those the site's
// nodes set and those the stacks' placement constraints select on, so a
// key no node has any more is still removed.
func managedLabels(s *site.Site) ([]string, error) {
	keys := map[string]bool{}
	for _, n := range s.Nodes {
		for k := range n.Labels {
			keys[k] = true
		}
	}
	for _, st := range s.Stacks {
		var p placement
		if err := json.Unmarshal(st.Compose, &p); err != nil {
			return nil, fmt.Errorf("stack %s: %w", st.Name, err)
		}
		for _, svc := range p.Services {
			for _, c := range svc.Deploy.Placement.Constraints {
				if m := labelConstraint.FindStringSubmatch(c); m != nil {
					keys[m[1]] = true
				}
			}
		}
	}
	return slices.Sorted(maps.Keys(keys)), nil
}

// fixedVariable is a variable that must not change, and the Swarm services
// (<stack>_<service>) whose environment has it.
type fixedVariable struct {
	name     string
	services []string
}

// fixedVariables lists the site's fixed variables with the services that
// read them.
func fixedVariables(s *site.Site) ([]fixedVariable, error) {
	var out []fixedVariable
	for _, v := range s.Variables {
		if !v.Fixed {
			continue
		}
		f := fixedVariable{name: v.Name}
		for _, st := range s.Stacks {
			var p placement
			if err := json.Unmarshal(st.Compose, &p); err != nil {
				return nil, fmt.Errorf("stack %s: %w", st.Name, err)
			}
			for _, svc := range slices.Sorted(maps.Keys(p.Services)) {
				for _, val := range p.Services[svc].Environment {
					if val != nil && (strings.Contains(*val, "${"+v.Name+":") || strings.Contains(*val, "${"+v.Name+"}")) {
						f.services = append(f.services, st.Name+"_"+svc)
						break
					}
				}
			}
		}
		if len(f.services) == 0 {
			return nil, fmt.Errorf("variable %s is fixed, but no service's environment has it", v.Name)
		}
		out = append(out, f)
	}
	return out, nil
}

func resources(st site.Stack) (composeResources, error) {
	var r composeResources
	if err := json.Unmarshal(st.Compose, &r); err != nil {
		return r, fmt.Errorf("stack %s: %w", st.Name, err)
	}
	return r, nil
}

// networks lists the external networks the stacks use, public first. The
// backend is attachable (as the upstream files have it, so one-off
// containers can reach the database); the public network is not.
func networks(s *site.Site) ([]network, error) {
	used := map[string]bool{}
	for _, st := range s.Stacks {
		r, err := resources(st)
		if err != nil {
			return nil, err
		}
		for _, key := range slices.Sorted(maps.Keys(r.Networks)) {
			n := r.Networks[key]
			if string(n.External) != "true" {
				continue
			}
			name := key
			if n.Name != nil {
				name = *n.Name
			}
			if name != s.Networks.Public && name != s.Networks.Backend {
				return nil, fmt.Errorf("stack %s: external network %s is neither the public nor the backend network, and nothing creates it", st.Name, name)
			}
			used[name] = true
		}
	}
	var out []network
	if used[s.Networks.Public] {
		out = append(out, network{s.Networks.Public, false})
	}
	if used[s.Networks.Backend] {
		out = append(out, network{s.Networks.Backend, true})
	}
	return out, nil
}

// Networks returns the names of the networks deploy.sh creates for site
// s, in the order it creates them: the shared networks its stacks declare
// external (a target site's stacks use no backend network, so its
// deploy.sh creates none).
func Networks(s *site.Site) ([]string, error) {
	nets, err := networks(s)
	if err != nil {
		return nil, fmt.Errorf("site %s: %w", s.Name, err)
	}
	out := make([]string, len(nets))
	for i, n := range nets {
		out[i] = n.name
	}
	return out, nil
}

// volumes lists the named volumes of the stacks by their Swarm names.
func volumes(s *site.Site) ([]string, error) {
	var out []string
	for _, st := range s.Stacks {
		r, err := resources(st)
		if err != nil {
			return nil, err
		}
		for key, v := range r.Volumes {
			name := st.Name + "_" + key
			if v != nil && v.Name != nil {
				name = *v.Name
			}
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Deploy renders deploy.sh.
func Deploy(s *site.Site) ([]byte, error) {
	nets, err := networks(s)
	if err != nil {
		return nil, fmt.Errorf("site %s: %w", s.Name, err)
	}
	w := newScript(s.File)
	w.Comment(`#
# deploy.sh deploys site %s from this directory, on the Swarm whose
# manager the Docker client talks to: it creates the shared networks, labels
# the nodes, creates the Docker secrets from the secrets directory, then
# deploys the stacks in order and waits for each to converge. Networks,
# labels and secrets that exist are left alone, and re-deploying a stack
# whose files did not change changes nothing: running it again is safe.
# The node labels the site sets are deploy.sh's: it removes them from the
# nodes that should no longer have them. Each secret file becomes a Swarm
# secret named with its digest, so a changed file is rolled out as a new
# version, and the old one removed once no service uses it.
#
# A dry run plans against an empty Swarm: every "?" query is answered
# "absent", and the secrets directory is not read.
`, s.Name)
	w.Text(dryRunDoc)
	w.Text("set -euo pipefail\n\n")
	w.Text("prog=deploy.sh\n")
	w.Assign("site", s.Name)
	w.Text("dry_run=false\ndry_exists=false\n")
	w.Text("secrets_dir=${NUVLA_SECRETS_DIR:-}\n")
	w.Assign("default_timeout", strconv.Itoa(DefaultTimeout))
	w.Text("timeout=$default_timeout\n")
	w.Assign("default_settle", strconv.Itoa(DefaultSettle))
	w.Text("settle=$default_settle\n")
	w.Text("allow_placeholders=false\n")
	w.Assign("placeholder", secrets.Placeholder)
	w.Text("missing=()\nunfilled=()\nchanged=()\nmanaged_secrets=()\n\n")
	w.Helpers()
	w.Text("\n")
	w.Library(libs, "lib/deploy.sh")
	w.Text("\n")
	w.Library(libs, "lib/deploy-main.sh")
	for _, sec := range s.Secrets {
		if sec.Kind == "placeholder" {
			w.Cmd("need_secret_file", sec.Name, sec.Kind)
		} else {
			w.Cmd("need_secret_file", sec.Name)
		}
	}
	for _, v := range s.Variables {
		w.Cmd("load_variable", v.Name)
	}
	w.Text(`if ((${#missing[@]})); then
	printf '%s: missing from the secrets directory (run "nuvlagen secrets init"):\n' "$prog" >&2
	printf '  %s\n' "${missing[@]}" >&2
	exit 1
fi
if ((${#unfilled[@]})); then
	printf '%s: still the placeholder "nuvlagen secrets init" wrote; write the real values (or pass --allow-placeholders):\n' "$prog" >&2
	printf '  %s\n' "${unfilled[@]}" >&2
	exit 1
fi
`)
	fixed, err := fixedVariables(s)
	if err != nil {
		return nil, fmt.Errorf("site %s: %w", s.Name, err)
	}
	if len(fixed) > 0 {
		w.Text("\n# Values that must never change once deployed: compared with the\n# running services' before anything changes.\n")
		for _, f := range fixed {
			w.Cmd("keep_variable", append([]string{f.name}, f.services...)...)
		}
		w.Text("refuse_changed_variables\n")
	}
	if len(nets) > 0 {
		w.Text("\n# The overlay networks the stacks share.\n")
		for _, n := range nets {
			w.Cmd("ensure_network", n.name, strconv.FormatBool(n.attachable))
		}
	}
	w.Text("\n# Node labels the stacks' placement constraints select on: deploy.sh\n# owns these keys, and removes them from the nodes that should not have\n# them (a moved edge, NFS server or node type) before it adds them.\n")
	keys, err := managedLabels(s)
	if err != nil {
		return nil, fmt.Errorf("site %s: %w", s.Name, err)
	}
	want := map[string]string{}
	var nodes []string
	for _, n := range s.Nodes {
		nodes = append(nodes, n.Name)
		for k, v := range n.Labels {
			want[n.Name+"/"+k] = v
		}
	}
	w.Map("want_labels", want)
	w.Array("site_nodes", nodes...)
	w.Cmd("prune_labels", keys...)
	for _, n := range s.Nodes {
		for _, k := range slices.Sorted(maps.Keys(n.Labels)) {
			w.Cmd("label_node", n.Name, k, n.Labels[k])
		}
	}
	w.Text("\n# Docker secrets, one version per content: <name>_<digest12>, created\n# when absent, its name exported for the compose files.\n")
	vars := map[string]string{}
	for _, v := range s.Variables {
		vars[v.Name] = "variable " + v.Name
	}
	for _, sec := range s.Secrets {
		v := compose.SecretVariable(sec.Name)
		if other, dup := vars[v]; dup {
			return nil, fmt.Errorf("site %s: secret %s would be named by $%s, as %s is", s.Name, sec.Name, v, other)
		}
		vars[v] = "secret " + sec.Name
		w.Cmd("ensure_secret", sec.Name, v)
	}
	w.Text("\n# The stacks, in deployment order.\n")
	for _, st := range s.Stacks {
		w.Cmd("deploy_stack", st.Name)
	}
	w.Text("\n# Once every stack converged, the versions of the secrets no service uses.\n")
	w.Text("prune_secrets\n")
	w.Text("\nnote \"site $site deployed\"\n")
	return w.Bytes()
}
