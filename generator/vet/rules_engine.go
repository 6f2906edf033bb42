package vet

import (
	"fmt"
	"math/big"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/distribution/reference"
	units "github.com/docker/go-units"
	"go.yaml.in/yaml/v4"
)

// The rules below mirror what `docker stack deploy` refuses after the
// stack loader has accepted the file: the docker CLI's conversion of a
// stack into service specs (cli/compose/convert), the engine's conversion
// of a spec for SwarmKit (moby's daemon/cluster/convert) and SwarmKit's
// validation of a service spec (manager/controlapi). Each names the
// function it mirrors; internal/swarmtest deploys a bad and a good file of
// each to a real engine and checks that it refuses exactly the bad one.
//
// A value written with a variable vet cannot know (${X} without a
// default) is not checked: the deployment gives it.

var (
	srcConvertDeployMode = Source{"docker/cli", "cli/compose/convert/service.go", "convertDeployMode"}
	srcValidateJob       = Source{"moby/swarmkit", "manager/controlapi/service.go", "validateJob"}
	srcRestartToGRPC     = Source{"moby/moby", "daemon/cluster/convert/service.go", "restartPolicyToGRPC"}
	srcValidateRestart   = Source{"moby/swarmkit", "manager/controlapi/service.go", "validateRestartPolicy"}
	srcUpdateToGRPC      = Source{"moby/moby", "daemon/cluster/convert/service.go", "updateConfigToGRPC"}
	srcValidateUpdate    = Source{"moby/swarmkit", "manager/controlapi/service.go", "validateUpdate"}
	srcServiceSpecToGRPC = Source{"moby/moby", "daemon/cluster/convert/service.go", "ServiceSpecToGRPC"}
	srcValidateEndpoint  = Source{"moby/swarmkit", "manager/controlapi/service.go", "validateEndpointSpec"}
	srcPortConflicts     = Source{"moby/swarmkit", "manager/controlapi/service.go", "checkPortConflicts"}
	srcConstraintParse   = Source{"moby/swarmkit", "manager/constraint/constraint.go", "Parse"}
	srcSpreadTree        = Source{"moby/swarmkit", "manager/scheduler/nodeset.go", "tree"}
	srcConvertResources  = Source{"docker/cli", "cli/compose/convert/service.go", "convertResources"}
	srcValidateResources = Source{"moby/swarmkit", "manager/controlapi/service.go", "validateResources"}
	srcConvertHealth     = Source{"docker/cli", "cli/compose/convert/service.go", "convertHealthcheck"}
	srcValidateHealth    = Source{"moby/swarmkit", "manager/controlapi/service.go", "validateHealthCheck"}
	srcValidateMounts    = Source{"moby/swarmkit", "manager/controlapi/service.go", "validateMounts"}
	srcParseSecrets      = Source{"docker/cli", "cli/command/service/parse.go", "ParseSecrets"}
	srcParseConfigs      = Source{"docker/cli", "cli/command/service/parse.go", "ParseConfigs"}
	srcValidateSecrets   = Source{"moby/swarmkit", "manager/controlapi/service.go", "validateSecretRefsSpec"}
	srcValidateConfigs   = Source{"moby/swarmkit", "manager/controlapi/service.go", "validateConfigRefsSpec"}
	srcLoadComposefile   = Source{"docker/cli", "cli/command/stack/loader.go", "LoadComposefile"}
	srcValidateImage     = Source{"moby/swarmkit", "manager/controlapi/service.go", "validateImage"}
)

var ruleDeployMode = &Rule{
	ID:       "swarm-deploy-mode",
	Category: "Swarm engine",
	Severity: Error,
	Summary:  "A `deploy.mode` Swarm does not know, `replicas` with a global mode, or `update_config` on a job.",
	Why: "The docker CLI knows the modes replicated, global, replicated-job and global-job, and refuses replicas with the global ones " +
		"(\"replicas can only be used with replicated or replicated-job mode\"); the engine refuses an update configuration on a job. " +
		"`docker stack deploy` stops at that service, after deploying the ones before it.",
	Hint:    "write mode: replicated with replicas: N, or mode: global without replicas",
	Sources: []Source{srcConvertDeployMode, srcValidateJob},
}

