package diff

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.yaml.in/yaml/v4"
)

var composeDiffer = differ{
	Kind:  "compose",
	Match: isCompose,
	Diff:  diffCompose,
}

// service is what a reviewer reads of a compose service, normalised so
// that go-cmp compares it the way Compose means it: sets and maps are
// order-insensitive, command arguments are not.
type service struct {
	Image       string
	Entrypoint  args
	Command     args
	Environment map[string]string // "" for a variable without a value
	Secrets     map[string]string // source → mount target
	Configs     map[string]string // source → mount target
	Volumes     map[string]string // target → "type source (ro)"
	Ports       map[string]string // "published/proto" → "mode, to container port"
	Networks    map[string]bool
	Mode        string
	Replicas    string
	Constraints map[string]bool
	Labels      map[string]string // deploy labels, Traefik routers aside
	Routers     map[string]router
	Resources   map[string]string // "limits.memory" → "128M"
	// Rest is every other field, as YAML data.
	Rest any
}

// args is an argument list: compared, and shown, as a whole.
type args []string

func (a args) String() string {
	q := make([]string, len(a))
	for i, s := range a {
		if s == "" || strings.ContainsAny(s, " \t\"'$`\\") {
			s = strconv.Quote(s)
		}
		q[i] = s
	}
	return strings.Join(q, " ")
}

// router is one Traefik router, from its deploy labels.
type router struct {
	Rule        string
	EntryPoints string
	Middlewares string
	Service     string
	TLS         string
	Other       map[string]string
}

// routerLabel splits "traefik.http.routers.<name>.<field>" labels.
var routerLabel = regexp.MustCompile(`^traefik\.(http|tcp|udp)\.routers\.([^.]+)\.(.+)$`)

// secretName matches environment variables whose values are masked.
var secretName = regexp.MustCompile(`(?i)(PASSWORD|PASSWD|SECRET|TOKEN|KEY|PRIVATE|CREDENTIAL|AUTH)`)

// composeOpts compare argument lists as wholes. The view's maps are never
// nil, so empty and absent need no equating.
var composeOpts = []cmp.Option{
	cmp.Comparer(func(a, b args) bool { return slices.Equal(a, b) }),
}

// dataOpts compare plain YAML data, where an empty map or list means the
// same as none.
var dataOpts = []cmp.Option{cmpopts.EquateEmpty()}

// project is the part of a compose file a diff reads.
type project struct {
	Services map[string]*service
	Networks map[string]any
	Secrets  map[string]any
	Configs  map[string]any
	Volumes  map[string]any
}

func loadProject(rel string, data []byte) (*project, error) {
	out := &project{Services: map[string]*service{}, Networks: map[string]any{}, Secrets: map[string]any{}, Configs: map[string]any{}, Volumes: map[string]any{}}
	if data == nil {
		return out, nil
	}
	p, err := loadCompose(rel, data)
	if err != nil {
		return nil, err
	}
	for name, s := range p.Services {
		out.Services[name], err = viewService(s)
		if err != nil {
			return nil, err
		}
	}
	if out.Networks, err = asData(p.Networks); err != nil {
		return nil, err
	}
	if out.Secrets, err = asData(p.Secrets); err != nil {
		return nil, err
	}
	if out.Configs, err = asData(p.Configs); err != nil {
		return nil, err
	}
	if out.Volumes, err = asData(p.Volumes); err != nil {
		return nil, err
	}
	return out, nil
}

// asData turns a typed map into plain YAML data, to compare by the names
// the file uses.
func asData[V any](m map[string]V) (map[string]any, error) {
	out := map[string]any{}
	for k, v := range m {
		b, err := yaml.Marshal(v)
		if err != nil {
			return nil, err
		}
		var d any
		if err := yaml.Unmarshal(b, &d); err != nil {
			return nil, err
		}
		out[k] = d
	}
	return out, nil
}

