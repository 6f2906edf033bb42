package site

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"
	"cuelang.org/go/encoding/yaml"

	nuvlacue "github.com/nuvla/nuvlagen/cue"
)

// Loader compiles the model once and loads any number of site files
// against it. It is not safe for concurrent use: CUE contexts are not.
type Loader struct {
	ctx    *cue.Context
	schema cue.Value
	// input is #SiteInput, the fields a site file writes; it does not
	// exist in a model without it (another revision's).
	input cue.Value
	// defs are the model's value types (#Domain, #CIDR...), by position.
	defs []definition
	// inputs are input for each kind of site (inputOf).
	inputs map[string]cue.Value
}

// NewLoader compiles the embedded model.
func NewLoader() (*Loader, error) { return NewLoaderFromFiles(nuvlacue.Schema()) }

// NewLoaderFromFiles compiles the model given as files (the schema files of
// nuvlacue.Read): the model of another revision, for `nuvlagen diff --base`.
func NewLoaderFromFiles(schema []nuvlacue.File) (*Loader, error) {
	if len(schema) == 0 {
		return nil, fmt.Errorf("no model files")
	}
	ctx := cuecontext.New()
	inst := build.NewContext().NewInstance("", nil)
	var files []*ast.File
	for _, f := range schema {
		syn, err := parser.ParseFile(f.Name, f.Data, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		if err := inst.AddSyntax(syn); err != nil {
			return nil, err
		}
		files = append(files, syn)
	}
	v := ctx.BuildInstance(inst)
	if err := v.Err(); err != nil {
		return nil, fmt.Errorf("compiling the model: %w", err)
	}
	return &Loader{ctx: ctx, schema: v, input: v.LookupPath(cue.MakePath(cue.Def("SiteInput"))), defs: indexDefinitions(v, files)}, nil
}

// Schema returns the compiled model: its #Site definition describes a
// site, its field attributes (@nuvlagen(derived)) what a site file does
// not write. For tests that walk the schema; it shares the loader's CUE
// context, so it is not safe to use concurrently with the loader.
func (l *Loader) Schema() cue.Value { return l.schema }

// Embedded loads the example sites that ship with nuvlagen.
func (l *Loader) Embedded() ([]*Site, error) { return l.LoadFiles(nuvlacue.Sites()) }

// LoadFiles loads every site of files, reporting the errors of all.
func (l *Loader) LoadFiles(files []nuvlacue.File) ([]*Site, error) {
	var all []*Site
	var errs errors.Error
	for _, f := range files {
		sites, err := l.Load(f.Name, f.Data)
		errs = appendErr(errs, err)
		all = append(all, sites...)
	}
	if errs != nil {
		return nil, errs
	}
	// The files are given together: their deployments are linked (the
	// firewalls across sites are checked by generator/deployment).
	if _, err := LinkDeployments(all); err != nil {
		return nil, err
	}
	return all, nil
}

// Load reads one site file. The file either holds `sites: <name>: {...}`
// (one or more sites, as the model's own examples do) or the fields of a
// single site at its top level. name is used in positions.
func (l *Loader) Load(name string, src []byte) (sites []*Site, err error) {
	tf := token.NewFile(name, -1, len(src)+1)
	tf.SetLinesForContent(src)
	if len(src) == 0 {
		// An empty file has no line for SetLinesForContent: its one
		// position is 1:1 all the same.
		tf.SetLines([]int{0})
	}
	start := tf.Pos(0, token.NoRelPos)
	defer func() {
		if err != nil {
			err = positioned(err, name, start)
		}
	}()
	defer func() {
		// A model that panics on some input is a bug, but the user still
		// deserves an error that names the file rather than a crash.
		if r := recover(); r != nil {
			sites, err = nil, fmt.Errorf("%s: internal error while evaluating: %v", name, r)
		}
	}()
	f, err := parser.ParseFile(name, src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	v := l.ctx.BuildFile(f, cue.Scope(l.schema))
	if err := v.Err(); err != nil {
		return nil, err
	}
	if v.IncompleteKind() != cue.StructKind {
		return nil, errors.Newf(start, "a site file must be a struct of fields")
	}
	if iter, err := v.Fields(cue.All()); err == nil && !iter.Next() {
		return nil, errors.Newf(start, "the file defines no site: write sites: <name>: {...}, or the fields of one site")
	}

	// Each site twice: as #Site, and as #SiteInput (what the file says,
	// without what the model derives from it), which is validated first.
	var values, inputs, owns []cue.Value
	if sv := v.LookupPath(cue.ParsePath("sites")); sv.Exists() {
		// The model's sites are filled into the file's, in the file's
		// root: a reference of the file to sites.<name> sees what the
		// model derives there, as it did when the file's root was
		// unified with the model's; but the file's own #Site or #Port
		// no longer changes the model's (a field added to every site, a
		// port constrained), nor are the model's definitions evaluated
		// again for each file (a sixth of a load's allocations).
		u := v.FillPath(cue.ParsePath("sites"), l.schema.LookupPath(cue.ParsePath("sites"))).LookupPath(cue.ParsePath("sites"))
		iter, err := u.Fields()
		if err != nil {
			return nil, err
		}
		for iter.Next() {
			values = append(values, iter.Value())
			own := sv.LookupPath(cue.MakePath(iter.Selector()))
			var in cue.Value
			if l.input.Exists() {
				in = own.Unify(l.input.FillPath(cue.ParsePath("name"), iter.Selector().Unquoted()))
			}
			inputs = append(inputs, in)
			owns = append(owns, own)
		}
		if len(values) == 0 {
			return nil, errors.Newf(sv.Pos(), "sites: no site defined")
		}
	} else {
		values = append(values, l.schema.LookupPath(cue.MakePath(cue.Def("Site"))).Unify(v))
		var in cue.Value
		if l.input.Exists() {
			in = v.Unify(l.input)
		}
		inputs = append(inputs, in)
		owns = append(owns, v)
	}

	var errs errors.Error
	for i, sv := range values {
		s, err := l.decode(sv, inputs[i], owns[i], name, start)
		if err != nil {
			errs = appendErr(errs, err)
			continue
		}
		sites = append(sites, s)
	}
	if errs != nil {
		return nil, errs
	}
	return sites, nil
}

// raw mirrors the CUE fields decoded as plain data.
type raw struct {
	Name           string    `json:"name"`
	Kind           string    `json:"kind"`
	Domain         string    `json:"domain"`
	TLS            TLS       `json:"tls"`
	Networks       Networks  `json:"networks"`
	EphemeralPorts PortRange `json:"ephemeralPorts"`
	NFS            *NFS      `json:"nfs"`
	Minio          *struct {
		S3Domain string `json:"s3Domain"`
		Storage  string `json:"storage"`
	} `json:"minio"`
	Edge    string   `json:"edge"`
	Host    string   `json:"host"`
	Egress  []string `json:"egress"`
	Clients map[string]struct {
		Stack string `json:"stack"`
		Ports []int  `json:"ports"`
	} `json:"clients"`
	Images      map[string]string   `json:"images"`
	Secrets     map[string]Secret   `json:"secrets"`
	Local       map[string]Secret   `json:"localSecrets"`
	Variables   map[string]Variable `json:"variables"`
	Sysctls     map[string]Sysctl   `json:"sysctls"`
	DeployOrder []string            `json:"deployOrder"`
	StackNames  map[string]string   `json:"stackNames"`
	Groups      struct {
		Management []string `json:"management"`
		Users      []string `json:"users"`
		Nuvla      []string `json:"nuvla"`
	} `json:"groups"`
	Nodes map[string]struct {
		Address   string            `json:"address"`
		Role      string            `json:"role"`
		Labels    map[string]string `json:"labels"`
		NFSServer bool              `json:"nfsServer"`
	} `json:"nodes"`

	// What nuvlagen configure sets (cue/configure.cue).
	SMTP         *SMTP      `json:"smtp"`
	SupportEmail string     `json:"supportEmail"`
	Snapshots    *Snapshots `json:"snapshots"`
	Streams      Streams    `json:"streams"`
}

// decode validates and decodes v, a site from file, whose input (the
// site as #SiteInput) is in and whose own value (what the file writes,
// without the model) is own. The input is validated first, and alone when
// it fails, because one bad input otherwise resurfaces in every value
// derived from it: each field of #SiteInput (those of its kind), as the
// file gives it, then each completed by the model, which must make it
// concrete. A model without #SiteInput (another revision's, for nuvlagen
// diff --base) has no input: its sites are validated whole. Every CUE
// error goes through the explain step (explain.go).
func (l *Loader) decode(v, in, own cue.Value, file string, start token.Pos) (*Site, error) {
	loc := &Site{value: v, File: file, start: start}
	x := l.explainer(loc, own, in)
	var errs errors.Error
	// The fields the file leaves incomplete, for the model to complete.
	var incomplete []string
	if in.Exists() {
		iter, err := in.Fields(cue.Optional(true))
		if err != nil {
			return nil, x.explain(err)
		}
		var bad errors.Error
		for iter.Next() {
			if iter.IsOptional() {
				// A field the file does not set (one it sets is no
				// longer optional): host?: error("...") on a host site.
				continue
			}
			if err := iter.Value().Validate(); err != nil {
				bad = errors.Append(bad, errors.Promote(err, ""))
			} else if iter.Value().Validate(cue.Concrete(true)) != nil {
				incomplete = append(incomplete, iter.Selector().Unquoted())
			}
		}
		if bad != nil {
			return nil, inFileOrder(x.explain(bad))
		}
	}
	for _, f := range incomplete {
		fv := v.LookupPath(cue.MakePath(cue.Str(f)))
		if !fv.Exists() {
			continue
		}
		if err := fv.Validate(cue.Concrete(true), cue.Final()); err != nil {
			errs = errors.Append(errs, errors.Promote(err, ""))
		}
	}
	if errs != nil {
		return nil, inFileOrder(x.explain(errs))
	}
	if err := v.Validate(cue.Concrete(true), cue.Final()); err != nil {
		return nil, inFileOrder(x.explain(err))
	}
	var r raw
	if err := v.Decode(&r); err != nil {
		return nil, err
	}
	s := &Site{
		Name: r.Name, Kind: r.Kind, Domain: r.Domain, TLS: r.TLS,
		Networks: r.Networks, EphemeralPorts: r.EphemeralPorts, NFS: r.NFS,
		Images: r.Images, value: v, File: file, start: start,
		Edge: r.Edge, Host: r.Host,
		SMTP: r.SMTP, SupportEmail: r.SupportEmail, Snapshots: r.Snapshots,
		Streams: r.Streams,
	}
	for name, c := range r.Clients {
		s.Clients = append(s.Clients, Client{Service: name, Stack: c.Stack, Ports: c.Ports})
	}
	slices.SortFunc(s.Clients, func(a, b Client) int { return strings.Compare(a.Service, b.Service) })
	if r.Minio != nil {
		s.S3Domain, s.MinioStorage = r.Minio.S3Domain, r.Minio.Storage
	}
	for name, n := range r.Nodes {
		addr, err := netip.ParseAddr(n.Address)
		if err != nil {
			return nil, errors.Newf(s.Pos("nodes", name, "address"), "%v", err)
		}
		s.Nodes = append(s.Nodes, Node{Name: name, Address: addr, Role: n.Role, Labels: n.Labels, NFSServer: n.NFSServer})
	}
	slices.SortFunc(s.Nodes, func(a, b Node) int { return strings.Compare(a.Name, b.Name) })
	var err error
	if s.Groups.Management, err = prefixes(s, "management", r.Groups.Management); err != nil {
		return nil, err
	}
	if s.Groups.Users, err = prefixes(s, "users", r.Groups.Users); err != nil {
		return nil, err
	}
	if s.Groups.Nuvla, err = prefixes(s, "nuvla", r.Groups.Nuvla); err != nil {
		return nil, err
	}
	if r.Egress != nil {
		if s.Egress, err = prefixes(s, "egress", r.Egress); err != nil {
			return nil, err
		}
	}
	for _, sec := range r.Local {
		s.LocalSecrets = append(s.LocalSecrets, sec)
	}
	slices.SortFunc(s.LocalSecrets, func(a, b Secret) int { return strings.Compare(a.Name, b.Name) })
	for _, sec := range r.Secrets {
		s.Secrets = append(s.Secrets, sec)
	}
	slices.SortFunc(s.Secrets, func(a, b Secret) int { return strings.Compare(a.Name, b.Name) })
	for _, vr := range r.Variables {
		s.Variables = append(s.Variables, vr)
	}
	slices.SortFunc(s.Variables, func(a, b Variable) int { return strings.Compare(a.Name, b.Name) })

	for key, sc := range r.Sysctls {
		sc.Key = key
		s.Sysctls = append(s.Sysctls, sc)
	}
	slices.SortFunc(s.Sysctls, func(a, b Sysctl) int { return strings.Compare(a.Key, b.Key) })

	if fv := v.LookupPath(cue.ParsePath("firewall")); fv.Exists() {
		if s.Firewall, err = decodeFirewall(s, fv); err != nil {
			return nil, err
		}
	}

	role := map[string]string{}
	for _, key := range slices.Sorted(maps.Keys(r.StackNames)) {
		name := r.StackNames[key]
		if other, dup := role[name]; dup {
			return nil, errors.Newf(s.Pos("stackNames", key), "stackNames: %s and %s are both called %q: each stack needs its own name", other, key, name)
		}
		role[name] = key
	}
	stacks := v.LookupPath(cue.ParsePath("stacks"))
	var composes []cue.Value
	for _, name := range r.DeployOrder {
		sv := stacks.LookupPath(cue.MakePath(cue.Str(name)))
		if !sv.Exists() {
			return nil, errors.Newf(s.Pos("deployOrder"), "deployOrder names stack %q, which the model does not define", name)
		}
		cv := sv.LookupPath(cue.ParsePath("compose"))
		data, err := cv.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("site %s, stack %s: %w", s.Name, name, err)
		}
		st := Stack{Name: name, Role: role[name], Compose: data}
		if fv := sv.LookupPath(cue.ParsePath("files")); fv.Exists() {
			iter, err := fv.Fields()
			if err != nil {
				return nil, err
			}
			for iter.Next() {
				fname := iter.Selector().Unquoted()
				f := File{Name: fname}
				if iter.Value().Kind() == cue.StringKind {
					text, err := iter.Value().String()
					if err != nil {
						return nil, fmt.Errorf("site %s, stack %s: config file %s: %w", s.Name, name, fname, err)
					}
					f.Data, f.Text = []byte(text), true
				} else if f.Data, err = yaml.Encode(iter.Value()); err != nil {
					return nil, fmt.Errorf("site %s, stack %s: config file %s: %w", s.Name, name, fname, err)
				}
				st.Files = append(st.Files, f)
			}
			sort.Slice(st.Files, func(i, j int) bool { return st.Files[i].Name < st.Files[j].Name })
		}
		s.Stacks = append(s.Stacks, st)
		composes = append(composes, cv)
	}
	if n := stackCount(stacks); n != len(s.Stacks) {
		return nil, errors.Newf(s.Pos("deployOrder"), "deployOrder lists %d stacks, the model defines %d", len(s.Stacks), n)
	}
	if err := check(s, composes); err != nil {
		return nil, err
	}
	return s, nil
}

func stackCount(v cue.Value) int {
	iter, err := v.Fields()
	if err != nil {
		return 0
	}
	n := 0
	for iter.Next() {
		n++
	}
	return n
}

// prefixes parses a group's CIDRs; a bare address is its /32, as #CIDR
// says, so every printer sees a prefix.
func prefixes(s *Site, group string, in []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(in))
	for i, c := range in {
		p, err := netip.ParsePrefix(c)
		if a, aerr := netip.ParseAddr(c); err != nil && aerr == nil && a.Is4() {
			p, err = netip.PrefixFrom(a, a.BitLen()), nil
		}
		if err != nil {
			return nil, errors.Newf(s.Pos("groups", group), "groups.%s[%d]: %v", group, i, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// appendErr adds err, keeping CUE errors (and their positions) as they are.
func appendErr(list errors.Error, err error) errors.Error {
	if err == nil {
		return list
	}
	return errors.Append(list, errors.Promote(err, ""))
}

// positioned gives any error still without a position in the file (the
// evaluator reports some without one) the file's start, so that every
// error names the file it is about.
func positioned(err error, file string, start token.Pos) error {
	var out errors.Error
	for _, e := range errors.Errors(err) {
		if hasPosIn(e, file) {
			out = errors.Append(out, e)
			continue
		}
		out = errors.Append(out, &relocated{err: e, pos: start})
	}
	return out
}

// inFileOrder puts explained errors, each positioned in the site's file,
// in the order of the file, not the order the schema declares the fields.
func inFileOrder(err errors.Error) errors.Error {
	list := errors.Errors(err)
	slices.SortStableFunc(list, func(a, b errors.Error) int {
		pa, pb := a.Position(), b.Position()
		return cmp.Or(cmp.Compare(pa.Line(), pb.Line()), cmp.Compare(pa.Column(), pb.Column()))
	})
	var out errors.Error
	for _, e := range list {
		out = errors.Append(out, e)
	}
	return out
}

func hasPosIn(e errors.Error, file string) bool {
	for _, p := range errors.Positions(e) {
		if p.Filename() == file {
			return true
		}
	}
	return false
}

// relPath turns an error's path, which starts at the root of the
// evaluation (sites.<name>.… or #Site.…), into a path inside the site.
func (s *Site) relPath(path []string) []string {
	if len(path) > 0 && path[0] == "#Site" {
		return unquote(path[1:])
	}
	own := s.value.Path().Selectors()
	if len(own) == 0 || own[0].IsDefinition() {
		// A site at the top level of its file: its input's errors
		// start at the root.
		return unquote(path)
	}
	if len(path) < len(own) {
		return nil
	}
	for i, sel := range own {
		if sel.String() != path[i] {
			return nil
		}
	}
	return unquote(path[len(own):])
}

func unquote(path []string) []string {
	out := make([]string, len(path))
	for i, p := range path {
		if u, err := strconv.Unquote(p); err == nil {
			p = u
		}
		out[i] = p
	}
	return out
}

// relocated is a CUE error with a position added in the site's file.
type relocated struct {
	err errors.Error
	pos token.Pos
}

func (r *relocated) Position() token.Pos { return r.pos }
func (r *relocated) Error() string       { return r.err.Error() }
func (r *relocated) Path() []string      { return r.err.Path() }
func (r *relocated) Msg() (string, []any) {
	return r.err.Msg()
}

func (r *relocated) InputPositions() []token.Pos {
	return append([]token.Pos{r.err.Position()}, r.err.InputPositions()...)
}
