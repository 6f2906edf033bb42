package vet

import (
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/distribution/reference"
	dockertypes "github.com/docker/cli/cli/compose/types"
	"go.yaml.in/yaml/v4"

	"github.com/nuvla/nuvlagen/generator/stackcheck"
)

var ruleYAML = &Rule{
	ID:       "yaml-syntax",
	Category: "Schema and references",
	Severity: Error,
	Summary:  "The file is not YAML, or its top level is not a mapping.",
	Why:      "Neither loader can read the file; nothing else can be checked.",
	Hint:     "fix the YAML at this line (indentation, quoting, duplicate keys)",
}

var ruleUndefined = &Rule{
	ID:       "undefined-reference",
	Category: "Schema and references",
	Severity: Error,
	Summary:  "A service names a network, volume, secret or config the file does not declare, or depends on a service that does not exist.",
	Why:      "compose-go and `docker stack deploy` refuse the whole file; compose-go only names the first such reference, vet names them all, each at its line.",
	Hint:     "declare it in the file's top-level section (external: true when the site or another stack creates it)",
}

var ruleCompose = &Rule{
	ID:       "compose-schema",
	Category: "Schema and references",
	Severity: Error,
	Summary:  "compose-go, the reference implementation of the Compose specification, rejects the file.",
	Why: "Every Compose tool built on compose-go (docker compose, many linters and IDEs) refuses it, whatever Swarm would do. " +
		"Checked once the docker CLI's stack loader accepts the file: compose-go stops at its first error, picked in map order.",
	Hint: "fix the value to match the Compose specification",
}

var ruleStackSchema = &Rule{
	ID:       "stack-schema",
	Category: "Swarm",
	Severity: Error,
	Summary:  "The docker CLI's own stack schema or loader rejects the file: what `docker stack deploy` refuses.",
	Why: "`docker stack deploy` validates against the v3 schema of the file's `version` (3.13 when absent), " +
		"stricter than the Compose specification: no top-level `name:`, only its own `deploy` keys, " +
		"short-form `depends_on`, no `host_ip` in long-form ports. compose-go accepts all of these.",
	Hint: "`docker stack config -c FILE` reports the same error",
}

var ruleUnsetVariable = &Rule{
	ID:       "unset-variable",
	Category: "Schema and references",
	Severity: Warning,
	Summary:  "A variable without a default (`$X`, `${X}`) that `docker stack deploy` cannot do without: left unset, it makes the file invalid.",
	Why: "The docker CLI replaces an unset variable by an empty string and goes on: `${DATA}:/data` becomes `:/data`, which it then refuses " +
		"(\"invalid spec: :/data: empty section between colons\"), far from the variable. vet does not read the environment; it checks the file " +
		"with a placeholder for each variable, then with each of these variables empty, and names the variable the file cannot do without.",
	Hint:    "set the variable when deploying, give it a default (${X:-value}), or make it required (${X:?message}) so that deploying without it says why",
	Sources: []Source{{"docker/cli", "cli/compose/template/template.go", "SubstituteWith"}},
}

// parse reads the file into its node tree and the docker loader's dict.
// It reports false when nothing more can be checked.
func (f *file) parse() bool {
	doc := f.parsed
	if doc == nil {
		doc = &yaml.Node{}
		if err := yaml.Unmarshal(f.data, doc); err != nil {
			f.report(ruleYAML, &yaml.Node{Line: errLine(err.Error()), Column: 1}, "%s", oneLine(err.Error()))
			return false
		}
	}
	root := resolve(doc)
	if root == nil || root.Kind != yaml.MappingNode {
		f.report(ruleYAML, root, "the top level of a compose file must be a mapping")
		return false
	}
	// Read refuses such a file, and hands over the trees it checked;
	// called directly, vet reports it.
	if f.parsed == nil {
		if e := overLimits(f.name, doc); e != nil {
			f.report(ruleYAML, &yaml.Node{Line: e.Line, Column: e.Column}, "%s", e.Msg)
			return false
		}
	}
	f.root = root
	f.env, f.plainVars = lookupVars(root)
	if dict, err := parseDict(f.data, doc); err != nil {
		// The docker CLI's YAML library is stricter (duplicate keys).
		f.report(ruleYAML, &yaml.Node{Line: errLine(err.Error()), Column: 1}, "docker stack: %s", oneLine(err.Error()))
	} else {
		f.dict = dict
	}
	f.parseServices()
	return true
}

