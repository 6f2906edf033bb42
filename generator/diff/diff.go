// Package diff explains what a change does to generated output: given two
// trees of files (map[relative path][]byte, as pipeline.Result.Files returns and
// as an out/ directory holds), it reports, per site, a headline of the
// changes of its topology (nodes, roles, addresses, moved labels, stack
// and network renames, images), read from the models the output carries;
// a risk summary (new exposure beyond a node's role, newly published
// ports, removed NFS clients, Minio storage mode changes, image
// downgrades, renamed networks and stacks, moved node labels, manager
// count and quorum changes); the firewall by node; and per file, changes
// a reviewer reads in a minute ("api: image nuvla/api 6.17.0 → 6.18.0").
//
// Each kind of file has a differ, found by path: compose files, NFS
// exports and YAML are compared semantically with go-cmp; anything else
// (scripts, READMEs) as a unified diff, or by its size when added or
// removed whole. The firewall is compared by its rule model
// (firewall/rules.json, see firewall.go). Whenever two files differ in any
// byte, the report says so: a semantic differ that finds nothing adds the
// unified diff, so formatting changes are never hidden. The exceptions: a
// network rename is reported once, and files whose only change it
// explains are not detailed; a renamed stack's files are compared under
// its new name; and the firewall's files printed from its rule model
// (PORTS.md, and the backends and apply.sh that are byte for byte what the
// model prints) are explained by the firewall section. Comparing is pure:
// nothing touches the disk. Markdown fits a budget (WriteMarkdown).
package diff

import (
	"bytes"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
)

// Status says what happened to a site or a file.
type Status string

// Statuses.
const (
	Added   Status = "added"
	Removed Status = "removed"
	Changed Status = "changed"
)

// Op marks one change.
type Op string

// Ops.
const (
	OpAdd    Op = "+"
	OpRemove Op = "-"
	OpChange Op = "~"
)

// Risk kinds, in the order the risk summary lists them.
const (
	RiskExposure      = "exposure"           // something becomes reachable from users or anywhere
	RiskPublished     = "published-port"     // a service publishes a new port
	RiskNFSRemoved    = "nfs-client-removed" // an NFS client loses access
	RiskDowngrade     = "image-downgrade"    // an image tag goes down
	RiskStorage       = "storage-mode"       // Minio's storage mode changes: its data is not converted
	RiskNetworkRename = "network-rename"     // a shared network changes name
	RiskQuorum        = "quorum"             // the managers lose fault tolerance
	RiskPlacement     = "placement"          // a label that pins services with local data moves
	RiskManagers      = "managers"           // the number of managers changes
	RiskStackRename   = "stack-rename"       // a stack changes name: the old one keeps running
)

var riskOrder = []string{RiskExposure, RiskPublished, RiskNFSRemoved, RiskQuorum, RiskStorage, RiskPlacement, RiskStackRename, RiskManagers, RiskDowngrade, RiskNetworkRename}

// Report is the whole comparison. An empty report (no sites) means the two
// trees are byte-for-byte identical.
type Report struct {
	Risks []Risk      `json:"risks"`
	Sites []*SiteDiff `json:"sites"`
}

// Empty reports whether nothing differs.
func (r *Report) Empty() bool { return len(r.Sites) == 0 }

// Risk is one line of the risk summary.
type Risk struct {
	Kind string `json:"kind"`
	Site string `json:"site"`
	// Where is the object inside the site: "core/api" (a compose
	// service), "target-manager-1" (a node), an exported path.
	Where string `json:"where,omitempty"`
	Text  string `json:"text"`
}

// SiteDiff is the change of one site: the top directory of the trees.
type SiteDiff struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Topology is what changed in the site's shape: the headline.
	Topology     []TopologyChange `json:"topology,omitempty"`
	StackRenames []StackRename    `json:"stackRenames,omitempty"`
	Renames      []Rename         `json:"renames,omitempty"`
	// Firewall is the change of the site's rule model, by node.
	Firewall *FirewallDiff `json:"firewall,omitempty"`
	Files    []*FileDiff   `json:"files"`
}

// Rename is a shared network that changed name.
type Rename struct {
	Old string `json:"old"`
	New string `json:"new"`
	// Places counts the references to the old name in the old tree.
	Places int `json:"places"`
	// Files lists the old tree's files that name the old network. Those
	// whose only change is the rename are not detailed.
	Files []string `json:"files"`
	// Remaining lists the new tree's files that still name the old one:
	// empty when every reference moved.
	Remaining []string `json:"remaining,omitempty"`
}