func viewService(s types.ServiceConfig) (*service, error) {
	v := &service{
		Image:       s.Image,
		Entrypoint:  args(s.Entrypoint),
		Command:     args(s.Command),
		Environment: map[string]string{},
		Secrets:     map[string]string{},
		Configs:     map[string]string{},
		Volumes:     map[string]string{},
		Ports:       map[string]string{},
		Networks:    map[string]bool{},
		Constraints: map[string]bool{},
		Labels:      map[string]string{},
		Routers:     map[string]router{},
		Resources:   map[string]string{},
	}
	for k, val := range s.Environment {
		v.Environment[k] = ""
		if val != nil {
			v.Environment[k] = *val
		}
	}
	for _, sec := range s.Secrets {
		v.Secrets[sec.Source] = sec.Target
	}
	for _, c := range s.Configs {
		v.Configs[c.Source] = c.Target
	}
	for _, vol := range s.Volumes {
		d := vol.Type + " " + vol.Source
		if vol.ReadOnly {
			d += " (read-only)"
		}
		v.Volumes[vol.Target] = strings.TrimSpace(d)
	}
	for _, p := range s.Ports {
		proto := p.Protocol
		if proto == "" {
			proto = "tcp"
		}
		mode := p.Mode
		if mode == "" {
			mode = "ingress"
		}
		pub := p.Published
		if pub == "" {
			pub = "(random)"
		}
		v.Ports[pub+"/"+proto] = fmt.Sprintf("%s mode, to container port %d", mode, p.Target)
	}
	for n := range s.Networks {
		v.Networks[n] = true
	}
	var rest types.ServiceConfig = s
	if d := s.Deploy; d != nil {
		v.Mode = d.Mode
		if d.Replicas != nil {
			v.Replicas = strconv.Itoa(*d.Replicas)
		}
		for _, c := range d.Placement.Constraints {
			v.Constraints[c] = true
		}
		for k, val := range d.Labels {
			m := routerLabel.FindStringSubmatch(k)
			if m == nil {
				v.Labels[k] = val
				continue
			}
			name := m[2]
			if m[1] != "http" {
				name = m[1] + ":" + name
			}
			r := v.Routers[name]
			switch m[3] {
			case "rule":
				r.Rule = val
			case "entrypoints":
				r.EntryPoints = val
			case "middlewares":
				r.Middlewares = val
			case "service":
				r.Service = val
			case "tls":
				r.TLS = val
			default:
				if r.Other == nil {
					r.Other = map[string]string{}
				}
				r.Other[m[3]] = val
			}
			v.Routers[name] = r
		}
		for kind, r := range map[string]*types.Resource{"limits": d.Resources.Limits, "reservations": d.Resources.Reservations} {
			if r == nil {
				continue
			}
			if r.MemoryBytes != 0 {
				v.Resources[kind+".memory"] = humanBytes(int64(r.MemoryBytes))
			}
			if r.NanoCPUs != 0 {
				v.Resources[kind+".cpus"] = strconv.FormatFloat(float64(r.NanoCPUs), 'f', -1, 32)
			}
			if r.Pids != 0 {
				v.Resources[kind+".pids"] = strconv.FormatInt(r.Pids, 10)
			}
		}
		dc := *d
		dc.Mode, dc.Replicas, dc.Labels = "", nil, nil
		dc.Placement.Constraints = nil
		if dc.Resources.Limits != nil {
			l := *dc.Resources.Limits
			l.MemoryBytes, l.NanoCPUs, l.Pids = 0, 0, 0
			dc.Resources.Limits = &l
		}
		if dc.Resources.Reservations != nil {
			l := *dc.Resources.Reservations
			l.MemoryBytes, l.NanoCPUs, l.Pids = 0, 0, 0
			dc.Resources.Reservations = &l
		}
		rest.Deploy = &dc
	}
	rest.Name, rest.Image, rest.Entrypoint, rest.Command = "", "", nil, nil
	rest.Environment, rest.Secrets, rest.Configs, rest.Volumes = nil, nil, nil, nil
	rest.Ports, rest.Networks = nil, nil
	data, err := asData(map[string]types.ServiceConfig{"": rest})
	if err != nil {
		return nil, err
	}
	v.Rest = pruneEmpty(data[""])
	return v, nil
}

