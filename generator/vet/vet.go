// Package vet checks compose files meant for `docker stack deploy`: what
// compose-go and the docker CLI's stack loader reject, what Swarm silently
// ignores, Traefik labels that cannot work, placements and ports the site
// cannot serve, secrets in plain text and unpinned images. Every finding
// points at the line and column of the offending key or value.
//
// Rules are small checks in a registry (see Rules); the formats that
// print findings live in format.go, and docs/rules.md is generated from
// the registry.
package vet

import (
	"cmp"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"go.yaml.in/yaml/v4"

	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/generator/stackcheck"
)

// Severity ranks a finding.
type Severity int

// Severities, most severe first.
const (
	Error Severity = iota
	Warning
	Info
)

// String returns the severity's name: error, warning or info.
func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	default:
		return "info"
	}
}

// MarshalJSON writes the severity as its name.
func (s Severity) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// Diagnostic is one finding.
type Diagnostic struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Column   int      `json:"column"`
	Severity Severity `json:"severity"`
	Rule     string   `json:"rule"`
	Message  string   `json:"message"`
	Hint     string   `json:"hint,omitempty"`
}

// Options tune a run. The zero value checks everything a file can say on
// its own, without a site.
type Options struct {
	// Site enables the topology rules: placements, external networks and
	// published ports are checked against it.
	Site *site.Site
	// Firewall says which ports the site opens; nil derives a stand-in
	// from Site (see SiteFirewall).
	Firewall Firewall
	// Disabled holds rule ids not to run.
	Disabled map[string]bool
}

// The garbage collector's settings the vet command runs with, unless the
// environment sets GOGC or GOMEMLIMIT: vet allocates about 800 kB per
// file of its corpus (the loaders' copies and conversions, some 900 times
// the file's size) and keeps little of it, and at Go's default (GOGC=100)
// collecting was a quarter of its CPU time. At 400 it checks about 30 %
// more files per CPU-second (800 gains nothing more); the limit makes the
// collector work harder again when the heap nears 1 GiB (a 4 MiB
// file peaked at 525 MiB resident, 250 MiB at the default).
// docs/performance.md section 3 has the measurements.
const (
	GCPercent   = 400
	MemoryLimit = 1 << 30
)

// Input is one file to check: its name as it should appear in findings,
// and its content.
type Input struct {
	Name string
	Data []byte

	doc *yaml.Node // Data parsed, when Read has parsed it already
}

// File checks one compose file.
func File(name string, data []byte, opts *Options) []Diagnostic {
	return checkInput(Input{Name: name, Data: data}, opts)
}

func checkInput(in Input, opts *Options) []Diagnostic {
	if opts == nil {
		opts = &Options{}
	}
	f := &file{name: in.Name, data: in.Data, opts: opts, parsed: in.doc}
	f.run()
	sortDiagnostics(f.diags)
	return f.diags
}

// Files checks files on a bounded pool of workers, one per CPU, and
// returns the findings of all of them sorted by file, line and column.
func Files(inputs []Input, opts *Options) []Diagnostic {
	if len(inputs) > 0 {
		// compose-go's schema compiles while the workers parse and
		// load their first files with the docker CLI's loader.
		stackcheck.PrepareSchemaError()
	}
	results := make([][]Diagnostic, len(inputs))
	workers := min(runtime.GOMAXPROCS(0), len(inputs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				results[i] = checkInput(inputs[i], opts)
			}
		})
	}
	for i := range inputs {
		next <- i
	}
	close(next)
	wg.Wait()
	var all []Diagnostic
	for _, r := range results {
		all = append(all, r...)
	}
	sortDiagnostics(all)
	return all
}

func sortDiagnostics(d []Diagnostic) {
	slices.SortStableFunc(d, func(a, b Diagnostic) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Message, b.Message),
		)
	})
}

// Count returns how many findings have each severity.
func Count(diags []Diagnostic) (errors, warnings, infos int) {
	for _, d := range diags {
		switch d.Severity {
		case Error:
			errors++
		case Warning:
			warnings++
		default:
			infos++
		}
	}
	return
}

// file is the state of checking one file.
type file struct {
	name string
	data []byte
	opts *Options
	// parsed is data's node tree, when the caller has parsed it (see
	// Read); nil: parse parses it.
	parsed *yaml.Node

	root     *yaml.Node // the top-level mapping; nil when unusable
	services []*service // in file order
	// dict is the file as the docker CLI's loader parses it.
	dict map[string]any
	// env resolves ${VAR} references while loading (see lookupEnv).
	env map[string]string
	// plainVars are the variables referenced without a default or a
	// required message, where first referenced (see lookupVars).
	plainVars []varUse
	// interpolated is dict with env applied, as the docker CLI's loader
	// sees it; compose-go loads it too.
	interpolated map[string]any
	// stackDict is dict without the options the stack loader forbids
	// (see withoutForbidden), what it loads.
	stackDict map[string]any
	// stackLoaded is set when the stack loader accepted the file with
	// env (its schema, interpolation and conversion), and so did what
	// refuses it after loading (see refusedAfterLoad).
	stackLoaded bool
	// stackRejected is set when the docker CLI's stack loader rejects the
	// file, even with stack-schema disabled.
	stackRejected bool
	// undefinedIn holds the services with undefined references.
	undefinedIn map[string]bool

	diags []Diagnostic
	seen  map[Diagnostic]bool
}

// report records a finding of rule at node n (nil: the top of the file),
// with the rule's severity and hint.
func (f *file) report(r *Rule, n *yaml.Node, format string, args ...any) {
	f.emit(r, r.Severity, n, r.Hint, fmt.Sprintf(format, args...))
}

// reportSev records a finding with a severity other than the rule's.
func (f *file) reportSev(r *Rule, sev Severity, n *yaml.Node, format string, args ...any) {
	f.emit(r, sev, n, r.Hint, fmt.Sprintf(format, args...))
}

// hinted records a finding whose hint is specific to it (the rule's when
// empty).
func (f *file) hinted(r *Rule, n *yaml.Node, hint, format string, args ...any) {
	if hint == "" {
		hint = r.Hint
	}
	f.emit(r, r.Severity, n, hint, fmt.Sprintf(format, args...))
}

// emit records a finding unless its rule is disabled or the same finding
// is already recorded.
func (f *file) emit(r *Rule, sev Severity, n *yaml.Node, hint, msg string) {
	if f.opts.Disabled[r.ID] {
		return
	}
	line, col := 1, 1
	if n != nil && n.Line > 0 {
		line, col = n.Line, n.Column
	}
	d := Diagnostic{File: f.name, Line: line, Column: col, Severity: sev, Rule: r.ID, Message: msg, Hint: hint}
	if f.seen == nil {
		f.seen = map[Diagnostic]bool{}
	}
	if f.seen[d] {
		return
	}
	f.seen[d] = true
	f.diags = append(f.diags, d)
}

func (f *file) run() {
	if !f.parse() {
		return
	}
	for _, c := range checks {
		if c.run != nil {
			c.run(f)
		}
	}
}
