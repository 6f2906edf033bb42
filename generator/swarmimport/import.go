package swarmimport

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"github.com/moby/moby/client"
	"go.yaml.in/yaml/v3"

	"github.com/nuvla/nuvlagen/generator/diag"
	"github.com/nuvla/nuvlagen/generator/diff"
	"github.com/nuvla/nuvlagen/generator/site"
)

// Options are import's inputs besides the Swarm.
type Options struct {
	// SiteName names the site; "" derives it from the domain.
	SiteName string
	// File is the name the site file will have, for positions in errors.
	File string
	// Loader is the model the site is written for; nil: the embedded one.
	Loader *site.Loader
}

// Result is an imported site and what deploying it would change.
type Result struct {
	// Site is the site file, loaded and checked against the model.
	Site []byte
	// Notes say what was guessed or left out: for the operator to review.
	Notes []string
	// Changes say, per stack and service, what deploy.sh would create,
	// change or leave behind, and which secrets and networks it needs.
	Changes []string
	// Diff details the services' differences, as nuvlagen diff does.
	Diff *diff.Report
}

// Import reads the Swarm behind c and adopts it. A site that does not
// load comes with a *LoadError, its file and notes set.
func Import(ctx context.Context, c client.APIClient, opts Options) (*Result, error) {
	snap, err := Read(ctx, c)
	if err != nil {
		return nil, err
	}
	return Adopt(snap, opts)
}

// Adopt writes the site file a Swarm suggests, loads it as generate
// would, and compares its stacks with the Swarm's.
func Adopt(snap *Snapshot, opts Options) (*Result, error) {
	r := &Result{}
	d, err := infer(snap, opts.SiteName, &r.Notes)
	if err != nil {
		return nil, err
	}
	if d.name == "" {
		d.name = siteName(d.domain)
		r.Notes = append(r.Notes, fmt.Sprintf("site name: %s, from the domain (--site-name sets it)", d.name))
	}
	if opts.File == "" {
		opts.File = d.name + ".cue"
	}
	l := opts.Loader
	if l == nil {
		if l, err = site.NewLoader(); err != nil {
			return nil, err
		}
	}
	// Once without images, for the model's pins; then with the
	// Swarm's where they differ.
	base, file, err := load(l, d, opts.File)
	if err != nil {
		r.Site = file
		return r, err
	}
	d.images = images(l, snap, base, &r.Notes)
	d.stackNames = stackNames(l, snap, base, &r.Notes)
	s, file, err := load(l, d, opts.File)
	if r.Site = file; err != nil {
		return r, err
	}
	r.Changes, r.Diff, err = Compare(snap, s)
	return r, err
}

// LoadError says why the site a Swarm suggests does not load: what the
// operator has to fix in the Swarm or the file.
type LoadError struct {
	// Lines are the loader's errors, positioned in the site file.
	Lines []string
}

func (e *LoadError) Error() string {
	return "the site the Swarm suggests does not load:\n  " + strings.Join(e.Lines, "\n  ")
}

// load prints and loads d: the file, and the site when it loads (else a
// *LoadError).
func load(l *site.Loader, d *draft, name string) (*site.Site, []byte, error) {
	file, err := render(d)
	if err != nil {
		return nil, nil, err
	}
	sites, err := l.Load(name, file)
	if err != nil {
		return nil, file, &LoadError{Lines: diag.Lines(err, "")}
	}
	return sites[0], file, nil
}

// siteName makes a site name of a domain: its labels joined by "-".
func siteName(domain string) string {
	n := strings.ReplaceAll(domain, ".", "-")
	if len(n) > 63 {
		n = strings.TrimRight(n[:63], "-")
	}
	return n
}