// Text describes the rename in one line.
func (r Rename) Text() string {
	s := fmt.Sprintf("network %s renamed to %s in %d places (%s)", r.Old, r.New, r.Places, plural(len(r.Files), "file"))
	if len(r.Remaining) == 0 {
		return s + "; every reference moved"
	}
	return s + fmt.Sprintf("; %s still named in %s", r.Old, strings.Join(r.Remaining, ", "))
}

// FileDiff is the change of one file, by path relative to its site.
type FileDiff struct {
	Path    string   `json:"path"`
	Kind    string   `json:"kind"`
	Status  Status   `json:"status"`
	Changes []Change `json:"changes,omitempty"`
	// Note says why a file is shown as text: it did not parse, or it
	// changed without a semantic effect.
	Note string `json:"note,omitempty"`
	// Unified is a unified diff, for files without a semantic differ and
	// for changes the semantic differ does not see.
	Unified string `json:"unified,omitempty"`
}

// Change is one effect of a change on a file.
type Change struct {
	Op Op `json:"op"`
	// Object is what changed inside the file: "api" (a service, in a
	// compose file), "target-manager-1" (a node, in a firewall table), a
	// YAML path. Empty for the file as a whole.
	Object string `json:"object,omitempty"`
	Text   string `json:"text"`
	// Risk is set when the change belongs in the risk summary.
	Risk string `json:"risk,omitempty"`
}

// A differ explains the changes of one kind of file.
type differ struct {
	// Kind names the file kind in reports: "compose", "firewall", ...
	Kind string
	// Match reports whether the differ handles a path relative to its
	// site, e.g. "stacks/nuvla/docker-compose.yml".
	Match func(rel string) bool
	// Data, when set, names the file of the same site that holds the
	// matched file's content as data (firewall/rules.json for
	// firewall/PORTS.md): Diff compares that file's two versions, and
	// the data file is not listed again when the matched file lists its
	// changes. When a side has the matched file but not its data file,
	// the file is shown as text.
	Data func(rel string) string
	// Diff compares two versions of a file; old or new is nil when the
	// file is added or removed. An error means a side does not parse: the
	// file is then shown as a unified diff, with the error as a note.
	Diff func(rel string, old, new []byte) ([]Change, error)
}

// builtin returns the differs Compare uses, tried in order; the first
// match wins.
func builtin() []differ {
	return []differ{composeDiffer, portsDiffer, firewallDiffer, exportsDiffer, pictureDiffer, yamlDiffer}
}

func differFor(differs []differ, rel string) *differ {
	for i := range differs {
		if differs[i].Match(rel) {
			return &differs[i]
		}
	}
	return nil
}

// Compare compares two trees of generated files keyed by slash-separated
// paths whose first element is the site. Files outside a site directory
// belong to the site ".".
func Compare(old, new map[string][]byte) *Report { return compare(builtin(), old, new) }

func compare(differs []differ, old, new map[string][]byte) *Report {
	oldSites, newSites := bySite(old), bySite(new)
	names := unionKeys(oldSites, newSites)
	r := &Report{Risks: []Risk{}, Sites: []*SiteDiff{}}
	for _, name := range names {
		sd := compareSite(differs, name, oldSites[name], newSites[name])
		if sd == nil {
			continue
		}
		r.Sites = append(r.Sites, sd)
		for _, rn := range sd.Renames {
			r.Risks = append(r.Risks, Risk{Kind: RiskNetworkRename, Site: name, Text: rn.Text()})
		}
		for _, sr := range sd.StackRenames {
			r.Risks = append(r.Risks, Risk{Kind: RiskStackRename, Site: name, Where: sr.New, Text: fmt.Sprintf(
				"stack %s renamed to %s: deploy.sh starts %s beside the running %s, which keeps running (its services, networks and volumes) until docker stack rm %s; what it keeps on local volumes does not follow", sr.Old, sr.New, sr.New, sr.Old, sr.Old)})
		}
		if sd.Status == Changed {
			r.Risks = append(r.Risks, swarmRisks(name, oldSites[name], newSites[name])...)
		}
		if fw := sd.Firewall; fw != nil {
			for _, c := range fw.Groups {
				if c.Risk != "" {
					r.Risks = append(r.Risks, Risk{Kind: c.Risk, Site: name, Text: c.Text})
				}
			}
			for _, n := range fw.Nodes {
				for _, c := range n.Changes {
					if c.Risk != "" {
						r.Risks = append(r.Risks, Risk{Kind: c.Risk, Site: name, Where: n.Node, Text: c.Text})
					}
				}
			}
		}
		for _, f := range sd.Files {
			for _, c := range f.Changes {
				if c.Risk != "" {
					r.Risks = append(r.Risks, Risk{Kind: c.Risk, Site: name, Where: riskWhere(f, c), Text: c.Text})
				}
			}
		}
	}
	r.Risks = mergeRisks(r.Risks)
	sort.SliceStable(r.Risks, func(i, j int) bool {
		return slices.Index(riskOrder, r.Risks[i].Kind) < slices.Index(riskOrder, r.Risks[j].Kind)
	})
	return r
}

