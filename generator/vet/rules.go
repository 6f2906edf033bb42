package vet

import (
	"fmt"
	"slices"
)

// Rule is one check. Its documentation is the source of docs/rules.md.
type Rule struct {
	ID       string
	Category string
	Severity Severity
	// Summary says what the rule finds, in one line.
	Summary string
	// Why says what goes wrong in a deployment when the rule is ignored.
	Why string
	// Hint is the short fix printed with each finding.
	Hint string
	// Sources name the code of the docker CLI or the engine that the rule
	// mirrors: what refuses the file at deploy time, and so what the
	// rule must agree with.
	Sources []Source
}

// Source is one function of an upstream repository.
type Source struct {
	Repo string // owner/name on GitHub: docker/cli, moby/moby, moby/swarmkit
	File string // its path in the repository
	Func string // the function that refuses
}

// String says where the source is, for docs/rules.md.
func (s Source) String() string {
	return fmt.Sprintf("[`%s`](https://github.com/%s/blob/master/%s) in %s `%s`", s.Func, s.Repo, s.File, s.Repo, s.File)
}

// check is one pass over a file and the rules it reports under, in
// documentation order. Every rule belongs to exactly one check.
type check struct {
	run   func(*file) // nil: the rules are reported while parsing
	rules []*Rule
}

// checks run in this order on every file. report drops what --disable
// turned off.
var checks []check

// registry lists every rule, in the order they run and are documented:
// the checks' rules, one after the other.
var registry []*Rule

func init() {
	checks = []check{
		{nil, []*Rule{ruleYAML}},
		{checkUndefined, []*Rule{ruleUndefined}},
		// checkCompose after checkStack: see there.
		{func(f *file) { checkStack(f); checkCompose(f) }, []*Rule{ruleCompose, ruleStackSchema}},
		{checkUnset, []*Rule{ruleUnsetVariable}},
		{checkForbidden, []*Rule{ruleForbidden}},
		{checkIgnored, []*Rule{ruleIgnored}},
		{checkDeprecated, []*Rule{ruleDeprecated}},
		{checkDependsOn, []*Rule{ruleDependsOn}},
		{checkNoImage, []*Rule{ruleNoImage}},
		{checkPortHostIP, []*Rule{rulePortHostIP}},
		{checkHostPortReplicas, []*Rule{ruleHostPortReplicas}},
		{checkTraefikV1, []*Rule{ruleTraefikV1}},
		{checkTraefikContainerLabels, []*Rule{ruleTraefikContainerLabels}},
		{checkTraefikNetworks, []*Rule{ruleTraefikDetached, ruleTraefikNetworkMissing, ruleTraefikNetworkUnknown}},
		{checkTraefikUndefined, []*Rule{ruleTraefikUndefined}},
		{checkTraefikPort, []*Rule{ruleTraefikPort}},
		{checkSitePlacement, []*Rule{ruleSitePlacement}},
		{checkSiteNetworks, []*Rule{ruleSiteNetwork}},
		{checkSitePorts, []*Rule{ruleSitePort, ruleSiteEntryPoint}},
		{checkSecrets, []*Rule{ruleSecretLiteral, ruleSecretDefault, ruleDefaultCredentials}},
		{checkHygiene, []*Rule{ruleImageTag, ruleDockerSocket, ruleBindMount}},
		{checkMemlock, []*Rule{ruleMemlock}},
		// What the docker CLI's conversion and the engine refuse
		// (rules_engine.go).
		{checkDeployMode, []*Rule{ruleDeployMode}},
		{checkRestartPolicy, []*Rule{ruleRestartPolicy}},
		{checkUpdateConfig, []*Rule{ruleUpdateConfig}},
		{checkEndpointMode, []*Rule{ruleEndpointMode}},
		{checkPortConflicts, []*Rule{rulePortConflict}},
		{checkPlacement, []*Rule{rulePlacementConstraint, ruleSpreadIgnored}},
		{checkResources, []*Rule{ruleResources}},
		{checkHealthcheck, []*Rule{ruleHealthcheck}},
		{checkMountTargets, []*Rule{ruleMountTarget}},
		{checkFileTargets, []*Rule{ruleFileTarget}},
		{checkImageReference, []*Rule{ruleImageReference}},
	}
	for _, c := range checks {
		registry = append(registry, c.rules...)
	}
}

// Rules returns the registered rules, in documentation order.
func Rules() []*Rule { return slices.Clone(registry) }

// Lookup returns the rule with the given id.
func Lookup(id string) (*Rule, bool) {
	for _, r := range registry {
		if r.ID == id {
			return r, true
		}
	}
	return nil, false
}