// images are the overrides of the model's pins: for each service of the
// Swarm that runs an image the model pins (by repository, else by the
// service's name in the generated stacks), its image where it differs.
func images(l *site.Loader, snap *Snapshot, base *site.Site, notes *[]string) map[string]string {
	note := func(format string, a ...any) { *notes = append(*notes, fmt.Sprintf(format, a...)) }
	byRepo := map[string]string{}
	for k, img := range base.Images {
		byRepo[repository(img)] = k
	}
	byService := map[string]string{} // generated service → image key
	for _, st := range stacksOf(base) {
		for name, svc := range st.services {
			for k, img := range base.Images {
				if img == svc.Image {
					byService[name] = k
				}
			}
		}
	}
	isImage := l.Schema().LookupPath(cue.MakePath(cue.Def("Image")))
	ctx := cuecontext.New() // values of two contexts unify
	out := map[string]string{}
	from := map[string]string{}
	for _, v := range snap.Services {
		k, ok := byRepo[repository(v.Image)]
		if !ok {
			if k, ok = byService[v.Short]; !ok {
				continue
			}
		}
		img := withoutDigest(v.Image)
		if img == base.Images[k] {
			continue
		}
		if prev, ok := out[k]; ok {
			if prev != img {
				note("images.%s: %s runs %s, %s runs %s: kept the first", k, from[k], prev, v.Name, img)
			}
			continue
		}
		if err := isImage.Unify(ctx.Encode(img)).Validate(cue.Concrete(true)); err != nil {
			note("images.%s: %s runs %s, not a pinned image (a tag other than latest, or a digest): kept the model's %s", k, v.Name, v.Image, base.Images[k])
			continue
		}
		out[k], from[k] = img, v.Name
		note("images.%s: %s, what %s runs (the model pins %s)", k, img, v.Name, base.Images[k])
	}
	return out
}

// stackNames finds the Swarm's stack for each of the model's: the one
// sharing the most services with it (each Swarm stack stands for one). A
// service is shared by role, not only by name: the same name in the
// stack's file, or an image of the same repository as one of the
// model's services of the stack, or the same part in the streams stack
// (upstream's brokers kafka1, kafka2... are the model's kafka). Where its name differs, and the model lets a site
// name its stacks (stackNames in #SiteInput), the Swarm's name is kept so
// that deploy.sh updates the stacks in place; otherwise a note says the
// Swarm's stack is left behind.
func stackNames(l *site.Loader, snap *Snapshot, base *site.Site, notes *[]string) map[string]string {
	live, _ := liveStacks(snap)
	gen := stacksOf(base)
	settable := l.Schema().LookupPath(cue.MakePath(cue.Def("SiteInput"), cue.Str("stackNames"))).Exists()
	out := map[string]string{}
	taken := map[string]bool{}
	for _, st := range base.Stacks {
		if st.Role == "" {
			continue // a model whose stacks have no roles
		}
		roles := map[string]bool{}
		for name, sp := range gen[st.Name].services {
			roles[role(sp.Image, name)] = true
		}
		best, shared := "", 0
		for _, name := range slices.Sorted(maps.Keys(live)) {
			n := 0
			for svc, sp := range live[name].services {
				if gen[st.Name].services[svc] != nil || roles[role(sp.Image, svc)] {
					n++
				}
			}
			if n > shared && !taken[name] {
				best, shared = name, n
			}
		}
		if taken[best] = best != ""; best == "" || best == st.Name {
			continue
		}
		if settable {
			out[st.Role] = best
			*notes = append(*notes, fmt.Sprintf("stackNames.%s: %s, the Swarm's stack of %d of its services (the model calls it %s)", st.Role, best, shared, st.Name))
		} else {
			*notes = append(*notes, fmt.Sprintf("stack %s runs %d services of the model's %s stack, which this model cannot rename: deploy.sh starts %s beside it", best, shared, st.Name, st.Name))
		}
	}
	return out
}

// stack is the part of a stack Compare reads: per service, its image,
// mode or replicas, and networks.
type stack struct {
	services map[string]*spec
	// configs are the Swarm names of the configs the stack creates,
	// without the digest of their content.
	configs []string
	// own are the networks the stack creates, by their name in its file.
	own map[string]bool
}

type spec struct {
	Image    string   `yaml:"image"`
	Deploy   deploy   `yaml:"deploy"`
	Networks []string `yaml:"networks,omitempty"`
	// Environment holds, once Compare has masked it, fixed words
	// instead of values: a value may be a secret.
	Environment map[string]string `yaml:"environment,omitempty"`
}