var ruleRestartPolicy = &Rule{
	ID:       "swarm-restart-policy",
	Category: "Swarm engine",
	Severity: Error,
	Summary:  "A `restart_policy.condition` other than none, on-failure or any, or a negative delay or window.",
	Why: "The docker CLI passes the condition through as written and the engine refuses it (\"invalid RestartCondition\"); " +
		"SwarmKit refuses negative durations. Compose's `restart:` values (always, unless-stopped) are not conditions.",
	Hint:    "condition: any, on-failure or none; durations such as 5s",
	Sources: []Source{srcRestartToGRPC, srcValidateRestart},
}

var ruleUpdateConfig = &Rule{
	ID:       "swarm-update-config",
	Category: "Swarm engine",
	Severity: Error,
	Summary:  "An `update_config` or `rollback_config` `failure_action` other than pause, continue or rollback; a negative update delay or monitor; a max_failure_ratio outside 0 to 1.",
	Why: "The engine refuses the service (\"unrecognized update failure action\", \"update-delay cannot be negative\"). " +
		"The schema already limits `order` to start-first and stop-first (stack-schema).",
	Hint:    "failure_action: pause, continue or rollback; delay and monitor such as 10s; max_failure_ratio between 0 and 1",
	Sources: []Source{srcUpdateToGRPC, srcValidateUpdate},
}

var ruleEndpointMode = &Rule{
	ID:       "swarm-endpoint-mode",
	Category: "Swarm engine",
	Severity: Error,
	Summary:  "A `deploy.endpoint_mode` other than vip or dnsrr, or dnsrr on a service with a port in ingress mode.",
	Why: "The engine refuses an unknown resolution mode, and the routing mesh (ingress) balances through a virtual IP that dnsrr does not have: " +
		"\"port published with ingress mode can't be used with dnsrr mode\".",
	Hint:    "endpoint_mode: vip (the default), or dnsrr with every port in mode: host",
	Sources: []Source{srcServiceSpecToGRPC, srcValidateEndpoint},
}

var rulePortConflict = &Rule{
	ID:       "swarm-port-conflict",
	Category: "Swarm engine",
	Severity: Error,
	Summary:  "A published port (and protocol) that a service publishes twice, or that two services publish when either does so in ingress mode; with `--site`, also a port the site's other stacks publish.",
	Why: "The engine refuses a service whose port is already taken (\"port '8080' is already in use by service …\", " +
		"\"duplicate published ports provided\"): the stack is half deployed. Only two host-mode ports may share a number, on different nodes. " +
		"With `--site`, a file in a directory named after one of the site's stacks is that stack and is not compared with itself.",
	Hint:    "publish another port, or route the service through Traefik instead of publishing it",
	Sources: []Source{srcValidateEndpoint, srcPortConflicts},
}

var rulePlacementConstraint = &Rule{
	ID:       "swarm-placement-constraint",
	Category: "Swarm engine",
	Severity: Error,
	Summary:  "A placement constraint that is not `key == value` or `key != value` with the characters SwarmKit allows.",
	Why:      "SwarmKit parses every constraint when the service is created and refuses the service if one does not parse (\"constraint expected one operator from ==, !=\").",
	Hint:     "write node.labels.NAME == VALUE, node.role == manager, node.hostname != NAME, …",
	Sources:  []Source{srcConstraintParse},
}

var ruleSpreadIgnored = &Rule{
	ID:       "swarm-spread-ignored",
	Category: "Swarm engine",
	Severity: Warning,
	Summary:  "A placement preference `spread:` over something other than `node.labels.NAME` or `engine.labels.NAME`.",
	Why:      "The engine accepts it, and the scheduler skips it without a word: tasks are not spread as the file says.",
	Hint:     "spread over a node label: spread: node.labels.zone",
	Sources:  []Source{srcSpreadTree},
}