var lineRe = regexp.MustCompile(`line (\d+)`)

// errLine finds the line a YAML error names, or 1.
func errLine(msg string) int {
	if m := lineRe.FindStringSubmatch(msg); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil && n > 0 {
			return n
		}
	}
	return 1
}

func oneLine(s string) string {
	fields := strings.Fields(s)
	return strings.Join(fields, " ")
}

// Patterns that find, in a loader's message, what it is about.
var (
	msgPath    = regexp.MustCompile(`(?:^|[\s(])((?:services|networks|volumes|secrets|configs)(?:\.[^\s:"'(),]+)*|\(root\))(?:[\s:]|$)`)
	msgService = regexp.MustCompile(`service "?([^"\s:]+)"?`)
	msgObject  = regexp.MustCompile(`^(secret|config|network|volume) "([^"]+)"`)
	msgProp    = regexp.MustCompile(`propert(?:y|ies) '([^']+)'`)
	msgQuoted  = regexp.MustCompile(`"([^"]+)"`)
	msgUndef   = regexp.MustCompile(`service "([^"]+)" (?:refers to undefined (\w+)|depends on undefined service) "?([^":]+)"?`)
)

// find returns the node a loader's message is about, as precisely as it
// can tell: the path it names (followed as far as the file goes), the
// property it names within, or the service it names.
func (f *file) find(msg string) (at, val *yaml.Node) {
	at, val = f.root, f.root
	hint := ""
	if m := msgQuoted.FindStringSubmatch(msg); m != nil {
		hint = m[1]
	}
	switch m := msgPath.FindStringSubmatch(msg); {
	case m != nil && m[1] != "(root)":
		at, val = locate(f.root, strings.Split(m[1], "."), hint)
	case m != nil:
	default:
		if m := msgObject.FindStringSubmatch(msg); m != nil {
			if p, ok := get(value(f.root, m[1]+"s"), m[2]); ok {
				at, val = p.Key, p.Value
			}
		} else if m := msgService.FindStringSubmatch(msg); m != nil {
			if s := f.service(m[1]); s != nil {
				at, val = s.key, s.node
			}
		} else if strings.Contains(msg, "version") {
			if p, ok := get(f.root, "version"); ok {
				at, val = p.Key, p.Value
			}
		}
	}
	if m := msgProp.FindStringSubmatch(msg); m != nil {
		// "additional properties 'a', 'b'": point at the first.
		if p, ok := get(val, m[1]); ok {
			at, val = p.Key, p.Value
		}
	}
	return at, val
}

// reportLoader records a loader's message. A message about a value that
// comes from a ${VAR} is an info: vet cannot know the value the
// deployment will give it.
func (f *file) reportLoader(r *Rule, prefix, msg, hint string) {
	msg = sortQuotedLists(msg)
	at, val := f.find(msg)
	if s, ok := scalar(val); ok && strings.Contains(s, "$") && !strings.Contains(msg, "interpolation") {
		f.emit(r, Info, at, "vet gives variables placeholder values; check the value the deployment sets",
			prefix+msg+" (the value comes from a variable)")
		return
	}
	f.hinted(r, at, hint, "%s%s", prefix, msg)
}

// sortTail sorts the lines after the first of a multi-line message: the
// docker loader lists its decoding errors in map order.
func sortTail(msg string) string {
	lines := strings.Split(msg, "\n")
	if len(lines) > 2 {
		slices.Sort(lines[1:])
	}
	return strings.Join(lines, "\n")
}

// quotedList matches a list of quoted names: 'a', 'b'.
var quotedList = regexp.MustCompile(`'[^']*'(?:, '[^']*')+`)

// sortQuotedLists sorts the lists of names in a loader's message, which
// the schema libraries print in map order.
func sortQuotedLists(msg string) string {
	return quotedList.ReplaceAllStringFunc(msg, func(list string) string {
		names := strings.Split(list, ", ")
		slices.Sort(names)
		return strings.Join(names, ", ")
	})
}