// mergeRisks makes one risk of those that say the same of a site at
// several places (a port opened to users on every worker), where joined
// in the first one's order.
func mergeRisks(risks []Risk) []Risk {
	type key struct{ kind, site, text string }
	at := map[key]int{}
	out := risks[:0:0]
	for _, rk := range risks {
		k := key{rk.Kind, rk.Site, rk.Text}
		if i, ok := at[k]; ok && rk.Where != "" && out[i].Where != "" {
			out[i].Where += ", " + rk.Where
			continue
		}
		at[k] = len(out)
		out = append(out, rk)
	}
	return out
}

// riskWhere qualifies a change for the summary, where its file is not
// shown.
func riskWhere(f *FileDiff, c Change) string {
	if stack := stackOf(f.Path); stack != "" && f.Kind == "compose" {
		return stack + "/" + c.Object
	}
	if c.Object == "" {
		return f.Path
	}
	return c.Object
}

func compareSite(differs []differ, name string, old, new map[string][]byte) *SiteDiff {
	sd := &SiteDiff{Name: name, Status: Changed}
	switch {
	case old == nil:
		sd.Status = Added
	case new == nil:
		sd.Status = Removed
	}
	renamed := map[string]bool{}
	composed := sd.Status == Changed && composeChanged(old, new)
	if composed {
		// A renamed stack's files are compared under its new name.
		if sd.StackRenames = findStackRenames(old, new); len(sd.StackRenames) > 0 {
			old = moveStacks(old, sd.StackRenames)
		}
		sd.Renames = findRenames(old, new)
		for _, rn := range sd.Renames {
			for _, f := range rn.Files {
				renamed[f] = true
			}
		}
	}
	sd.Topology = topology(old, new, sd.StackRenames, sd.Renames, composed)
	if len(sd.Renames) > 0 {
		// The details show what the renames do not explain.
		old = applyRenames(old, sd.Renames)
	}
	// The firewall by its rule model, and the files it explains.
	fw, explained := compareFirewall(old, new)
	sd.Firewall = fw
	// Files with a data file first: a data file whose changes they list
	// is not listed again.
	rels := unionKeys(old, new)
	slices.SortStableFunc(rels, func(a, b string) int {
		da, db := differFor(differs, a), differFor(differs, b)
		return boolOrder(da != nil && da.Data != nil, db != nil && db.Data != nil)
	})
	listed := map[string]bool{}
	summary := map[string]string{} // data file → the file it is the data of
	for _, rel := range rels {
		if d := differFor(differs, rel); d != nil && d.Data != nil {
			summary[d.Data(rel)] = rel
		}
	}
	for _, rel := range rels {
		o, inOld := old[rel]
		n, inNew := new[rel]
		if inOld && inNew && bytes.Equal(o, n) || listed[rel] || explained[rel] {
			continue
		}
		if !inOld {
			o = nil
		}
		if !inNew {
			n = nil
		}
		d := differFor(differs, rel)
		// A data file new beside a file that was there without it (output
		// of an older nuvlagen) holds nothing new: the file itself is
		// shown as text, and the data file by its size.
		s, isData := summary[rel]
		_, sOld := old[s]
		_, sNew := new[s]
		older := isData && (!inOld && sOld || !inNew && sNew)
		if older {
			d = nil
		}
		fd := compareFile(d, rel, o, n, inOld, inNew, old, new, listed)
		if older {
			fd.Note = fmt.Sprintf("not compared: %s was there without it (output of an older nuvlagen)", s)
		}
		if fd.Status == Changed && fd.Changes == nil && renamed[rel] && fd.Note == noSemantic {
			// The rename explains it: the file differs in order only
			// (lists and maps the new name sorts differently in).
			continue
		}
		sd.Files = append(sd.Files, fd)
	}
	slices.SortFunc(sd.Files, func(a, b *FileDiff) int { return strings.Compare(a.Path, b.Path) })
	if len(sd.Files) == 0 && len(sd.Renames) == 0 && len(sd.StackRenames) == 0 && sd.Firewall == nil {
		return nil
	}
	if sd.Files == nil {
		sd.Files = []*FileDiff{}
	}
	return sd
}

