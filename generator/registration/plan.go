package registration

import (
	"bytes"
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/nuvla/nuvlagen/generator/inputfile"
)

// Sizes above which a file is refused: documents are small, and a secret
// is a key, a certificate chain or a password.
const (
	maxDocument = 1 << 20
	maxSecret   = 64 << 10
)

// Parse decodes documents by file name (base names ending in .json),
// refusing unknown fields and documents that do not fit together.
func Parse(files map[string][]byte) ([]*Document, error) {
	var docs []*Document
	for _, name := range sortedKeys(files) {
		d := &Document{}
		dec := json.NewDecoder(bytes.NewReader(files[name]))
		dec.DisallowUnknownFields()
		if err := dec.Decode(d); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("%s: more than one JSON value", name)
		}
		d.Key = strings.TrimSuffix(path.Base(name), ".json")
		if err := d.check(); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		docs = append(docs, d)
	}
	if len(docs) == 0 {
		return nil, errors.New("no documents (*.json)")
	}
	byKey := map[string]*Document{}
	for _, d := range docs {
		if d.Site != docs[0].Site {
			return nil, fmt.Errorf("%s.json is of site %q, %s.json of %q: register one site at a time", d.Key, d.Site, docs[0].Key, docs[0].Site)
		}
		byKey[d.Key] = d
	}
	for _, d := range docs {
		if d.Parent != "" && byKey[d.Parent] == nil {
			return nil, fmt.Errorf("%s.json: parent %q is not a document here", d.Key, d.Parent)
		}
	}
	return docs, nil
}

var collections = []string{Group, Service, Credential}

func (d *Document) check() error {
	switch {
	case d.Site == "":
		return errors.New(`no "site"`)
	case d.Name == "":
		return errors.New(`no "name"`)
	case !slices.Contains(collections, d.Resource):
		return fmt.Errorf("resource %q: want one of %s", d.Resource, strings.Join(collections, ", "))
	case d.Create == nil:
		return errors.New(`no "create"`)
	case d.Create["name"] != d.Name:
		return fmt.Errorf("create.name %v is not the document's name %q", d.Create["name"], d.Name)
	case d.Create["parent"] != nil:
		return errors.New(`create.parent: the parent's id is set at registration, from "parent"`)
	}
	tmpl, _ := d.Create["template"].(map[string]any)
	if len(d.Secrets) > 0 && tmpl == nil {
		return errors.New(`secrets without a create.template to put them in`)
	}
	for field, s := range d.Secrets {
		if _, ok := tmpl[field]; ok {
			return fmt.Errorf("secrets.%s: create.template.%s is set too", field, field)
		}
		if s.Site != FromHost && s.Site != FromTarget {
			return fmt.Errorf("secrets.%s: site %q: want %q or %q", field, s.Site, FromHost, FromTarget)
		}
		// A document must not make the applier read, and send away, a
		// file outside the secrets directory.
		if !fs.ValidPath(s.File) || s.File == "." {
			return fmt.Errorf("secrets.%s: file %q: want a path inside the secrets directory", field, s.File)
		}
		switch s.Format {
		case FormatCertificate, FormatPrivateKey, FormatLine:
		default:
			return fmt.Errorf("secrets.%s: format %q", field, s.Format)
		}
	}
	return nil
}

// ReadDir reads the documents of a directory written by Render (the
// disk's only reader in this package, with ReadSecrets).
func ReadDir(dir string) ([]*Document, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := inputfile.Read(filepath.Join(dir, e.Name()), maxDocument)
		if err != nil {
			return nil, err
		}
		files[e.Name()] = b
	}
	docs, err := Parse(files)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return docs, nil
}

// Step is one document with its secrets read: a resource to create or
// update, after its parent.
type Step struct {
	Doc     *Document
	secrets map[string]string // field → value
	sources map[string]string // field → the file's path, for messages
}

// Plan is a site's documents in dependency order with the secrets they
// need, ready to send.
type Plan struct {
	Site  string
	Steps []*Step
	// SuperPasswordFile is where the password was read from.
	SuperPasswordFile string
	password          string
	// secrets are every value read, and the long lines of multi-line
	// ones, for Redact.
	secrets []string
}

// Password is the super user's password.
func (p *Plan) Password() string { return p.password }

