package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
	"github.com/nuvla/nuvlagen/generator/site"
)

// Incremental runs: every site written records what rendered it, and a
// later run leaves a site as it is, without loading its file, when none
// of that changed and its directory still holds exactly the files the
// record lists. Rendering is pure (no clock, environment or disk), so
// the same input, model and nuvlagen render the same bytes.

// Record is what rendered a site: generate writes it into the site's
// manifest.
type Record struct {
	// Nuvlagen names the build that rendered it (Options.Build).
	Nuvlagen string
	// Model is the sha256 of the model's files, names and contents.
	Model string
	// Input is the name of the site file, as positions and headers show
	// it, and Sum the sha256 of its contents.
	Input, Sum string
	// Sites are every site of that file, sorted: each is reused only
	// with all the others.
	Sites []string
	// Deployment, for the sites of a file that holds a deployment's site
	// (a host, or a target naming one), is the sha256 of every file of
	// the run holding a site of the same deployment (a host and the
	// targets naming it; files whose sites span deployments join them
	// into one) and of the files beside them that linking read (see
	// deploymentSum): those are reused all together or not at all, and
	// apart from every other deployment's.
	Deployment string
	// Hosts, with Deployment, are the names of the hosts of that
	// deployment, sorted: those its sites are or name, and those of the
	// sites beside them that linking joined to it. A loaded site that is
	// or names one of them takes the deployment with it.
	Hosts []string
	// Beside says the file's sites looked for the rest of their
	// deployment among the files beside it (a host, or a target whose
	// host is not among the inputs).
	Beside bool
}

// Outputs is what a previous run left in the output directory, for Run
// to reuse a site instead of rendering it again (Options.Reuse).
type Outputs interface {
	// Records returns the records of the sites written from the site
	// file named input, by site name.
	Records(input string) map[string]Record
	// Changed says how the directory of site differs from what its
	// record lists (a file edited, missing or not generated, a lost x
	// bit), "" when it does not.
	Changed(site string) string
}

// Why a site is rendered again although it was written before; "" is a
// site not written before, or Options.Reuse nil (a full run).
const (
	WhyInput      = "site file changed"
	WhyModel      = "model changed"
	WhyNuvlagen   = "nuvlagen changed"
	WhyDevel      = "development build of nuvlagen"
	WhyDeployment = "its deployment changed"
	WhyDuplicate  = "site name defined twice"
	WhySites      = "sites of its file changed"
)

// DevelBuild is what the records of a development build (Options.Build
// empty) name: nothing tells two such builds apart, so it reuses nothing,
// and output it writes stays the same from one build, and one machine, to
// the next.
const DevelBuild = "devel"