const noSemantic = "no semantic change; the text differs"

// boolOrder sorts true first.
func boolOrder(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
}

// compareFile compares a file with its differ d (nil: none). oldSite and
// newSite are the site's files, for a differ's data file; listed records
// a data file whose changes the file's entry lists.
func compareFile(d *differ, rel string, old, new []byte, inOld, inNew bool, oldSite, newSite map[string][]byte, listed map[string]bool) *FileDiff {
	fd := &FileDiff{Path: rel, Kind: "text", Status: Changed}
	switch {
	case !inOld:
		fd.Status = Added
	case !inNew:
		fd.Status = Removed
	}
	if d != nil {
		fd.Kind = d.Kind
		data, o, n := rel, old, new
		if d.Data != nil {
			data = d.Data(rel)
			od, inOldData := oldSite[data]
			nd, inNewData := newSite[data]
			o, n = od, nd
			if inOld && !inOldData || inNew && !inNewData {
				side := "new"
				if inOld && !inOldData {
					side = "old"
				}
				fd.Note = fmt.Sprintf("not compared: the %s side has no %s (output of an older nuvlagen); shown as text", side, data)
				d = nil
			}
		}
		var changes []Change
		var err error
		if d != nil {
			changes, err = safeDiff(d, data, o, n)
		}
		switch {
		case d == nil:
		case err != nil:
			fd.Note = err.Error() + "; shown as text"
		case len(changes) == 0 && fd.Status == Changed:
			fd.Note = noSemantic
		case len(changes) == 0:
			// Added or removed while its data file stayed: the file
			// itself is the change.
		default:
			fd.Changes = changes
			if data != rel {
				listed[data] = true
			}
			return fd
		}
	}
	// A whole file added or removed is in the pull request as it is: its
	// size says enough here, and keeps a comment readable.
	switch fd.Status {
	case Added:
		fd.Changes = []Change{{Op: OpAdd, Text: "new file, " + lines(new)}}
	case Removed:
		fd.Changes = []Change{{Op: OpRemove, Text: "file removed (was " + lines(old) + ")"}}
	default:
		fd.Unified = unified(rel, old, new)
	}
	return fd
}

// lines counts the lines of a file, for a summary.
func lines(b []byte) string {
	n := bytes.Count(b, []byte("\n"))
	if len(b) > 0 && b[len(b)-1] != '\n' {
		n++
	}
	return plural(n, "line")
}

// safeDiff runs a differ, turning a panic on malformed input into an
// error: a differ must never hide that a file changed.
func safeDiff(d *differ, rel string, old, new []byte) (changes []Change, err error) {
	defer func() {
		if r := recover(); r != nil {
			changes, err = nil, fmt.Errorf("internal error reading %s as %s: %v", rel, d.Kind, r)
		}
	}()
	return d.Diff(rel, old, new)
}

func bySite(files map[string][]byte) map[string]map[string][]byte {
	if files == nil {
		return nil
	}
	out := map[string]map[string][]byte{}
	for p, b := range files {
		s, rel, ok := strings.Cut(p, "/")
		if !ok {
			s, rel = ".", p
		}
		if out[s] == nil {
			out[s] = map[string][]byte{}
		}
		out[s][rel] = b
	}
	return out
}

func unionKeys[V any](a, b map[string]V) []string {
	set := map[string]bool{}
	for k := range a {
		set[k] = true
	}
	for k := range b {
		set[k] = true
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// composeChanged reports whether a compose file differs: networks are
// declared there, so only then can one have been renamed.
func composeChanged(old, new map[string][]byte) bool {
	for _, rel := range unionKeys(old, new) {
		if isCompose(rel) && !bytes.Equal(old[rel], new[rel]) {
			return true
		}
	}
	return false
}

// stackOf returns the stack of a compose file path "stacks/<stack>/...".
func stackOf(rel string) string {
	if rest, ok := strings.CutPrefix(rel, "stacks/"); ok {
		if s, _, ok := strings.Cut(rest, "/"); ok {
			return s
		}
	}
	return ""
}

func isCompose(rel string) bool {
	b := path.Base(rel)
	return stackOf(rel) != "" && (b == "docker-compose.yml" || b == "docker-compose.yaml" || b == "compose.yml" || b == "compose.yaml")
}
