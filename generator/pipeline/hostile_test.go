package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"cuelang.org/go/cue"
	"go.yaml.in/yaml/v4"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
	"github.com/nuvla/nuvlagen/generator/diag"
	"github.com/nuvla/nuvlagen/generator/exports"
	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/internal/shellcheck"
)

// hostileValues are what an attacker's site file puts in a string: each
// breaks out of some language nuvlagen prints (shell words and comments,
// nft and iptables comments, exports(5), sysctl.d, YAML, Markdown).
var hostileValues = []string{
	"a\nb",
	"a\rb",
	"a'b",
	`a"b`,
	"a$(touch /tmp/nuvlagen-pwned)b",
	"a`id`b",
	"a;b",
	`a\b`,
	"a\x00b",
	"a\u2028b",
	"a -j ACCEPT",
	"a\n-A NUVLA-INPUT -j ACCEPT",
	"a #b",
	"a}b{",
	strings.Repeat("x", 5000),
}

// mutation is one way to put a hostile value into a site: as the string at
// a path, or as a new key of the map at a path (a copy of an existing
// entry, so the rest of it is valid).
type mutation struct {
	path  []any // string keys and int list indexes into the site's data
	isKey bool
	entry any // for a key: the new entry's value
}

func (m mutation) String() string {
	var b strings.Builder
	for i, p := range m.path {
		if i > 0 {
			b.WriteByte('.')
		}
		fmt.Fprint(&b, p)
	}
	if m.isKey {
		b.WriteString(".<key>")
	}
	return b.String()
}

// mutations enumerates every string a site can set, from the site's CUE
// value (schema and data unified): its regular and optional fields, list
// elements and pattern-constrained maps, except fields the model marks
// @nuvlagen(derived). A field added to the schema is covered without a
// change here.
func mutations(v cue.Value, data any, at []any) []mutation {
	var out []mutation
	iter, err := v.Fields(cue.Optional(true))
	if err != nil {
		return nil
	}
	for iter.Next() {
		fv := iter.Value()
		if a := fv.Attribute("nuvlagen"); a.Err() == nil && a.Contents() == "derived" {
			continue
		}
		name := iter.Selector().Unquoted()
		p := append(slices.Clip(at), name)
		out = append(out, value(fv, get(data, name), p)...)
	}
	if pat := v.LookupPath(cue.MakePath(cue.AnyString)); pat.Exists() {
		var entry any = map[string]any{}
		if m, ok := data.(map[string]any); ok && len(m) > 0 {
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			entry = m[keys[0]]
		} else if pat.IncompleteKind() == cue.StringKind {
			entry = "v"
		}
		out = append(out, mutation{path: slices.Clip(at), isKey: true, entry: entry})
	}
	return out
}

func value(fv cue.Value, data any, p []any) []mutation {
	var out []mutation
	k := fv.IncompleteKind()
	if k&cue.StringKind != 0 {
		out = append(out, mutation{path: p})
	}
	switch {
	case k == cue.StructKind:
		out = append(out, mutations(fv, data, p)...)
	case k == cue.ListKind:
		list, _ := data.([]any)
		iter, err := fv.List()
		if err != nil {
			break
		}
		for i := 0; iter.Next(); i++ {
			if i >= len(list) {
				break
			}
			out = append(out, value(iter.Value(), list[i], append(slices.Clip(p), i))...)
		}
	}
	return out
}

func get(data any, key string) any {
	if m, ok := data.(map[string]any); ok {
		return m[key]
	}
	return nil
}

// apply returns a deep copy of data with the mutation made with value h.
func (m mutation) apply(data any, h string) any {
	c := deepCopy(data)
	parent := c
	for _, p := range m.path[:max(0, len(m.path)-1)] {
		parent = step(parent, p)
	}
	if m.isKey {
		target := parent
		if len(m.path) > 0 {
			target = step(parent, m.path[len(m.path)-1])
		}
		if mm, ok := target.(map[string]any); ok {
			mm[h] = deepCopy(m.entry)
		}
		return c
	}
	last := m.path[len(m.path)-1]
	switch pp := parent.(type) {
	case map[string]any:
		pp[last.(string)] = h
	case []any:
		pp[last.(int)] = h
	}
	return c
}

// exists reports whether the site's data has the mutation's path.
func (m mutation) exists(data any) bool {
	for _, p := range m.path {
		switch d := data.(type) {
		case map[string]any:
			v, ok := d[p.(string)]
			if !ok {
				return false
			}
			data = v
		case []any:
			data = d[p.(int)]
		default:
			return false
		}
	}
	return true
}

