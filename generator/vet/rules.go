package vet

import "slices"

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
}

// registry lists every rule, in the order they run and are documented.
var registry = []*Rule{
	ruleYAML,
	ruleUndefined,
	ruleCompose,
	ruleStackSchema,
	ruleForbidden,
	ruleIgnored,
	ruleDeprecated,
	ruleDependsOn,
	ruleNoImage,
	rulePortHostIP,
	ruleHostPortReplicas,
	ruleTraefikV1,
	ruleTraefikContainerLabels,
	ruleTraefikDetached,
	ruleTraefikNetworkMissing,
	ruleTraefikNetworkUnknown,
	ruleTraefikUndefined,
	ruleTraefikPort,
	ruleSitePlacement,
	ruleSiteNetwork,
	ruleSitePort,
	ruleSiteEntryPoint,
	ruleSecretLiteral,
	ruleSecretDefault,
	ruleDefaultCredentials,
	ruleImageTag,
	ruleDockerSocket,
	ruleBindMount,
	ruleMemlock,
}

// checks run in this order on every file. One check may report under
// several rules; report drops what --disable turned off.
var checks []func(*file)

func init() {
	checks = []func(*file){
		checkUndefined,
		checkStack,
		checkCompose, // after checkStack: see there
		checkForbidden,
		checkIgnored,
		checkDeprecated,
		checkDependsOn,
		checkNoImage,
		checkPortHostIP,
		checkHostPortReplicas,
		checkTraefikV1,
		checkTraefikContainerLabels,
		checkTraefikNetworks,
		checkTraefikUndefined,
		checkTraefikPort,
		checkSitePlacement,
		checkSiteNetworks,
		checkSitePorts,
		checkSecrets,
		checkHygiene,
		checkMemlock,
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