func checkCompose(f *file) {
	// compose-go stops at its first error, and which comes first follows
	// Go's map order: on a file with several, its message changes from
	// run to run. The stack loader lists every violation in a stable
	// order, and its verdict is the one that matters for Swarm: once it
	// has objected (or could not parse or interpolate the file),
	// compose-go adds nothing but noise.
	if f.interpolated == nil || f.stackRejected {
		return
	}
	// compose-go breaks ties between schema violations in map order;
	// ComposeSchemaError gives its verdict with a stable choice, and
	// compose-go then loads without validating again.
	if e, err := stackcheck.ComposeSchemaError(f.interpolated); err != nil || e != nil {
		if err == nil {
			f.reportLoader(ruleCompose, "compose-go: ", e.Error(), "")
		} else {
			f.reportLoader(ruleCompose, "compose-go: ", oneLine(err.Error()), "")
		}
		return
	}
	err := stackcheck.ComposeInterpolated(f.name, f.interpolated, false)
	if err == nil {
		return
	}
	for _, e := range flatten(err) {
		msg := oneLine(e.Error())
		if strings.Contains(msg, "yaml: ") {
			// The docker CLI's parser says the same, with its line.
			if !slices.ContainsFunc(f.diags, func(d Diagnostic) bool { return d.Rule == ruleYAML.ID }) {
				f.report(ruleYAML, &yaml.Node{Line: errLine(msg), Column: 1}, "compose-go: %s", msg)
			}
			continue
		}
		msg = strings.TrimSuffix(msg, ": invalid compose project")
		msg = strings.TrimSuffix(msg, ": invalid project")
		if m := msgUndef.FindStringSubmatch(msg); m != nil && f.reportedUndefined(m[1]) {
			// undefined-reference names them all, each at its line;
			// compose-go names one, picked in map order.
			continue
		}
		if strings.Contains(msg, "neither an image nor a build context") {
			continue // swarm-no-image says it with Swarm's reason
		}
		f.reportLoader(ruleCompose, "compose-go: ", msg, "")
	}
}

// flatten lists the errors errors.Join put together.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// reportedUndefined reports whether undefined-reference found undefined
// references in a service (even when it is disabled).
func (f *file) reportedUndefined(service string) bool {
	return f.undefinedIn[service]
}

// stackHints explain the docker CLI's messages that are not obvious.
var stackHints = []struct{ match, hint string }{
	{"additional property 'name' is not allowed", "remove name: `docker stack deploy` takes the stack's name from its command line"},
	{"depends_on: must be a list", "write depends_on as a list of service names (Swarm ignores it anyway)"},
	{"'host_ip'", "remove host_ip: Swarm publishes a port on every node (mode: ingress) or on the node the task runs on (mode: host)"},
	{"deploy: additional propert", "keep to the deploy keys Swarm knows: mode, replicas, labels, placement, resources, restart_policy, update_config, rollback_config, endpoint_mode"},
	{"Compose file version", "use a 3.x version, or remove version: (3.13 then applies)"},
	{"interpolation", "write $$ for a literal $, and ${VAR}, ${VAR:-default} or ${VAR:?message} for a variable"},
}

func checkStack(f *file) {
	if f.dict == nil {
		return
	}
	dict := withoutForbidden(f.dict)
	f.stackDict = dict
	cfg, errs, err := stackcheck.StackInterpolate(dict, f.env)
	f.interpolated = cfg
	if err == nil && len(errs) == 0 {
		err = stackcheck.StackLoadInterpolated(f.name, filepath.Dir(f.name), dict, cfg, f.env)
		// checkUnset's verdict on the file as it is, taken before
		// compose-go, which changes the maps it loads.
		f.stackLoaded = err == nil && refusedAfterLoad(cfg) == nil
	}
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	if err != nil {
		msgs = append(msgs, oneLine(sortTail(err.Error())))
	}
	for _, msg := range msgs {
		before := len(f.diags)
		hint := ""
		for _, h := range stackHints {
			if strings.Contains(msg, h.match) {
				hint = h.hint
				break
			}
		}
		f.reportLoader(ruleStackSchema, "docker stack: ", msg, hint)
		// Whether or not stack-schema is disabled: a value from a
		// variable (an info) is not a rejection.
		if len(f.diags) == before || f.diags[before].Severity == Error {
			f.stackRejected = true
		}
	}
}