var ruleResources = &Rule{
	ID:       "swarm-resources",
	Category: "Swarm engine",
	Severity: Error,
	Summary:  "A `deploy.resources` cpus that is not a number of at least 0.001, or a memory below 4MiB.",
	Why:      "The docker CLI refuses cpus it cannot parse exactly (\"failed to parse … as a rational number\", \"value is too precise\"); the engine refuses cpus below 0.001 and memory below 4MiB.",
	Hint:     "cpus: \"0.5\", memory: 512M",
	Sources:  []Source{srcConvertResources, srcValidateResources},
}

var ruleHealthcheck = &Rule{
	ID:       "swarm-healthcheck",
	Category: "Swarm engine",
	Severity: Error,
	Summary:  "A healthcheck with both `test` and `disable: true`, or a duration below 1ms other than 0.",
	Why:      "The docker CLI refuses test with disable (\"test and disable can't be set at the same time\"); the engine refuses intervals, timeouts and start periods below 1ms. (Negative retries the loader refuses already: stack-schema.)",
	Hint:     "durations such as 30s; to turn an image's healthcheck off, disable: true alone",
	Sources:  []Source{srcConvertHealth, srcValidateHealth},
}

var ruleMountTarget = &Rule{
	ID:       "swarm-mount-target",
	Category: "Swarm engine",
	Severity: Error,
	Summary:  "Two volumes of a service mounted at the same target.",
	Why:      "The engine refuses the service: \"duplicate mount point\".",
	Hint:     "mount each volume at its own path",
	Sources:  []Source{srcValidateMounts},
}

var ruleFileTarget = &Rule{
	ID:       "swarm-file-target",
	Category: "Swarm engine",
	Severity: Error,
	Summary:  "Two secrets, or two configs, of a service with the same target (a missing target is the source's name).",
	Why:      "The docker CLI refuses the service (\"duplicate secret target for … not allowed\"), and the engine would too (\"secret references 'a' and 'b' have a conflicting target\").",
	Hint:     "give each its own target",
	Sources:  []Source{srcParseSecrets, srcParseConfigs, srcValidateSecrets, srcValidateConfigs},
}

var ruleImageReference = &Rule{
	ID:       "swarm-image-reference",
	Category: "Swarm engine",
	Severity: Error,
	Summary:  "An image that is not a valid reference (upper-case letters in the repository, a bad tag or digest, a stray character).",
	Why:      "The docker CLI refuses the file (\"invalid image reference for service …\"), and the engine would too (\"ContainerSpec: … is not a valid repository/tag\").",
	Hint:     "write [REGISTRY/]REPOSITORY[:TAG][@DIGEST], the repository in lower case",
	Sources:  []Source{srcLoadComposefile, srcValidateImage},
}

// known returns n's text with ${X:-default} expanded; ok is false when n
// is not a scalar or holds a variable whose value vet cannot know.
func known(n *yaml.Node) (string, bool) {
	s, ok := scalar(n)
	if !ok || isNull(n) {
		return "", false
	}
	return expandDefaults(s)
}

// duration parses a compose duration as the docker CLI's loader does
// (time.ParseDuration); ok is false for a value vet cannot read.
func duration(n *yaml.Node) (time.Duration, bool) {
	s, ok := known(n)
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	return d, err == nil
}

// deployModes are the modes convertDeployMode knows.
var deployModes = []string{"replicated", "global", "replicated-job", "global-job"}

func checkDeployMode(f *file) {
	for _, s := range f.services {
		modeNode := value(s.deploy, "mode")
		mode, ok := known(modeNode)
		if !ok {
			continue
		}
		switch {
		case mode != "" && !slices.Contains(deployModes, mode):
			f.report(ruleDeployMode, modeNode, "service %q: unknown deploy.mode %q (Swarm knows %s)", s.name, mode, strings.Join(deployModes, ", "))
		case (mode == "global" || mode == "global-job") && s.replicasNode != nil:
			f.report(ruleDeployMode, s.replicasNode, "service %q: replicas with mode %s: replicas can only be used with replicated or replicated-job mode", s.name, mode)
		}
		if strings.HasSuffix(mode, "-job") {
			if p, ok := get(s.deploy, "update_config"); ok && !isNull(p.Value) {
				f.hinted(ruleDeployMode, p.Key, "remove update_config: a job runs to completion and is not updated in place", "service %q: update_config with mode %s: jobs may not have an update config", s.name, mode)
			}
		}
	}
}