type deploy struct {
	Mode      string    `yaml:"mode"`
	Replicas  *uint64   `yaml:"replicas,omitempty"`
	Placement placement `yaml:"placement,omitempty"`
}

type placement struct {
	Constraints []string `yaml:"constraints,omitempty"`
}

func (a *spec) equal(b *spec) bool {
	return a.Image == b.Image && a.Deploy.Mode == b.Deploy.Mode && (a.Deploy.Replicas == nil) == (b.Deploy.Replicas == nil) &&
		(a.Deploy.Replicas == nil || *a.Deploy.Replicas == *b.Deploy.Replicas) && slices.Equal(a.Networks, b.Networks) &&
		slices.Equal(a.Deploy.Placement.Constraints, b.Deploy.Placement.Constraints) && maps.Equal(a.Environment, b.Environment)
}

// Words that stand for environment values in the comparison.
const (
	valueSet     = "(set)"
	valueSwarm   = "(the Swarm's value)"
	valueSite    = "(the site's value)"
	valueDeploy  = "(from the deploy environment)"
	deployPrefix = "${"
)

// maskEnv replaces the values of the environments of a live service l
// and its generated counterpart g (either may be nil) with fixed words:
// equal values, and values the deploy environment provides ("${NAME:?…}"
// in the generated file, whatever the Swarm has now), become the same
// word on both sides; different ones, two words that differ.
func maskEnv(l, g *spec) {
	if l == nil || g == nil {
		for _, sp := range []*spec{l, g} {
			if sp != nil {
				for k := range sp.Environment {
					sp.Environment[k] = valueSet
				}
			}
		}
		return
	}
	for k, lv := range l.Environment {
		gv, ok := g.Environment[k]
		switch {
		case !ok:
			l.Environment[k] = valueSet
		case strings.HasPrefix(gv, deployPrefix):
			l.Environment[k], g.Environment[k] = valueDeploy, valueDeploy
		case lv == gv:
			l.Environment[k], g.Environment[k] = valueSet, valueSet
		default:
			l.Environment[k], g.Environment[k] = valueSwarm, valueSite
		}
	}
	for k := range g.Environment {
		if _, ok := l.Environment[k]; !ok {
			g.Environment[k] = valueSet
		}
	}
}

func (x *stack) service(name string) *spec {
	if x == nil {
		return nil
	}
	return x.services[name]
}

func (x *stack) servicesOrNone() map[string]*spec {
	if x == nil {
		return nil
	}
	return x.services
}

// stacksOf reads the generated stacks of s.
func stacksOf(s *site.Site) map[string]*stack {
	out := map[string]*stack{}
	for _, st := range s.Stacks {
		var c struct {
			Services map[string]struct {
				Image  string `json:"image"`
				Deploy struct {
					Mode      string  `json:"mode"`
					Replicas  *uint64 `json:"replicas"`
					Placement struct {
						Constraints []string `json:"constraints"`
					} `json:"placement"`
				} `json:"deploy"`
				Networks    json.RawMessage   `json:"networks"`
				Environment map[string]string `json:"environment"`
			} `json:"services"`
			Configs  map[string]json.RawMessage `json:"configs"`
			Networks map[string]struct {
				External bool `json:"external"`
			} `json:"networks"`
		}
		if err := json.Unmarshal(st.Compose, &c); err != nil {
			panic(fmt.Sprintf("stack %s of the model: %v", st.Name, err)) // the model's own JSON
		}
		x := &stack{services: map[string]*spec{}, own: map[string]bool{}}
		for name, n := range c.Networks {
			x.own[name] = !n.External
		}
		for name, v := range c.Services {
			sp := &spec{Image: v.Image, Deploy: deploy{Mode: cmpOr(v.Deploy.Mode, "replicated"), Replicas: v.Deploy.Replicas,
				Placement: placement{Constraints: slices.Sorted(slices.Values(v.Deploy.Placement.Constraints))}}, Environment: maps.Clone(v.Environment)}
			if sp.Deploy.Mode == "replicated" && sp.Deploy.Replicas == nil {
				one := uint64(1)
				sp.Deploy.Replicas = &one
			}
			var list []string
			var m map[string]any
			if json.Unmarshal(v.Networks, &list) != nil && json.Unmarshal(v.Networks, &m) == nil {
				list = slices.Collect(maps.Keys(m))
			}
			slices.Sort(list)
			sp.Networks = list
			x.services[name] = sp
		}
		for k := range c.Configs {
			x.configs = append(x.configs, st.Name+"_"+k)
		}
		out[st.Name] = x
	}
	return out
}