// NewPlan orders docs parents first (a group, then its services, then
// their credentials; by key within a level) and reads every secret they
// name from secretsDir: the host site's from secretsDir/host, the
// target's from secretsDir/<site>. Every file is checked for its format,
// and a client certificate against its key, before anything is sent.
func NewPlan(docs []*Document, secretsDir, host string) (*Plan, error) {
	if len(docs) == 0 {
		return nil, errors.New("no documents")
	}
	if host == "" || !fs.ValidPath(host) || strings.Contains(host, "/") {
		return nil, fmt.Errorf("host site name %q: want a site's name", host)
	}
	p := &Plan{Site: docs[0].Site}
	if p.Site == host {
		return nil, fmt.Errorf("site %s is the host site: register target sites", host)
	}
	if _, err := depths(docs); err != nil {
		return nil, err
	}
	docs = ordered(docs)
	dirs := map[string]string{FromHost: filepath.Join(secretsDir, host), FromTarget: filepath.Join(secretsDir, p.Site)}
	p.SuperPasswordFile = filepath.Join(dirs[FromHost], SuperPasswordFile)
	var err error
	if p.password, err = p.read(p.SuperPasswordFile, FormatLine); err != nil {
		return nil, fmt.Errorf("the super user's password: %w", err)
	}
	for _, d := range docs {
		st := &Step{Doc: d, secrets: map[string]string{}, sources: map[string]string{}}
		for _, field := range sortedKeys(d.Secrets) {
			s := d.Secrets[field]
			file := filepath.Join(dirs[s.Site], filepath.FromSlash(s.File))
			v, err := p.read(file, s.Format)
			if err != nil {
				return nil, fmt.Errorf("%s.json, secret %s: %w", d.Key, field, err)
			}
			st.secrets[field], st.sources[field] = v, file
		}
		if c, k := st.secrets["cert"], st.secrets["key"]; c != "" && k != "" {
			if _, err := tls.X509KeyPair([]byte(c), []byte(k)); err != nil {
				return nil, fmt.Errorf("%s.json: %s and %s are no key pair: %w", d.Key, st.sources["cert"], st.sources["key"], err)
			}
		}
		p.Steps = append(p.Steps, st)
	}
	return p, nil
}

// ordered sorts documents parents first: by their depth (a group, its
// services, their credentials), then by key. Their parents must be
// acyclic (depths).
func ordered(docs []*Document) []*Document {
	depth, _ := depths(docs)
	docs = slices.Clone(docs)
	slices.SortStableFunc(docs, func(a, b *Document) int {
		return cmp.Or(cmp.Compare(depth[a.Key], depth[b.Key]), cmp.Compare(a.Key, b.Key))
	})
	return docs
}

// depths is each document's distance from the root of its parents.
func depths(docs []*Document) (map[string]int, error) {
	byKey := map[string]*Document{}
	for _, d := range docs {
		byKey[d.Key] = d
	}
	out := map[string]int{}
	for _, d := range docs {
		n := 0
		for p := d; p.Parent != ""; p = byKey[p.Parent] {
			if n++; n > len(docs) || byKey[p.Parent] == nil {
				return nil, fmt.Errorf("%s.json: its parents form a cycle or are missing", d.Key)
			}
		}
		out[d.Key] = n
	}
	return out, nil
}

// read reads and checks one secrets file, and remembers its value for
// Redact.
func (p *Plan) read(file, format string) (string, error) {
	b, err := inputfile.Read(file, maxSecret)
	if err != nil {
		return "", err
	}
	v := string(b)
	switch format {
	case FormatLine:
		v = strings.TrimSuffix(strings.TrimSuffix(v, "\n"), "\r")
		if strings.TrimSpace(v) == "" || strings.ContainsAny(v, "\r\n") {
			return "", fmt.Errorf("%s: want one line that is not blank", file)
		}
	case FormatCertificate:
		if err := checkPEM(b, "CERTIFICATE", func(der []byte) error { _, err := x509.ParseCertificate(der); return err }); err != nil {
			return "", fmt.Errorf("%s: %w", file, err)
		}
	case FormatPrivateKey:
		if err := checkPEM(b, "PRIVATE KEY", func(der []byte) error { return nil }); err != nil {
			return "", fmt.Errorf("%s: %w", file, err)
		}
	}
	p.secrets = append(p.secrets, v)
	for _, line := range strings.Split(v, "\n") {
		// The lines of a key, in case a server message quotes it
		// escaped; short lines (BEGIN/END) are no secret.
		if line = strings.TrimSpace(line); len(line) >= 16 && !strings.HasPrefix(line, "-----") {
			p.secrets = append(p.secrets, line)
		}
	}
	return v, nil
}