// restartConditions are the conditions restartPolicyToGRPC knows.
var restartConditions = []string{"none", "on-failure", "any"}

func checkRestartPolicy(f *file) {
	for _, s := range f.services {
		rp := value(s.deploy, "restart_policy")
		if rp == nil {
			continue
		}
		if n := value(rp, "condition"); n != nil {
			if c, ok := known(n); ok && c != "" && !slices.Contains(restartConditions, c) {
				f.report(ruleRestartPolicy, n, "service %q: restart_policy.condition %q is not one of %s", s.name, c, strings.Join(restartConditions, ", "))
			}
		}
		for _, key := range []string{"delay", "window"} {
			n := value(rp, key)
			if d, ok := duration(n); ok && d < 0 {
				f.report(ruleRestartPolicy, n, "service %q: restart_policy.%s %s cannot be negative", s.name, key, n.Value)
			}
		}
	}
}

// failureActions are the actions updateConfigToGRPC knows.
var failureActions = []string{"pause", "continue", "rollback"}

func checkUpdateConfig(f *file) {
	for _, s := range f.services {
		for _, section := range []string{"update_config", "rollback_config"} {
			uc := value(s.deploy, section)
			if uc == nil {
				continue
			}
			if n := value(uc, "failure_action"); n != nil {
				if a, ok := known(n); ok && a != "" && !slices.Contains(failureActions, a) {
					f.report(ruleUpdateConfig, n, "service %q: %s.failure_action %q is not one of %s", s.name, section, a, strings.Join(failureActions, ", "))
				}
			}
			// SwarmKit validates the update configuration only, not the
			// rollback one.
			if section != "update_config" {
				continue
			}
			for _, key := range []string{"delay", "monitor"} {
				n := value(uc, key)
				if d, ok := duration(n); ok && d < 0 {
					f.report(ruleUpdateConfig, n, "service %q: update_config.%s %s cannot be negative", s.name, key, n.Value)
				}
			}
			n := value(uc, "max_failure_ratio")
			if v, ok := known(n); ok {
				if r, ok := new(big.Rat).SetString(v); ok && (r.Sign() < 0 || r.Cmp(big.NewRat(1, 1)) > 0) {
					f.report(ruleUpdateConfig, n, "service %q: update_config.max_failure_ratio %s is not between 0 and 1", s.name, v)
				}
			}
		}
	}
}

// port is one entry of a service's ports, as the docker CLI's loader
// reads it: published 0 when Swarm picks the port.
type port struct {
	published int
	protocol  string
	ingress   bool
	node      *yaml.Node
}

// maxPorts bounds the ports vet expands from a file's ranges
// ("1-65535:1-65535" is 65535 ports): the port rules check no further, so
// that a file of ranges costs linear time.
const maxPorts = 1 << 16

// servicePorts reads a service's ports, short ("8080:80/udp",
// "8000-8001:80-81") and long form, at most budget of them; ports whose
// values vet cannot know are left out.
func servicePorts(s *service, budget int) []port {
	var out []port
	for _, it := range items(value(s.node, "ports")) {
		if len(out) >= budget {
			break
		}
		if _, ok := scalar(it); ok {
			text, ok := known(it)
			if !ok {
				continue
			}
			out = append(out, shortPorts(text, it, budget-len(out))...)
			continue
		}
		p := port{protocol: "tcp", ingress: true, node: it}
		if n := value(it, "published"); n != nil {
			v, ok := known(n)
			if !ok {
				continue
			}
			if _, err := fmt.Sscan(v, &p.published); err != nil {
				continue
			}
			p.node = n
		}
		if v, ok := known(value(it, "protocol")); ok && v != "" {
			p.protocol = strings.ToLower(v)
		}
		if v, ok := known(value(it, "mode")); ok && v == "host" {
			p.ingress = false
		}
		out = append(out, p)
	}
	return out
}