// sum is the hex sha256 of b.
func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// modelSum is the sha256 of the model's files, names and contents.
func modelSum(files []nuvlacue.File) string {
	h := sha256.New()
	for _, f := range files {
		h.Write([]byte(f.Name))
		h.Write([]byte{0})
		h.Write([]byte(sum(f.Data)))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// embeddedModelSum is modelSum of the embedded model, once.
var embeddedModelSum = sync.OnceValue(func() string { return modelSum(nuvlacue.Schema()) })

// reuse decides whether input in can be left as a previous run wrote
// it: it returns its sites as they are (Reused), or "" and why not
// ("" too for an input never written before).
func reuse(out Outputs, in Input, want Record) ([]Rendered, string) {
	recs := out.Records(in.Name)
	if len(recs) == 0 {
		return nil, ""
	}
	if want.Nuvlagen == DevelBuild {
		return nil, WhyDevel
	}
	var names []string
	for name, r := range recs {
		switch {
		case r.Nuvlagen != want.Nuvlagen:
			return nil, WhyNuvlagen
		case r.Model != want.Model:
			return nil, WhyModel
		case r.Sum != want.Sum:
			return nil, WhyInput
		case !slices.Contains(r.Sites, name):
			return nil, WhySites
		}
		names = append(names, name)
	}
	slices.Sort(names)
	for _, r := range recs {
		if !slices.Equal(r.Sites, names) {
			// A site of the file whose directory is gone, or holds
			// another file's site now.
			return nil, WhySites
		}
	}
	for _, name := range names {
		if why := out.Changed(name); why != "" {
			return nil, why
		}
	}
	sites := make([]Rendered, len(names))
	for i, name := range names {
		r := recs[name]
		sites[i] = Rendered{Name: name, Reused: true, Record: r}
	}
	return sites, ""
}

// deploymentSum is Record.Deployment: the sha256 of the names and sums
// of the held inputs and of the companions linking loaded (not inputs,
// each once), sorted.
func deploymentSum(held []Input, companions []Input) string {
	var lines []string
	for _, in := range held {
		lines = append(lines, "input "+sum([]byte(in.Name))+" "+sum(in.Data))
	}
	for _, c := range companions {
		lines = append(lines, "beside "+sum([]byte(c.Name))+" "+sum(c.Data))
	}
	slices.Sort(lines)
	h := sha256.New()
	for _, l := range lines {
		h.Write([]byte(l + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// deploymentSums returns deploymentSum of each deployment of the held
// inputs, and its hosts, by input: the inputs whose sites are or name
// the same host are one deployment (an input with sites of two joins
// them), and so are an input and the host a site beside it that linking
// loaded for it (extra) is or names (a target in another host's
// directory joins that host's deployment). The sum covers the
// deployment's inputs and the files beside those of them that look
// beside themselves (beside).
func deploymentSums(inputs []Input, heldSites map[int][]*site.Site, extra []*site.Site, beside map[int]bool, companions func(Input) []Input) (map[int]string, map[int][]string) {
	root := map[string]string{}
	var find func(string) string
	find = func(x string) string {
		p, ok := root[x]
		if !ok || p == x {
			root[x] = x
			return x
		}
		r := find(p)
		root[x] = r
		return r
	}
	union := func(a, b string) { root[find(a)] = find(b) }
	key := func(i int) string { return "input " + strconv.Itoa(i) }
	for i, sites := range heldSites {
		find(key(i))
		for _, s := range sites {
			if h := deploymentHost(s); h != "" {
				union(key(i), "host "+h)
			}
		}
	}
	byFile := map[string][]*site.Site{}
	for _, e := range extra {
		byFile[e.File] = append(byFile[e.File], e)
	}
	for i := range heldSites {
		if !beside[i] || companions == nil {
			continue
		}
		for _, c := range companions(inputs[i]) {
			for _, e := range byFile[c.Name] {
				if h := deploymentHost(e); h != "" {
					union(key(i), "host "+h)
				}
			}
		}
	}
	deployments := map[string][]int{}
	for _, i := range slices.Sorted(maps.Keys(heldSites)) {
		r := find(key(i))
		deployments[r] = append(deployments[r], i)
	}
	hosts := map[string][]string{}
	for x := range root {
		if h, ok := strings.CutPrefix(x, "host "); ok {
			r := find(x)
			hosts[r] = append(hosts[r], h)
		}
	}
	sums, names := map[int]string{}, map[int][]string{}
	for r, d := range deployments {
		var held []Input
		var looking []int
		for _, i := range d {
			held = append(held, inputs[i])
			if beside[i] {
				looking = append(looking, i)
			}
		}
		sum := deploymentSum(held, besideOf(inputs, looking, companions))
		hs := slices.Sorted(slices.Values(hosts[r]))
		for _, i := range d {
			sums[i], names[i] = sum, hs
		}
	}
	return sums, names
}

// deploymentsTouched returns the reused inputs of deployments (heldReuse,
// those still reused) that must be loaded and rendered again, sorted:
// those of each deployment (the inputs whose records name the same
// Deployment) whose sum is no longer what they record (one of its files
// changed, is gone or is not reused, or a file beside them that linking
// read changed), or which a loaded deployment's site joins: a loaded
// site or a host one names is named like one of its sites or hosts. A
// deployment that read files beside its inputs is loaded again whenever
// any deployment's site is: a site there whose host was missing is in
// no record, and may be the loaded one's. So is one recorded without its
// hosts (by an older nuvlagen).
func deploymentsTouched(inputs []Input, results []inputResult, heldSites map[int][]*site.Site, reused, heldReuse map[int]bool, companions func(Input) []Input) []int {
	groups := map[string][]int{}
	for _, i := range slices.Sorted(maps.Keys(heldReuse)) {
		if reused[i] {
			d := results[i].sites[0].Record.Deployment
			groups[d] = append(groups[d], i)
		}
	}
	if len(groups) == 0 {
		return nil
	}
	loaded := map[string]bool{} // the loaded deployments' sites, and the hosts they name
	for _, sites := range heldSites {
		for _, s := range sites {
			loaded[s.Name] = true
			if h := deploymentHost(s); h != "" {
				loaded[h] = true
			}
		}
	}
	var touched []int
	for _, d := range slices.Sorted(maps.Keys(groups)) {
		var held []Input
		var looking []int
		hit := false
		for _, i := range groups[d] {
			held = append(held, inputs[i])
			if results[i].sites[0].Record.Beside {
				looking = append(looking, i)
			}
			for _, s := range results[i].sites {
				hit = hit || loaded[s.Name] || s.Record.Hosts == nil && len(heldSites) > 0
				for _, h := range s.Record.Hosts {
					hit = hit || loaded[h]
				}
			}
		}
		beside := besideOf(inputs, looking, companions)
		hit = hit || len(beside) > 0 && len(heldSites) > 0
		if hit || deploymentSum(held, beside) != d {
			touched = append(touched, groups[d]...)
		}
	}
	slices.Sort(touched)
	return touched
}

// besideOf returns the companions of the inputs that look beside
// themselves, leaving out every input's name, each name once: what link
// loads.
func besideOf(inputs []Input, looking []int, companions func(Input) []Input) []Input {
	if companions == nil {
		return nil
	}
	looked := map[string]bool{}
	for _, in := range inputs {
		looked[in.Name] = true
	}
	var out []Input
	for _, i := range looking {
		for _, c := range companions(inputs[i]) {
			if !looked[c.Name] {
				looked[c.Name] = true
				out = append(out, c)
			}
		}
	}
	return out
}