// pruneEmpty drops empty maps and lists, which the typed model leaves
// behind when the fields the view covers are cleared.
func pruneEmpty(d any) any {
	switch t := d.(type) {
	case map[string]any:
		for k, v := range t {
			t[k] = pruneEmpty(v)
			if isEmpty(t[k]) {
				delete(t, k)
			}
		}
	case []any:
		for i := range t {
			t[i] = pruneEmpty(t[i])
		}
	}
	return d
}

func isEmpty(d any) bool {
	switch t := d.(type) {
	case nil:
		return true
	case map[string]any:
		return len(t) == 0
	case []any:
		return len(t) == 0
	}
	return false
}

func humanBytes(n int64) string {
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"G", 1 << 30}, {"M", 1 << 20}, {"k", 1 << 10}} {
		if n%u.size == 0 {
			return fmt.Sprintf("%d%s", n/u.size, u.suffix)
		}
	}
	return strconv.FormatInt(n, 10)
}

func diffCompose(rel string, old, new []byte) ([]Change, error) {
	po, err := loadProject(rel, old)
	if err != nil {
		return nil, fmt.Errorf("old %s: %w", rel, err)
	}
	pn, err := loadProject(rel, new)
	if err != nil {
		return nil, fmt.Errorf("new %s: %w", rel, err)
	}
	var out []Change
	for _, name := range unionKeys(po.Services, pn.Services) {
		so, sn := po.Services[name], pn.Services[name]
		switch {
		case so == nil:
			out = append(out, Change{Op: OpAdd, Object: name, Text: "new service, image " + sn.Image + replicasNote(sn)})
			// What a new service opens is as risky as what an old one does.
			empty, _ := viewService(types.ServiceConfig{})
			out = append(out, serviceChanges(name, empty, sn, true)...)
		case sn == nil:
			text := "service removed (was image " + so.Image
			if len(so.Routers) > 0 {
				text += ", " + nouns(len(so.Routers), "router") + " " + strings.Join(unionKeys(so.Routers, nil), ", ")
			}
			if len(so.Ports) > 0 {
				text += ", " + nouns(len(so.Ports), "port") + " " + strings.Join(unionKeys(so.Ports, nil), ", ")
			}
			out = append(out, Change{Op: OpRemove, Object: name, Text: text + ")"})
		default:
			out = append(out, serviceChanges(name, so, sn, false)...)
		}
	}
	for _, top := range []struct {
		what     string
		old, new map[string]any
	}{
		{"network", po.Networks, pn.Networks},
		{"secret", po.Secrets, pn.Secrets},
		{"config", po.Configs, pn.Configs},
		{"volume", po.Volumes, pn.Volumes},
	} {
		out = append(out, topLevelChanges(top.what, top.old, top.new)...)
	}
	return out, nil
}

func replicasNote(s *service) string {
	if s.Mode == "global" {
		return ", on every node"
	}
	if s.Replicas != "" {
		return ", " + s.Replicas + " replicas"
	}
	return ""
}