// shortPort matches the short syntax: [ip:][published[-end]:]target[-end][/protocol].
var shortPort = regexp.MustCompile(`^(?:(?:\[[^\]]*\]|[^:\[\]]*):)??(?:(\d+)(?:-(\d+))?:)?(\d+)(?:-(\d+))?(?:/(\w+))?$`)

// shortPorts expands one short-syntax entry into its ports (at most max),
// in ingress mode as the loader gives them.
func shortPorts(text string, n *yaml.Node, max int) []port {
	m := shortPort.FindStringSubmatch(strings.TrimSpace(text))
	if m == nil {
		return nil
	}
	proto := "tcp"
	if m[5] != "" {
		proto = strings.ToLower(m[5])
	}
	targets := min(span(m[3], m[4]), max)
	if m[1] == "" {
		out := make([]port, targets)
		for i := range out {
			out[i] = port{0, proto, true, n}
		}
		return out
	}
	var from int
	fmt.Sscan(m[1], &from)
	count := min(span(m[1], m[2]), max)
	var out []port
	for i := range count {
		out = append(out, port{from + i, proto, true, n})
	}
	return out
}

// span counts the ports of from[-to].
func span(from, to string) int {
	var a, b int
	fmt.Sscan(from, &a)
	if to == "" {
		return 1
	}
	fmt.Sscan(to, &b)
	if b < a {
		return 1
	}
	return min(b-a+1, 65536)
}

func (p port) mode() string {
	if p.ingress {
		return "ingress"
	}
	return "host"
}

func checkEndpointMode(f *file) {
	for _, s := range f.services {
		n := value(s.deploy, "endpoint_mode")
		mode, ok := known(n)
		if !ok {
			continue
		}
		// The docker CLI lowers the mode's case.
		switch strings.ToLower(mode) {
		case "", "vip":
		case "dnsrr":
			for _, p := range servicePorts(s, maxPorts) {
				if p.ingress {
					f.report(ruleEndpointMode, p.node, "service %q: endpoint_mode dnsrr with a port in ingress mode: port published with ingress mode can't be used with dnsrr mode", s.name)
					break
				}
			}
		default:
			f.report(ruleEndpointMode, n, "service %q: endpoint_mode %q is neither vip nor dnsrr", s.name, mode)
		}
	}
}

// portUse is a published port and who publishes it.
type portUse struct {
	port
	service string
	where   string // "line 4", or "stack traefik of site S"
}

// portKey is a published port and its protocol.
type portKey struct {
	published int
	protocol  string
}

// publishers are the first service to publish a port in each mode.
type publishers struct{ ingress, host *portUse }

// conflict returns the publisher the engine refuses p after, as
// checkPortConflicts does: two host-mode ports may share a number.
func (ps publishers) conflict(p port) *portUse {
	if ps.ingress != nil {
		return ps.ingress
	}
	if p.ingress {
		return ps.host
	}
	return nil
}

func (ps *publishers) add(u *portUse) {
	if u.ingress && ps.ingress == nil {
		ps.ingress = u
	} else if !u.ingress && ps.host == nil {
		ps.host = u
	}
}

func checkPortConflicts(f *file) {
	taken := map[portKey]*publishers{}
	publish := func(u portUse) {
		k := portKey{u.published, u.protocol}
		if taken[k] == nil {
			taken[k] = &publishers{}
		}
		taken[k].add(&u)
	}
	for _, u := range f.sitePorts() {
		publish(u)
	}
	budget := maxPorts
	for _, s := range f.services {
		ports := servicePorts(s, budget)
		budget -= len(ports)
		seen := map[portKey]port{}
		// One finding per entry: a range is reported at its first
		// conflicting port.
		reported := map[*yaml.Node]bool{}
		for _, p := range ports {
			if p.published == 0 || reported[p.node] {
				continue
			}
			key := portKey{p.published, p.protocol}
			if q, dup := seen[key]; dup {
				reported[p.node] = true
				f.report(rulePortConflict, p.node, "service %q publishes %d/%s twice (also at line %d): duplicate published ports provided", s.name, p.published, p.protocol, q.node.Line)
				continue
			}
			seen[key] = p
			if ps := taken[key]; ps != nil {
				if t := ps.conflict(p); t != nil {
					reported[p.node] = true
					f.report(rulePortConflict, p.node, "service %q publishes %d/%s (%s), which service %q (%s) publishes in %s mode: the engine refuses the second",
						s.name, p.published, p.protocol, p.mode(), t.service, t.where, t.mode())
				}
			}
		}
		for _, p := range ports {
			if p.published != 0 {
				publish(portUse{p, s.name, fmt.Sprintf("line %d", p.node.Line)})
			}
		}
	}
}