// step goes one level down, making a map where the data has none yet (an
// optional field the site does not set).
func step(data any, p any) any {
	switch d := data.(type) {
	case map[string]any:
		k := p.(string)
		if d[k] == nil {
			d[k] = map[string]any{}
		}
		return d[k]
	case []any:
		return d[p.(int)]
	}
	return nil
}

func deepCopy(v any) any {
	b, _ := json.Marshal(v)
	var out any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	dec.Decode(&out)
	return out
}

// siteValue is the CUE value of s, an embedded example (schema and data
// unified), built as the loader builds it, with a loader of its own.
func siteValue(t testing.TB, s *site.Site) cue.Value {
	t.Helper()
	for _, f := range nuvlacue.Sites() {
		if f.Name != s.File {
			continue
		}
		schema := newLoader(t).Schema()
		// cue.Scope needs the schema's own context (another one panics).
		//lint:ignore SA1019 the context is the loader's, not a combined one
		v := schema.Context().CompileBytes(f.Data, cue.Filename(f.Name), cue.Scope(schema))
		v = schema.Unify(v).LookupPath(cue.MakePath(cue.Str("sites"), cue.Str(s.Name)))
		if err := v.Err(); err != nil {
			t.Fatal(err)
		}
		return v
	}
	t.Fatalf("site %s: no embedded file %s", s.Name, s.File)
	return cue.Value{}
}

// siteData exports what a site file would have to say to get s (whose
// CUE value is v): every field but the derived ones, concrete.
func siteData(t testing.TB, v cue.Value) map[string]any {
	t.Helper()
	out := map[string]any{}
	iter, err := v.Fields()
	if err != nil {
		t.Fatal(err)
	}
	for iter.Next() {
		if a := iter.Value().Attribute("nuvlagen"); a.Err() == nil && a.Contents() == "derived" {
			continue
		}
		b, err := iter.Value().MarshalJSON()
		if err != nil {
			t.Fatalf("%s: %v", iter.Selector(), err)
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		out[iter.Selector().Unquoted()] = v
	}
	return out
}

// siteSource is a site file holding data as site name.
func siteSource(name string, data any) []byte {
	b, _ := json.MarshalIndent(map[string]any{"sites": map[string]any{name: data}}, "", "\t")
	return append([]byte("package nuvla\n\n"), b[1:len(b)-1]...)
}

var positioned = regexp.MustCompile(`^[^\n]+:[0-9]+:[0-9]+: `)

// TestHostileValues puts every hostile value into every string a site
// file can set, and the hostile file name too. Either generation fails
// with positioned errors, or the output is the benign output but for
// literal words: every script parses to the same commands (a value never
// becomes code, nor a line of a file a script writes), every .nft file
// passes nft -c and every .iptables file iptables-restore --test with as
// many rules, and every other file keeps its structure and line count.
// It tries three values per field; NUVLAGEN_HOSTILE=all tries every one of
// hostileValues, and FuzzHostileValues any value in any field.
func TestHostileValues(t *testing.T) {
	values := []string{"a\nb", "a'$(id)`id`\"b", "a\x00b"}
	if os.Getenv("NUVLAGEN_HOSTILE") == "all" {
		values = hostileValues
	}
	checker := newOutputChecker(t)
	sites, err := newLoader(t).Embedded()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sites {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			sv := siteValue(t, s)
			data := siteData(t, sv)
			benign := loadAndRender(t, newLoader(t), "hostile.cue", siteSource(s.Name, data))
			if benign.err != nil {
				t.Fatalf("the site as data does not render: %v", benign.err)
			}
			want := checker.shape(t, benign.files)

			// The site file's name: printed in every header.
			for _, h := range values {
				if strings.ContainsRune(h, 0) || strings.ContainsRune(h, '/') {
					continue // no file is called that
				}
				r := loadAndRender(t, newLoader(t), h+".cue", siteSource(s.Name, data))
				checker.compare(t, "file name "+strconv.Quote(h), want, r)
			}

			muts := mutations(sv, data, nil)
			t.Logf("%d places a site file can put a string, %d values each", len(muts), len(values))
			var mu sync.Mutex
			var wg sync.WaitGroup
			work := make(chan func(*site.Loader))
			for range 2 {
				wg.Go(func() {
					l := newLoader(t)
					for f := range work {
						f(l)
					}
				})
			}
			for _, m := range muts {
				// A new key adds an entry, and setting an optional field the
				// site leaves out may add output: either is compared with the
				// same change made with a plain value.
				base := want
				if m.isKey || !m.exists(data) || m.namesFiles() {
					r := loadAndRender(t, newLoader(t), "hostile.cue", siteSource(s.Name, m.apply(data, "zzbenign")))
					if r.err != nil {
						base = nil
					} else {
						base = checker.shape(t, r.files)
					}
				}
				for _, h := range values {
					work <- func(l *site.Loader) {
						name := s.Name
						d := m.apply(data, h)
						if len(m.path) == 1 && m.path[0] == "name" {
							name = h // the site's name is its key too
						}
						r := m.asBenign(loadAndRender(t, l, "hostile.cue", siteSource(name, d)), h)
						mu.Lock()
						defer mu.Unlock()
						checker.compare(t, fmt.Sprintf("%s = %q", m, trim(h)), base, r)
					}
				}
			}
			close(work)
			wg.Wait()
		})
	}
}

