package scripts

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"

	"github.com/nuvla/nuvlagen/generator/secrets"
	"github.com/nuvla/nuvlagen/generator/site"
)

// DefaultTimeout is how long, in seconds, deploy.sh waits for a stack to
// converge and teardown.sh for one to be removed.
const DefaultTimeout = 300

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
# A secret is never replaced (Swarm secrets are immutable): to rotate one,
# remove the stacks that use it and the secret, then deploy again.
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
	w.Text("allow_placeholders=false\n")
	w.Assign("placeholder", secrets.Placeholder)
	w.Text("missing=()\nunfilled=()\n\n")
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
	if len(nets) > 0 {
		w.Text("\n# The overlay networks the stacks share.\n")
		for _, n := range nets {
			w.Cmd("ensure_network", n.name, strconv.FormatBool(n.attachable))
		}
	}
	w.Text("\n# Node labels the stacks' placement constraints select on.\n")
	for _, n := range s.Nodes {
		keys := make([]string, 0, len(n.Labels))
		for k := range n.Labels {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			w.Cmd("label_node", n.Name, k, n.Labels[k])
		}
	}
	w.Text("\n# Docker secrets, created once: a secret is immutable in the Swarm.\n")
	for _, sec := range s.Secrets {
		w.Cmd("ensure_secret", sec.Name)
	}
	w.Text("\n# The stacks, in deployment order.\n")
	for _, st := range s.Stacks {
		w.Cmd("deploy_stack", st.Name)
	}
	w.Text("\nnote \"site $site deployed\"\n")
	return w.Bytes()
}