// constraintKey and constraintValue are constraint.Parse's patterns.
var (
	constraintKey   = regexp.MustCompile(`^(?i)[a-z_][a-z0-9\-_.]+$`)
	constraintValue = regexp.MustCompile(`^(?i)[a-z0-9:\-_\s\.\*\(\)\?\+\[\]\\\^\$\|\/]+$`)
)

// parseConstraintError is constraint.Parse for one constraint: its error
// message, or "".
func parseConstraintError(c string) string {
	for _, op := range []string{"==", "!="} {
		if !strings.Contains(c, op) {
			continue
		}
		k, v, _ := strings.Cut(c, op)
		if k = strings.TrimSpace(k); !constraintKey.MatchString(k) {
			return fmt.Sprintf("key '%s' is invalid", k)
		}
		if v = strings.TrimSpace(v); !constraintValue.MatchString(v) {
			return fmt.Sprintf("value '%s' is invalid", v)
		}
		return ""
	}
	return "constraint expected one operator from ==, !="
}

func checkPlacement(f *file) {
	for _, s := range f.services {
		for _, c := range s.constraints {
			text, ok := known(c)
			if !ok {
				continue
			}
			if msg := parseConstraintError(text); msg != "" {
				f.report(rulePlacementConstraint, c, "service %q: placement constraint %q: %s", s.name, text, msg)
			}
		}
		for _, pref := range items(value(value(s.deploy, "placement"), "preferences")) {
			n := value(pref, "spread")
			d, ok := known(n)
			if !ok {
				continue
			}
			if !spreadable(d) {
				f.report(ruleSpreadIgnored, n, "service %q: spread over %q, which the scheduler ignores: it spreads over node.labels.* and engine.labels.* only", s.name, d)
			}
		}
	}
}

// spreadable says whether the scheduler spreads over descriptor d.
func spreadable(d string) bool {
	for _, prefix := range []string{"node.labels.", "engine.labels."} {
		if len(d) > len(prefix) && strings.EqualFold(d[:len(prefix)], prefix) {
			return true
		}
	}
	return false
}

func checkResources(f *file) {
	for _, s := range f.services {
		res := value(s.deploy, "resources")
		for _, section := range []string{"limits", "reservations"} {
			sec := value(res, section)
			if n := value(sec, "cpus"); n != nil {
				if v, ok := known(n); ok {
					if msg := cpusError(v); msg != "" {
						f.report(ruleResources, n, "service %q: resources.%s.cpus %s: %s", s.name, section, v, msg)
					}
				}
			}
			if n := value(sec, "memory"); n != nil {
				if v, ok := known(n); ok {
					if b, err := units.RAMInBytes(v); err == nil && b != 0 && b < 4<<20 {
						f.report(ruleResources, n, "service %q: resources.%s.memory %s is below 4MiB", s.name, section, v)
					}
				}
			}
		}
	}
}

// cpusError mirrors opts.ParseCPUs and validateResources.
func cpusError(v string) string {
	cpu, ok := new(big.Rat).SetString(v)
	if !ok {
		return fmt.Sprintf("failed to parse %v as a rational number", v)
	}
	nano := cpu.Mul(cpu, big.NewRat(1e9, 1))
	if !nano.IsInt() {
		return "value is too precise"
	}
	if n := nano.Num(); n.Sign() != 0 && n.Cmp(big.NewInt(1e6)) < 0 {
		return "must be at least 0.001"
	}
	return ""
}