// maxUnsetTries bounds the loads checkUnset makes to find which variable a
// file cannot do without.
const maxUnsetTries = 64

// checkUnset finds the variables without a default whose absence makes
// docker stack deploy refuse a file it accepts with vet's placeholders.
func checkUnset(f *file) {
	if f.dict == nil || f.stackRejected || len(f.plainVars) == 0 {
		return
	}
	dict := f.stackDict
	refused := func(empty []varUse) error {
		env := maps.Clone(f.env)
		for _, u := range empty {
			env[u.name] = "" // what the docker CLI substitutes for an unset variable
		}
		cfg, errs, err := stackcheck.StackInterpolate(dict, env)
		switch {
		case err != nil:
			return err
		case len(errs) > 0:
			return errs[0]
		}
		if err := stackcheck.StackLoadInterpolated(f.name, filepath.Dir(f.name), dict, cfg, env); err != nil {
			return err
		}
		return refusedAfterLoad(cfg)
	}
	// A file refused with vet's placeholders has problems of its own,
	// which other rules report. checkStack loaded it with them already.
	if !f.stackLoaded || refused(f.plainVars) == nil {
		return
	}
	for i, u := range f.plainVars {
		if i == maxUnsetTries {
			break
		}
		if err := refused([]varUse{u}); err != nil {
			f.hinted(ruleUnsetVariable, u.node,
				fmt.Sprintf("set %s when deploying, give it a default (${%s:-value}), or make it required (${%s:?message}) so that deploying without it says why", u.name, u.name, u.name),
				"variable %s has no default, and docker stack deploy refuses the file without it: %s", u.name,
				strings.TrimPrefix(oneLine(sortTail(err.Error())), "decoding failed due to the following error(s): "))
		}
	}
}

// refusedAfterLoad says why, after loading, LoadComposefile refuses a
// service whose image is not a reference (an unset ${IMAGE},
// nginx:${TAG}), and the engine a placement constraint that does not
// parse (node.hostname == ${NODE}); cfg is the interpolated file.
func refusedAfterLoad(cfg map[string]any) error {
	services, _ := cfg["services"].(map[string]any)
	for _, name := range slices.Sorted(maps.Keys(services)) {
		svc, _ := services[name].(map[string]any)
		if img, ok := svc["image"].(string); ok {
			if img == "" {
				return fmt.Errorf("invalid image reference for service %s: no image specified", name)
			}
			if _, err := reference.ParseAnyReference(img); err != nil {
				return fmt.Errorf("invalid image reference for service %s: %w", name, err)
			}
		}
		deploy, _ := svc["deploy"].(map[string]any)
		placement, _ := deploy["placement"].(map[string]any)
		constraints, _ := placement["constraints"].([]any)
		for _, c := range constraints {
			if c, ok := c.(string); ok {
				if msg := parseConstraintError(c); msg != "" {
					return fmt.Errorf("service %s: placement constraint %q: %s", name, c, msg)
				}
			}
		}
	}
	return nil
}

// withoutForbidden copies dict without the service options the docker
// loader forbids: swarm-forbidden reports each at its line, and the
// loader would otherwise stop before its schema.
func withoutForbidden(dict map[string]any) map[string]any {
	services, ok := dict["services"].(map[string]any)
	if !ok {
		return dict
	}
	out := make(map[string]any, len(dict))
	for k, v := range dict {
		out[k] = v
	}
	svc := make(map[string]any, len(services))
	for name, s := range services {
		m, ok := s.(map[string]any)
		if !ok {
			svc[name] = s
			continue
		}
		c := make(map[string]any, len(m))
		for k, v := range m {
			if _, forbidden := dockertypes.ForbiddenProperties[k]; !forbidden {
				c[k] = v
			}
		}
		svc[name] = c
	}
	out["services"] = svc
	return out
}

