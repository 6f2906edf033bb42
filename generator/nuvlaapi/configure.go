package nuvlaapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/nuvla/nuvlagen/generator/configure"
	"github.com/nuvla/nuvlagen/generator/registration"
)

// Kinds of object Configure reports on (Result.Resource).
const (
	KindConfiguration = "configuration"
	KindRepository    = "snapshot-repository"
	KindPolicy        = "slm-policy"
)

// Configure sets what a host site's document says in its running Nuvla,
// each object read first and written only where it differs: a re-run
// writes nothing. Nuvla's configuration/nuvla as the super user (the
// changed fields only, which the api-server merges in), then the
// snapshot repository and its lifecycle policy in Elasticsearch (es,
// which may be nil when the document has none). It stops at the first
// failure, saying which object, and logs out in any case.
func Configure(ctx context.Context, c *Client, es *ES, p *configure.Plan, report func(Result)) error {
	if p.Doc.Nuvla != nil {
		r, err := configureNuvla(ctx, c, p)
		if err != nil {
			return fmt.Errorf("%s: %w", configure.NuvlaConfiguration, err)
		}
		report(r)
	}
	if e := p.Doc.Elasticsearch; e != nil {
		if es == nil {
			return errors.New("the document configures Elasticsearch, and no client reaches it")
		}
		for _, obj := range []struct {
			kind, path string
			named      configure.Named
			current    func(map[string]any) map[string]any
		}{
			{KindRepository, "/_snapshot/", e.Repository, func(m map[string]any) map[string]any { return m }},
			// GET _slm/policy/<id> answers the policy under "policy",
			// beside its version and dates.
			{KindPolicy, "/_slm/policy/", e.Policy, func(m map[string]any) map[string]any { p, _ := m["policy"].(map[string]any); return p }},
		} {
			r, err := configureES(ctx, es, obj.kind, obj.path+obj.named.Name, obj.named, obj.current)
			if err != nil {
				return fmt.Errorf("%s %s: %w", obj.kind, obj.named.Name, err)
			}
			report(r)
		}
	}
	return nil
}

func configureNuvla(ctx context.Context, c *Client, p *configure.Plan) (r Result, err error) {
	c.Redact = p.Redact
	id := configure.NuvlaConfiguration
	r = Result{Resource: KindConfiguration, Name: strings.TrimPrefix(id, "configuration/"), ID: id}
	if err := c.Login(ctx, registration.SuperUser, p.Password()); err != nil {
		return r, fmt.Errorf("logging in to %s as %s (password from %s): %w", c.base, registration.SuperUser, p.SuperPasswordFile, err)
	}
	defer func() {
		if lerr := c.Logout(ctx); lerr != nil {
			err = errors.Join(err, fmt.Errorf("logging out: %w", lerr))
		}
	}()
	got, err := c.Get(ctx, id)
	if err != nil {
		return r, err
	}
	want := p.NuvlaFields()
	r.Action = Unchanged
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if !reflect.DeepEqual(jsonValue(want[k]), jsonValue(got[k])) {
			r.Fields = append(r.Fields, k)
		}
	}
	if len(r.Fields) == 0 {
		return r, nil
	}
	body := map[string]any{}
	for _, k := range r.Fields {
		body[k] = want[k]
	}
	r.Action = Updated
	return r, c.Edit(ctx, id, body)
}

// configureES reads the object at p, and puts named's body there when it
// is missing or differs on a field the body sets. Elasticsearch answers
// an object under its name; current picks the part that compares with
// the body.
func configureES(ctx context.Context, es *ES, kind, p string, named configure.Named, current func(map[string]any) map[string]any) (Result, error) {
	r := Result{Resource: kind, Name: named.Name, ID: strings.TrimPrefix(p, "/")}
	ans, found, err := es.get(ctx, p)
	if err != nil {
		return r, err
	}
	if !found {
		r.Action = Created
		return r, es.put(ctx, p, named.Body)
	}
	obj, _ := ans[named.Name].(map[string]any)
	if obj == nil {
		return r, fmt.Errorf("GET %s: the answer holds no %s", p, named.Name)
	}
	r.Action = Unchanged
	if r.Fields = differs(named.Body, current(obj), ""); len(r.Fields) > 0 {
		r.Action = Updated
		err = es.put(ctx, p, named.Body)
	}
	return r, err
}