func checkHealthcheck(f *file) {
	for _, s := range f.services {
		hc := value(s.node, "healthcheck")
		if hc == nil {
			continue
		}
		if d, ok := known(value(hc, "disable")); ok && isTrue(d) {
			if p, ok := get(hc, "test"); ok && !isNull(p.Value) && !emptyTest(p.Value) {
				f.report(ruleHealthcheck, p.Key, "service %q: healthcheck test and disable can't be set at the same time", s.name)
			}
			continue // the CLI converts nothing else of a disabled check
		}
		for _, key := range []string{"interval", "timeout", "start_period", "start_interval"} {
			n := value(hc, key)
			if d, ok := duration(n); ok && d != 0 && d < time.Millisecond {
				f.report(ruleHealthcheck, n, "service %q: healthcheck %s %s is below 1ms", s.name, key, n.Value)
			}
		}

	}
}

func isTrue(s string) bool {
	switch s {
	case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y":
		return true
	}
	return false
}

// emptyTest says whether a healthcheck test is an empty string or list.
func emptyTest(n *yaml.Node) bool {
	n = resolve(n)
	switch n.Kind {
	case yaml.SequenceNode:
		return len(n.Content) == 0
	case yaml.ScalarNode:
		return n.Value == ""
	}
	return false
}

func checkMountTargets(f *file) {
	for _, s := range f.services {
		seen := map[string]*yaml.Node{}
		for _, m := range mounts(value(s.node, "volumes")) {
			if m.target == "" || strings.Contains(m.target, "$") {
				continue
			}
			if first, dup := seen[m.target]; dup {
				f.report(ruleMountTarget, m.node, "service %q mounts two volumes at %s (also at line %d): duplicate mount point", s.name, m.target, first.Line)
				continue
			}
			seen[m.target] = m.node
		}
	}
}

func checkFileTargets(f *file) {
	for _, s := range f.services {
		for _, kind := range []string{"secret", "config"} {
			seen := map[string]string{}
			for _, it := range items(value(s.node, kind+"s")) {
				source, target := "", ""
				if v, ok := known(it); ok {
					source = v
				} else if resolve(it).Kind == yaml.MappingNode {
					source, _ = known(value(it, "source"))
					target, _ = known(value(it, "target"))
				}
				if source == "" {
					continue
				}
				if target == "" {
					target = source
				}
				if prev, dup := seen[target]; dup {
					f.report(ruleFileTarget, it, "service %q: %ss %s and %s have the same target %s: duplicate %s target not allowed", s.name, kind, prev, source, target, kind)
					continue
				}
				seen[target] = source
			}
		}
	}
}

func checkImageReference(f *file) {
	for _, s := range f.services {
		img, ok := known(s.image)
		if !ok {
			// With vet's placeholders ("1"), a variable makes a valid
			// name or tag: what remains invalid is the rest.
			services, _ := f.interpolated["services"].(map[string]any)
			svc, _ := services[s.name].(map[string]any)
			img, ok = svc["image"].(string)
		}
		if !ok || strings.TrimSpace(img) == "" {
			continue // swarm-no-image
		}
		if _, err := reference.ParseNormalizedNamed(img); err != nil {
			raw, _ := scalar(s.image)
			f.report(ruleImageReference, s.image, "service %q: invalid image reference %q: %v", s.name, raw, err)
		}
	}
}

// sitePorts lists the ports the site's stacks publish, but for the stack
// the file is: the one named like the file's directory, as
// out/<site>/stacks/<stack>/docker-compose.yml is (deploying the file
// replaces that stack, so its ports are the file's own).
func (f *file) sitePorts() []portUse {
	st := f.opts.Site
	if st == nil {
		return nil
	}
	own := filepath.Base(filepath.Dir(f.name))
	var out []portUse
	for _, stack := range st.Stacks {
		if stack.Name == own {
			continue
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(stack.Compose, &doc); err != nil {
			continue // the site's own files are checked when generated
		}
		other := &file{root: resolve(&doc)}
		other.parseServices()
		for _, s := range other.services {
			for _, p := range servicePorts(s, maxPorts) {
				if p.published != 0 {
					out = append(out, portUse{p, s.name, fmt.Sprintf("stack %s of site %s", stack.Name, st.Name)})
				}
			}
		}
	}
	return out
}