func trim(s string) string {
	if len(s) > 20 {
		return s[:20] + "..."
	}
	return s
}

type result struct {
	files Files
	err   error
}

// loadAndRender renders the one site of a file as generate would, the
// embedded examples beside it (a target's host among them).
func loadAndRender(t testing.TB, l *site.Loader, name string, src []byte) result {
	t.Helper()
	sites, err := l.Load(name, src)
	if err != nil {
		return result{err: err}
	}
	if len(sites) != 1 {
		t.Fatalf("%d sites", len(sites))
	}
	if !site.Linked(sites[0]) {
		files, err := renderOne(sites[0])
		return result{files: files, err: err}
	}
	res, err := Run(context.Background(), []Input{{Name: name, Data: src}}, Options{Jobs: 1, Companions: embeddedCompanions})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Err(); err != nil {
		return result{err: err}
	}
	files := Files{}
	for p, b := range res.Files() {
		files[strings.TrimPrefix(p, sites[0].Name+"/")] = b
	}
	return result{files: files}
}

// embeddedCompanions are the files beside any input: the embedded examples.
func embeddedCompanions(Input) []Input { return Inputs(nuvlacue.Sites()) }

// outputChecker reduces a site's files to their shape: what a value must
// not change.
type outputChecker struct {
	nft, iptables bool // the tools are there to check with
}

func newOutputChecker(t testing.TB) *outputChecker {
	c := &outputChecker{}
	if os.Geteuid() == 0 {
		_, errU := exec.LookPath("unshare")
		_, errN := exec.LookPath("nft")
		_, errI := exec.LookPath("iptables-restore")
		c.nft = errU == nil && errN == nil
		c.iptables = errU == nil && errI == nil
	}
	if !c.nft || !c.iptables {
		t.Log("not root, or unshare, nft or iptables-restore missing: firewall files are compared by shape only")
	}
	return c
}

func (c *outputChecker) shape(t testing.TB, files Files) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range files.Paths() {
		s, err := c.fileShape(p, files[p])
		if err != nil {
			s = "error: " + err.Error()
		}
		out[p] = s
	}
	return out
}

func (c *outputChecker) compare(t testing.TB, what string, want map[string]string, r result) {
	t.Helper()
	if r.err != nil {
		for _, line := range diag.Lines(r.err, "") {
			if !positioned.MatchString(line) {
				t.Errorf("%s: error without a position: %s", what, line)
			}
		}
		return
	}
	if want == nil {
		return // the same change with a plain value fails: nothing to compare
	}
	got := map[string]string{}
	for _, p := range r.files.Paths() {
		s, err := c.fileShape(p, r.files[p])
		if err != nil {
			t.Errorf("%s: %s: %v", what, p, err)
			continue
		}
		got[p] = s
	}
	for p, w := range want {
		g, ok := got[p]
		switch {
		case !ok:
			t.Errorf("%s: %s is no longer generated", what, p)
		case g != w:
			t.Errorf("%s: %s changed shape:\n got: %.200s\nwant: %.200s", what, p, firstDiff(g, w), firstDiff(w, g))
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: a new file %s", what, p)
		}
	}
}