// serviceChanges explains the differences of one service. For a new
// service only the fields that matter to the risk summary are listed
// (published ports, Traefik routers): its full definition is in the file.
func serviceChanges(name string, so, sn *service, isNew bool) []Change {
	var out []Change
	add := func(op Op, text, risk string) {
		out = append(out, Change{Op: op, Object: name, Text: text, Risk: risk})
	}
	if !isNew {
		// Before the image line it follows from: the risk is the data's.
		if text, ok := storageChange(so, sn); ok {
			add(OpChange, text, RiskStorage)
		}
	}
	for _, d := range deltas(so, sn, composeOpts...) {
		field := d.path[0]
		key := ""
		if len(d.path) > 1 {
			key = d.path[1]
		}
		op := OpChange
		switch {
		case d.added():
			op = OpAdd
		case d.removed():
			op = OpRemove
		}
		if isNew && field != "Ports" && field != "Routers" {
			continue
		}
		switch field {
		case "Image":
			text, down := imageChange(show(d.old), show(d.new))
			risk := ""
			if down {
				risk = RiskDowngrade
			}
			add(OpChange, text, risk)
		case "Entrypoint", "Command":
			add(OpChange, fmt.Sprintf("%s %s → %s", strings.ToLower(field), showArgs(d.old), showArgs(d.new)), "")
		case "Environment":
			masked := secretName.MatchString(key)
			val := func(s string) string {
				if masked {
					return "(value masked)"
				}
				return s
			}
			switch op {
			case OpAdd:
				add(op, fmt.Sprintf("env %s=%s", key, val(show(d.new))), "")
			case OpRemove:
				add(op, "env "+key, "")
			default:
				if masked {
					add(op, "env "+key+" changed (value masked)", "")
				} else {
					add(op, fmt.Sprintf("env %s: %s → %s", key, show(d.old), show(d.new)), "")
				}
			}
		case "Secrets", "Configs":
			what := strings.ToLower(strings.TrimSuffix(field, "s"))
			switch op {
			case OpAdd:
				add(op, fmt.Sprintf("%s %s mounted at %s", what, key, show(d.new)), "")
			case OpRemove:
				add(op, fmt.Sprintf("%s %s (was at %s)", what, key, show(d.old)), "")
			default:
				add(op, fmt.Sprintf("%s %s: target %s → %s", what, key, show(d.old), show(d.new)), "")
			}
		case "Volumes":
			switch op {
			case OpAdd:
				add(op, fmt.Sprintf("volume %s at %s", show(d.new), key), "")
			case OpRemove:
				add(op, fmt.Sprintf("volume %s at %s", show(d.old), key), "")
			default:
				add(op, fmt.Sprintf("volume at %s: %s → %s", key, show(d.old), show(d.new)), "")
			}
		case "Ports":
			switch op {
			case OpAdd:
				add(op, fmt.Sprintf("publishes port %s (%s)", key, show(d.new)), RiskPublished)
			case OpRemove:
				add(op, fmt.Sprintf("no longer publishes port %s", key), "")
			default:
				add(op, fmt.Sprintf("port %s: %s → %s", key, show(d.old), show(d.new)), "")
			}
		case "Networks":
			if op == OpAdd {
				add(op, "attached to network "+key, "")
			} else {
				add(op, "detached from network "+key, "")
			}
		case "Mode":
			add(op, fmt.Sprintf("mode %s → %s", orDefault(show(d.old), "replicated"), orDefault(show(d.new), "replicated")), "")
		case "Replicas":
			add(op, fmt.Sprintf("replicas %s → %s", orDefault(show(d.old), "1"), orDefault(show(d.new), "1")), "")
		case "Constraints":
			add(op, "placement "+key, "")
		case "Labels":
			switch op {
			case OpAdd:
				add(op, fmt.Sprintf("label %s=%s", key, show(d.new)), "")
			case OpRemove:
				add(op, "label "+key, "")
			default:
				add(op, fmt.Sprintf("label %s: %s → %s", key, show(d.old), show(d.new)), "")
			}
		case "Routers":
			out = append(out, routerChange(name, key, d)...)
		case "Resources":
			add(op, fmt.Sprintf("%s %s → %s", key, show(d.old), show(d.new)), "")
		case "Rest":
			out = append(out, dataChange(name, d.path[1:], d, op))
		}
	}
	return out
}

func orDefault(s, def string) string {
	if s == "" || s == "(none)" {
		return def
	}
	return s
}

func showArgs(v reflect.Value) string {
	if a, ok := valueOf[args](v); ok && len(a) > 0 {
		return "[" + a.String() + "]"
	}
	return "(none)"
}

// routerChange explains a router difference; the delta is at the router
// (added, removed) or at one of its fields.
func routerChange(svc, name string, d delta) []Change {
	obj := svc
	if len(d.path) == 2 {
		if d.added() {
			// A new route makes the service reachable by whoever reaches
			// Traefik's entry points: users, as a rule.
			r, _ := valueOf[router](d.new)
			text := fmt.Sprintf("new router %s: rule %s", name, r.Rule)
			if r.EntryPoints != "" {
				text += " on " + r.EntryPoints
			}
			return []Change{{Op: OpAdd, Object: obj, Text: text, Risk: RiskExposure}}
		}
		r, _ := valueOf[router](d.old)
		return []Change{{Op: OpRemove, Object: obj, Text: fmt.Sprintf("router %s (rule %s)", name, r.Rule)}}
	}
	field := strings.ToLower(strings.Join(d.path[2:], "."))
	field = strings.TrimPrefix(field, "other.")
	return []Change{{Op: OpChange, Object: obj, Text: fmt.Sprintf("router %s: %s %s → %s", name, field, show(d.old), show(d.new))}}
}

