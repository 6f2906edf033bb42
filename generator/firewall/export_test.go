package firewall

// For the tests of the external test package: what the package keeps to
// itself.
const (
	ChainPublished = chainPublished
	Management     = classManagement
	Nuvla          = classNuvla
)

var (
	Classes   = classes
	Protocols = protocols
	Merge     = mergeSpans
	Subtract  = subtractSpans
	Intersect = intersectSpans
	Minimal   = minimalPrefixes

	NewRuleTable = newRuleTable
)