// liveStacks groups the Swarm's services by stack, their stack's own
// networks named as in its compose file.
func liveStacks(snap *Snapshot) (map[string]*stack, []string) {
	out := map[string]*stack{}
	var loose []string
	for _, v := range snap.Services {
		if v.Stack == "" {
			loose = append(loose, v.Name)
			continue
		}
		x := out[v.Stack]
		if x == nil {
			x = &stack{services: map[string]*spec{}, own: map[string]bool{}}
			out[v.Stack] = x
		}
		sp := &spec{Image: withoutDigest(v.Image), Deploy: deploy{Mode: "replicated", Placement: placement{Constraints: v.Constraints}}, Environment: map[string]string{}}
		for _, e := range v.Env {
			k, val, _ := strings.Cut(e, "=")
			sp.Environment[k] = val
		}
		if v.Global {
			sp.Deploy.Mode = "global"
		} else {
			n := v.Replicas
			sp.Deploy.Replicas = &n
		}
		for _, n := range v.Networks {
			short, own := strings.CutPrefix(n, v.Stack+"_")
			x.own[short] = own
			sp.Networks = append(sp.Networks, short)
		}
		slices.Sort(sp.Networks)
		x.services[v.Short] = sp
	}
	return out, loose
}

// Compare says what deploying s would do to the Swarm: docker stack
// deploy without --prune creates and updates services, and leaves the
// ones its files no longer name, and stacks it does not deploy, running.
// It compares each service's image, mode, replicas and networks.
func Compare(snap *Snapshot, s *site.Site) ([]string, *diff.Report, error) {
	live, loose := liveStacks(snap)
	gen := stacksOf(s)
	var lines []string
	add := func(format string, a ...any) { lines = append(lines, fmt.Sprintf(format, a...)) }
	oldTree, newTree := map[string][]byte{}, map[string][]byte{}
	names := slices.Sorted(maps.Keys(live))
	for _, st := range s.Stacks {
		if live[st.Name] == nil {
			names = append(names, st.Name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		l, g := live[name], gen[name]
		// Each service once: masking twice would mask the words.
		masked := map[string]bool{}
		for _, sp := range []*stack{l, g} {
			for svc := range sp.servicesOrNone() {
				if !masked[svc] {
					masked[svc] = true
					maskEnv(l.service(svc), g.service(svc))
				}
			}
		}
		switch {
		case l == nil:
			add("stack %s: created, services %s", name, strings.Join(slices.Sorted(maps.Keys(g.services)), ", "))
		case g == nil:
			add("stack %s: left behind (services %s): the site deploys no stack of that name; docker stack rm %s once its replacement runs", name, strings.Join(slices.Sorted(maps.Keys(l.services)), ", "), name)
		default:
			for _, svc := range slices.Sorted(maps.Keys(l.services)) {
				if g.services[svc] == nil {
					add("service %s_%s: left behind: the stack's new file does not name it, and deploy.sh does not prune", name, svc)
				}
			}
			for _, svc := range slices.Sorted(maps.Keys(g.services)) {
				switch ls := l.services[svc]; {
				case ls == nil:
					add("service %s_%s: created", name, svc)
				case !ls.equal(g.services[svc]):
					add("service %s_%s: changed", name, svc)
				}
			}
		}
		path := s.Name + "/stacks/" + name + "/docker-compose.yml"
		var err error
		if l != nil {
			if oldTree[path], err = l.compose(); err != nil {
				return nil, nil, err
			}
		}
		if g != nil {
			if newTree[path], err = g.compose(); err != nil {
				return nil, nil, err
			}
		}
	}
	for _, n := range loose {
		add("service %s: not in a stack: left alone", n)
	}
	var needed []string
	for _, sec := range s.Secrets {
		if !slices.Contains(snap.Secrets, sec.Name) {
			needed = append(needed, sec.Name)
		}
	}
	if len(needed) > 0 {
		add("secrets the site needs and the Swarm lacks (from the secrets directory): %s", strings.Join(needed, ", "))
	}
	used := map[string]bool{}
	for _, sec := range s.Secrets {
		used[sec.Name] = true
	}
	var unused []string
	for _, sec := range snap.Secrets {
		if !used[sec] {
			unused = append(unused, sec)
		}
	}
	if len(unused) > 0 {
		add("secrets of the Swarm the site does not use (left as they are): %s", strings.Join(unused, ", "))
	}
	// The generated stacks name a config <stack>_<key>-<digest of its
	// content> (package compose), and the digest depends on the file's
	// header: a config is matched by the name before its digest.
	var prefixes []string
	for _, st := range gen {
		prefixes = append(prefixes, st.configs...)
	}
	slices.Sort(prefixes)
	var created, left []string
	for _, p := range prefixes {
		if !slices.ContainsFunc(snap.Configs, func(c string) bool { return strings.HasPrefix(c, p+"-") }) {
			created = append(created, p+"-…")
		}
	}
	for _, c := range snap.Configs {
		if !slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(c, p+"-") }) {
			left = append(left, c)
		}
	}
	if len(created) > 0 {
		add("configs created (named by their content's digest): %s", strings.Join(created, ", "))
	}
	if len(left) > 0 {
		add("configs left behind (the site's stacks do not name them): %s", strings.Join(left, ", "))
	}
	shared := map[string]bool{}
	for _, n := range snap.Networks {
		shared[n.Name] = true
	}
	for _, n := range []string{s.Networks.Public, s.Networks.Backend} {
		if n != "" && !shared[n] && (s.Kind == site.KindHost || n == s.Networks.Public) {
			add("network %s: the site needs it and the Swarm lacks it", n)
		}
	}
	return lines, diff.Compare(oldTree, newTree), nil
}