// differs names the fields of want that got lacks or holds another value
// of, nested ones as a.b, sorted. Elasticsearch answers a repository's
// settings as strings whatever they were sent as ("true", "9000"), so a
// scalar compares with the string of it too.
func differs(want, got map[string]any, prefix string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		w, g := jsonValue(want[k]), jsonValue(got[k])
		if wm, ok := w.(map[string]any); ok {
			gm, _ := g.(map[string]any)
			out = append(out, differs(wm, gm, prefix+k+".")...)
			continue
		}
		if !reflect.DeepEqual(w, g) && !(isScalar(w) && scalarString(w) == g) {
			out = append(out, prefix+k)
		}
	}
	return out
}

func isScalar(v any) bool {
	switch v.(type) {
	case bool, float64:
		return true
	}
	return false
}

func scalarString(v any) any {
	switch x := v.(type) {
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return v
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

// DryRunConfigure prints the requests of a first configuration, each
// secret replaced by the file it is read from: for Nuvla the login, the
// read and the PUT of every field; for Elasticsearch, how it is reached
// and each object's read and PUT. It sends nothing.
func DryRunConfigure(w io.Writer, endpoint string, p *configure.Plan) error {
	endpoint = strings.TrimSuffix(endpoint, "/")
	var b strings.Builder
	req := func(method, url string, body any) {
		fmt.Fprintf(&b, "%s %s\n", method, url)
		if body != nil {
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			_ = enc.Encode(body) // maps of JSON values
		}
	}
	fmt.Fprintf(&b, "# dry run: the requests that configure site %s the first time; nothing is sent.\n", p.Doc.Site)
	fmt.Fprintf(&b, "# Each object is read first and written only where it differs (Nuvla: only the fields that differ).\n")
	if p.Doc.Nuvla != nil {
		api := endpoint + "/api/"
		req(http.MethodPost, api+"session", LoginBody(registration.SuperUser, "<secret from "+p.SuperPasswordFile+">"))
		req(http.MethodGet, api+configure.NuvlaConfiguration, nil)
		req(http.MethodPut, api+configure.NuvlaConfiguration, p.RedactedNuvlaFields())
		req(http.MethodDelete, api+"<session id>", nil)
	}
	if e := p.Doc.Elasticsearch; e != nil {
		t := &DockerTransport{Network: e.Network, Image: e.Image}
		probe, _ := http.NewRequest(http.MethodGet, e.URL+"/", nil)
		fmt.Fprintf(&b, "# Elasticsearch, each request from a one-off container: docker %s\n", strings.Join(t.Args(probe), " "))
		for _, o := range []struct {
			path string
			n    configure.Named
		}{{"/_snapshot/", e.Repository}, {"/_slm/policy/", e.Policy}} {
			req(http.MethodGet, e.URL+o.path+o.n.Name, nil)
			req(http.MethodPut, e.URL+o.path+o.n.Name, o.n.Body)
		}
	}
	// Nothing above holds a secret; redact anyway.
	_, err := io.WriteString(w, p.Redact(b.String()))
	return err
}

// Configuration is what `nuvlagen configure` is asked to do: apply the
// document in Dir with the deployment secrets in Secrets, to Nuvla at
// Endpoint ("" for the document's) trusting CACert too when set, and to
// Elasticsearch through Docker (the docker CLI at Docker, "" for PATH's);
// with DryRun, print the requests and send none.
type Configuration struct {
	Dir, Secrets, Endpoint, CACert, Docker string
	DryRun                                 bool
}

// RunConfigure reads the document and its secrets, and applies them (or
// prints them, dry), reporting each object's result to w. It returns the
// configured site's name. A usage problem (the endpoint, the CA file) is
// a *UsageError.
func RunConfigure(ctx context.Context, cf Configuration, w io.Writer) (string, error) {
	doc, err := configure.ReadDir(cf.Dir)
	if err != nil {
		return "", err
	}
	if cf.Endpoint == "" {
		cf.Endpoint = doc.Endpoint
	}
	hc, err := HTTPClient(cf.CACert)
	client, err2 := New(cf.Endpoint, hc)
	if err = errors.Join(err, err2); err != nil {
		return "", &UsageError{err}
	}
	plan, err := configure.NewPlan(doc, cf.Secrets)
	if err != nil {
		return "", err
	}
	if cf.DryRun {
		return doc.Site, DryRunConfigure(w, cf.Endpoint, plan)
	}
	var es *ES
	if e := doc.Elasticsearch; e != nil {
		es = NewES(e.URL, &http.Client{Transport: &DockerTransport{Docker: cf.Docker, Network: e.Network, Image: e.Image}})
	}
	return doc.Site, Configure(ctx, client, es, plan, func(r Result) { fmt.Fprintln(w, r) })
}