// checkPEM wants one or more PEM blocks whose type ends with typ, each
// passing parse, and nothing else but white space.
func checkPEM(b []byte, typ string, parse func([]byte) error) error {
	n := 0
	for rest := b; len(bytes.TrimSpace(rest)) > 0; n++ {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			return fmt.Errorf("want PEM %s blocks only", typ)
		}
		if !strings.HasSuffix(blk.Type, typ) {
			return fmt.Errorf("PEM block %q: want %s", blk.Type, typ)
		}
		if err := parse(blk.Bytes); err != nil {
			return fmt.Errorf("PEM block %d: %w", n+1, err)
		}
	}
	if n == 0 {
		return fmt.Errorf("no PEM %s", typ)
	}
	return nil
}

// Redact replaces every secret the plan read, and its JSON and Go
// quoted forms, in s: for server messages, which may quote a request.
func (p *Plan) Redact(s string) string {
	for _, v := range append(slices.Clone(p.secrets), p.password) {
		if v == "" {
			continue
		}
		js, _ := json.Marshal(v)
		for _, form := range []string{v, string(js[1 : len(js)-1]), strconv.Quote(v)[1 : len(strconv.Quote(v))-1]} {
			s = strings.ReplaceAll(s, form, "[redacted]")
		}
	}
	return s
}

// Body is the POST body that creates the step's resource under parentID
// ("" for none), secrets included.
func (st *Step) Body(parentID string) map[string]any {
	body := deepCopy(st.Doc.Create).(map[string]any)
	if st.Doc.Parent != "" {
		body["parent"] = parentID
	}
	if len(st.secrets) > 0 {
		tmpl := body["template"].(map[string]any) // check: secrets need a template
		for f, v := range st.secrets {
			tmpl[f] = v
		}
	}
	return body
}

// RedactedBody is Body with each secret replaced by where it is read from.
func (st *Step) RedactedBody(parentID string) map[string]any {
	body := st.Body(parentID)
	for f, src := range st.sources {
		body["template"].(map[string]any)[f] = "<secret from " + src + ">"
	}
	return body
}

// Desired is the resource as Nuvla stores it after Body created it: the
// template's fields (but href) beside the create document's own.
func (st *Step) Desired(parentID string) map[string]any {
	body := st.Body(parentID)
	tmpl, _ := body["template"].(map[string]any)
	delete(body, "template")
	for k, v := range tmpl {
		if k != "href" {
			body[k] = v
		}
	}
	return body
}

// Differs names the fields of Desired that existing (a resource as Nuvla
// answers it) lacks or holds another value of, sorted. ACLs compare
// normalised.
func (st *Step) Differs(existing map[string]any, parentID string) []string {
	var out []string
	for k, want := range st.Desired(parentID) {
		got, ok := existing[k]
		if k == "acl" {
			w, _ := want.(map[string]any)
			g, _ := got.(map[string]any)
			want, got = NormalizeACL(w), NormalizeACL(g)
		}
		if !ok || !reflect.DeepEqual(jsonValue(want), jsonValue(got)) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// Filter is the CIMI filter that finds the step's resource: by name,
// subtype and parent.
func (st *Step) Filter(parentID string) string {
	f := "name=" + Quote(st.Doc.Name)
	if st.Doc.Subtype != "" {
		f += " and subtype=" + Quote(st.Doc.Subtype)
	}
	if st.Doc.Parent != "" {
		f += " and parent=" + Quote(parentID)
	}
	return f
}

// Quote quotes a string for a CIMI filter: single quotes, with backslash
// escapes (cimi-filter-grammar.txt SingleQuoteString).
func Quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// jsonValue brings a value to the types encoding/json decodes into, so
// that what a document holds compares with what a server answers.
func jsonValue(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return v
	}
	return out
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopy(e)
		}
		return l
	}
	return v
}