// dataChange explains a difference in plain YAML data at path.
func dataChange(obj string, p []string, d delta, op Op) Change {
	where := strings.ReplaceAll(strings.Join(p, "."), ".[", "[")
	switch op {
	case OpAdd:
		return Change{Op: op, Object: obj, Text: fmt.Sprintf("%s: %s", where, show(d.new))}
	case OpRemove:
		return Change{Op: op, Object: obj, Text: fmt.Sprintf("%s (was %s)", where, show(d.old))}
	}
	return Change{Op: op, Object: obj, Text: fmt.Sprintf("%s: %s → %s", where, show(d.old), show(d.new))}
}

func topLevelChanges(what string, old, new map[string]any) []Change {
	var out []Change
	for _, d := range deltas(old, new, dataOpts...) {
		name := d.path[0]
		obj := what + " " + name
		switch {
		case len(d.path) == 1 && d.added():
			out = append(out, Change{Op: OpAdd, Object: obj, Text: "declared: " + show(d.new)})
		case len(d.path) == 1 && d.removed():
			out = append(out, Change{Op: OpRemove, Object: obj, Text: "no longer declared"})
		case what == "config" && len(d.path) == 2 && d.path[1] == "name":
			// Config names carry a hash of the content: Swarm configs are
			// immutable, so new content is a new config.
			out = append(out, Change{Op: OpChange, Object: obj, Text: fmt.Sprintf("content changed: new Swarm config %s (was %s)", show(d.new), show(d.old))})
		default:
			op := OpChange
			if d.added() {
				op = OpAdd
			} else if d.removed() {
				op = OpRemove
			}
			out = append(out, dataChange(obj, d.path[1:], d, op))
		}
	}
	return out
}

// imageChange describes an image change and whether it is a downgrade:
// same repository, semver-like tags, the new one lower.
func imageChange(old, new string) (string, bool) {
	ro, to := splitImage(old)
	rn, tn := splitImage(new)
	if ro != rn {
		return fmt.Sprintf("image %s → %s", old, new), false
	}
	text := fmt.Sprintf("image %s %s → %s", ro, orDefault(to, "latest"), orDefault(tn, "latest"))
	if c, ok := compareVersions(to, tn); ok && c > 0 {
		return text + " (downgrade)", true
	}
	return text, false
}

func splitImage(ref string) (repo, tag string) {
	if i := strings.Index(ref, "@"); i >= 0 {
		return ref[:i], ref[i+1:]
	}
	slash := strings.LastIndex(ref, "/")
	if i := strings.LastIndex(ref, ":"); i > slash {
		return ref[:i], ref[i+1:]
	}
	return ref, ""
}

var versionTag = regexp.MustCompile(`^v?(\d+(?:\.\d+)*)(.*)$`)

// compareVersions compares two semver-like tags ("v3.3.6", "6.18.0",
// "16-alpine"): numerically, component by component, when both have the
// same suffix. ok is false when they are not comparable.
func compareVersions(a, b string) (int, bool) {
	ma, mb := versionTag.FindStringSubmatch(a), versionTag.FindStringSubmatch(b)
	if ma == nil || mb == nil || ma[2] != mb[2] {
		return 0, false
	}
	pa, pb := strings.Split(ma[1], "."), strings.Split(mb[1], ".")
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			if x < y {
				return -1, true
			}
			return 1, true
		}
	}
	return 0, true
}

// nouns is what, plural when n is not 1.
func nouns(n int, what string) string {
	if n == 1 {
		return what
	}
	return what + "s"
}