// compose prints the stack as a compose file of what Compare reads, for
// the differ of nuvlagen diff.
func (x *stack) compose() ([]byte, error) {
	nets := map[string]map[string]bool{}
	for _, sp := range x.services {
		for _, n := range sp.Networks {
			nets[n] = map[string]bool{"external": !x.own[n]}
		}
	}
	return yaml.Marshal(map[string]any{"services": x.services, "networks": nets})
}

// Write prints the notes and changes of r to w, then the differences of
// the services, as nuvlagen diff does.
func Write(w io.Writer, r *Result) error {
	fmt.Fprintln(w, "Guessed or left out (review the site file):")
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  %s\n", graphic(n))
	}
	if r.Diff == nil {
		return nil // the site does not load: nothing to compare
	}
	fmt.Fprintln(w, "What deploy.sh would change in the Swarm (images, modes, replicas, networks, placement and environment compared; values not shown):")
	if len(r.Changes) == 0 {
		fmt.Fprintln(w, "  nothing")
	}
	for _, c := range r.Changes {
		fmt.Fprintf(w, "  %s\n", graphic(c))
	}
	return diff.Write(w, r.Diff, "text", false)
}

// graphic escapes what is not printable in a line of the report: names
// and labels come from the Swarm, and must not drive the terminal.
func graphic(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsGraphic(r) {
			b.WriteRune(r)
		} else {
			b.WriteString(strings.Trim(strconv.QuoteRuneToGraphic(r), "'"))
		}
	}
	return b.String()
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Connect opens the Docker Engine API at host: the URL given, or
// $DOCKER_HOST, or the default socket.
func Connect(host string) (*client.Client, error) {
	return client.New(client.FromEnv, client.WithHost(cmp.Or(host, os.Getenv(client.EnvOverrideHost), client.DefaultDockerHost)))
}

// Save writes r's site file to file, or to stdout when file is "": also
// a site that does not load, for the operator to fix.
func Save(r *Result, file string, stdout io.Writer) error {
	if file == "" {
		_, err := stdout.Write(r.Site)
		return err
	}
	return os.WriteFile(file, r.Site, 0o644)
}