// checkUndefined finds references to objects the file does not declare.
func checkUndefined(f *file) {
	declared := func(section string) map[string]bool {
		out := map[string]bool{}
		for _, p := range pairs(value(f.root, section)) {
			out[p.Key.Value] = true
		}
		return out
	}
	networks, volumes := declared("networks"), declared("volumes")
	secrets, configs := declared("secrets"), declared("configs")
	services := declared("services")
	networks["default"] = true // every stack has it, declared or not

	f.undefinedIn = map[string]bool{}
	undefined := func(s *service, kind string, r ref) {
		f.undefinedIn[s.name] = true
		f.report(ruleUndefined, r.node, "service %q refers to undefined %s %q", s.name, kind, r.name)
	}
	for _, s := range f.services {
		for _, r := range s.networks {
			if !networks[r.name] {
				undefined(s, "network", r)
			}
		}
		for _, r := range namedVolumes(value(s.node, "volumes")) {
			if !volumes[r.name] {
				undefined(s, "volume", r)
			}
		}
		for _, r := range names(value(s.node, "secrets"), "source") {
			if !secrets[r.name] {
				undefined(s, "secret", r)
			}
		}
		for _, r := range names(value(s.node, "configs"), "source") {
			if !configs[r.name] {
				undefined(s, "config", r)
			}
		}
		for _, r := range names(value(s.node, "depends_on"), "") {
			if !services[r.name] {
				f.undefinedIn[s.name] = true
				f.report(ruleUndefined, r.node, "service %q depends on undefined service %q", s.name, r.name)
			}
		}
	}
}

// mount is one entry of a service's volumes.
type mount struct {
	typ      string // volume, bind, tmpfs, npipe, cluster
	source   string // with ${VAR:-default} expanded
	known    bool   // source holds no variable left unexpanded
	target   string
	readOnly bool
	node     *yaml.Node // the entry
	srcNode  *yaml.Node // the source's value
}

var windowsPath = regexp.MustCompile(`^[A-Za-z]:[\\/]`)

// mounts reads a service's volumes in short ("src:dst:ro") and long form.
func mounts(n *yaml.Node) []mount {
	var out []mount
	for _, it := range items(n) {
		if s, ok := scalar(it); ok {
			src, known := expandDefaults(s)
			m := mount{node: it, srcNode: it, known: known}
			parts := strings.Split(src, ":")
			if windowsPath.MatchString(src) && len(parts) > 1 {
				parts = append([]string{parts[0] + ":" + parts[1]}, parts[2:]...)
			}
			switch len(parts) {
			case 1:
				m.typ, m.target = "volume", parts[0] // anonymous
			default:
				m.source, m.target = parts[0], parts[1]
				if len(parts) > 2 {
					for _, o := range strings.Split(parts[2], ",") {
						if o == "ro" {
							m.readOnly = true
						}
					}
				}
				m.typ = "volume"
				if isHostPath(m.source) {
					m.typ = "bind"
				}
			}
			out = append(out, m)
			continue
		}
		if resolve(it) == nil || resolve(it).Kind != yaml.MappingNode {
			continue
		}
		m := mount{node: it, typ: "volume", known: true}
		if t, ok := scalar(value(it, "type")); ok {
			m.typ = t
		}
		if v := value(it, "source"); v != nil {
			if s, ok := scalar(v); ok {
				m.source, m.known = expandDefaults(s)
				m.srcNode = v
			}
		}
		if t, ok := scalar(value(it, "target")); ok {
			m.target = t
		}
		if ro, ok := scalar(value(it, "read_only")); ok {
			m.readOnly = ro == "true" || ro == "yes" || ro == "True" || ro == "1"
		}
		out = append(out, m)
	}
	return out
}

// isHostPath reports whether a short-form volume source is a host path
// rather than a volume name.
func isHostPath(s string) bool {
	return strings.HasPrefix(s, "/") || strings.HasPrefix(s, ".") || strings.HasPrefix(s, "~") || windowsPath.MatchString(s)
}

// namedVolumes lists the named volumes a service mounts.
func namedVolumes(n *yaml.Node) []ref {
	var out []ref
	for _, m := range mounts(n) {
		if m.typ != "volume" || m.source == "" || !m.known {
			continue
		}
		node := m.srcNode
		if node == nil {
			node = m.node
		}
		out = append(out, ref{m.source, node})
	}
	return out
}