// fileShape is a file's structure with its values left out.
func (c *outputChecker) fileShape(p string, b []byte) (string, error) {
	switch ext := path.Ext(p); {
	case ext == ".sh":
		return shellcheck.Structure(b)
	case ext == ".nft":
		if c.nft {
			if out, err := runIsolated(b, "nft -c -f \"$1\""); err != nil {
				return "", fmt.Errorf("nft -c: %v: %s", err, out)
			}
		}
		return fmt.Sprintf("%d rule lines", codeLines(b)), nil
	case ext == ".iptables":
		if c.iptables {
			if out, err := runIsolated(b, "iptables -N DOCKER-USER && iptables-restore --test --noflush \"$1\""); err != nil {
				return "", fmt.Errorf("iptables-restore --test: %v: %s", err, out)
			}
		}
		return fmt.Sprintf("%d rule lines", codeLines(b)), nil
	case ext == ".yml" || ext == ".yaml":
		var n yaml.Node
		if err := yaml.Unmarshal(b, &n); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s, %d lines", yamlShape(&n), bytes.Count(b, []byte("\n"))), nil
	case p == "nfs/exports":
		list, err := exports.Parse(string(b))
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%d exports, %d code lines", len(list), codeLines(b)), nil
	default:
		// Markdown, sysctl.d, nfs.conf and modprobe drop-ins: a value
		// must not add a line.
		return fmt.Sprintf("%d lines, %d code lines", bytes.Count(b, []byte("\n")), codeLines(b)), nil
	}
}

// codeLines counts the lines that are not blank or comments.
func codeLines(b []byte) int {
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			n++
		}
	}
	return n
}

func yamlShape(n *yaml.Node) string {
	var b strings.Builder
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		fmt.Fprintf(&b, "%d(", n.Kind)
		for _, c := range n.Content {
			walk(c)
		}
		b.WriteString(")")
	}
	walk(n)
	return b.String()
}

// runIsolated runs script (with the file as $1) in a network namespace
// of its own, which disappears with it: nothing on this machine's
// firewall is read or changed.
func runIsolated(file []byte, script string) ([]byte, error) {
	f, err := os.CreateTemp("", "nuvlagen-hostile-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(file); err != nil {
		return nil, err
	}
	f.Close()
	return exec.Command("unshare", "--net", "sh", "-c", script, "sh", f.Name()).CombinedOutput()
}

// firstDiff is a from its first difference with b, for a readable failure.
func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	i = max(0, i-60)
	return a[i:]
}

// FuzzHostileValues puts the fuzzer's string into one of the places a site
// file can put a string (by index), on either example site, with the same
// verdict as TestHostileValues.
func FuzzHostileValues(f *testing.F) {
	for i, h := range hostileValues {
		f.Add(uint16(i*37), h)
	}
	l, err := site.NewLoader()
	if err != nil {
		f.Fatal(err)
	}
	sites, err := l.Embedded()
	if err != nil {
		f.Fatal(err)
	}
	type target struct {
		s    *site.Site
		data map[string]any
		muts []mutation
		want map[string]string
	}
	var targets []target
	checker := newOutputChecker(f)
	for _, s := range sites {
		sv := siteValue(f, s)
		data := siteData(f, sv)
		r := loadAndRender(f, l, "hostile.cue", siteSource(s.Name, data))
		if r.err != nil {
			f.Fatal(r.err)
		}
		targets = append(targets, target{s, data, mutations(sv, data, nil), checker.shape(f, r.files)})
	}
	f.Fuzz(func(t *testing.T, i uint16, h string) {
		tg := targets[int(i)%len(targets)]
		m := tg.muts[int(i)/len(targets)%len(tg.muts)]
		base := tg.want
		if m.isKey || !m.exists(tg.data) || m.namesFiles() {
			r := loadAndRender(t, l, "hostile.cue", siteSource(tg.s.Name, m.apply(tg.data, "zzbenign")))
			base = nil
			if r.err == nil {
				base = checker.shape(t, r.files)
			}
		}
		name := tg.s.Name
		if len(m.path) == 1 && m.path[0] == "name" {
			name = h
		}
		r := m.asBenign(loadAndRender(t, l, "hostile.cue", siteSource(name, m.apply(tg.data, h))), h)
		checker.compare(t, fmt.Sprintf("%s = %q", m, trim(h)), base, r)
	})
}

// namesFiles says whether the field's value is a directory of the output:
// a stack's name (stackNames) names stacks/<name>/. Such a value is
// compared with the same change made with a plain name, its directory
// renamed (asBenign).
func (m mutation) namesFiles() bool { return len(m.path) == 2 && m.path[0] == "stackNames" }

// asBenign renames, for a field that names files, the directory value h
// named to the one the plain value "zzbenign" names.
func (m mutation) asBenign(r result, h string) result {
	if !m.namesFiles() || r.err != nil {
		return r
	}
	files := Files{}
	for p, b := range r.files {
		files[strings.Replace(p, "stacks/"+h+"/", "stacks/zzbenign/", 1)] = b
	}
	return result{files: files}
}
