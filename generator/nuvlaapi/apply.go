package nuvlaapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/nuvla/nuvlagen/generator/registration"
)

// Actions of a Result.
const (
	Created   = "created"
	Updated   = "updated"
	Unchanged = "unchanged"
)

// Result is what Apply did with one resource.
type Result struct {
	Key      string // the document's
	Resource string // its collection
	Name     string
	ID       string
	Action   string   // Created, Updated or Unchanged
	Fields   []string // the fields an update changed, by name
}

func (r Result) String() string {
	s := fmt.Sprintf("%-9s %s %q (%s)", r.Action, r.Resource, r.Name, r.ID)
	if len(r.Fields) > 0 {
		s += ": " + strings.Join(r.Fields, ", ")
	}
	return s
}

// Apply logs in as the super user and registers the plan's resources in
// order: each is searched for by name, subtype and parent; created when
// there is none, updated with PUT when it differs, left alone when
// equal. It stops at the first failure, saying which resource, and logs
// out in any case. report gets each resource done.
func Apply(ctx context.Context, c *Client, p *registration.Plan, report func(Result)) (err error) {
	c.Redact = p.Redact
	if err := c.Login(ctx, registration.SuperUser, p.Password()); err != nil {
		return fmt.Errorf("logging in to %s as %s (password from %s): %w", c.base, registration.SuperUser, p.SuperPasswordFile, err)
	}
	defer func() {
		if lerr := c.Logout(ctx); lerr != nil {
			err = errors.Join(err, fmt.Errorf("logging out: %w", lerr))
		}
	}()
	ids := map[string]string{} // document key → resource id
	for _, st := range p.Steps {
		d := st.Doc
		r, err := step(ctx, c, st, ids[d.Parent])
		if err != nil {
			return fmt.Errorf("%s %q (%s.json): %w", d.Resource, d.Name, d.Key, err)
		}
		ids[d.Key] = r.ID
		report(r)
	}
	return nil
}

func step(ctx context.Context, c *Client, st *registration.Step, parent string) (Result, error) {
	d := st.Doc
	r := Result{Key: d.Key, Resource: d.Resource, Name: d.Name}
	found, err := c.Search(ctx, d.Resource, st.Filter(parent))
	if err != nil {
		return r, err
	}
	switch len(found) {
	case 0:
		r.ID, err = c.Create(ctx, d.Resource, st.Body(parent))
		r.Action = Created
		return r, err
	case 1:
	default:
		var ids []string
		for _, f := range found {
			ids = append(ids, fmt.Sprint(f["id"]))
		}
		return r, fmt.Errorf("%d resources match %s: %s; delete all but one", len(found), st.Filter(parent), strings.Join(ids, ", "))
	}
	id, _ := found[0]["id"].(string)
	if !strings.HasPrefix(id, d.Resource+"/") {
		return r, fmt.Errorf("the search found a resource without a %s id", d.Resource)
	}
	r.ID, r.Action = id, Unchanged
	if r.Fields = st.Differs(found[0], parent); len(r.Fields) > 0 {
		r.Action = Updated
		err = c.Edit(ctx, id, st.Desired(parent))
	}
	return r, err
}

// DryRun prints the requests of a first registration of the plan at
// endpoint, each secret replaced by the file it is read from and each
// parent's id by its document: the login, and for each resource the
// search that finds it and the POST that creates it. It sends nothing.
func DryRun(w io.Writer, endpoint string, p *registration.Plan) error {
	endpoint = strings.TrimSuffix(endpoint, "/")
	var b strings.Builder
	req := func(method, path string, body any) {
		fmt.Fprintf(&b, "%s %s%s\n", method, endpoint, path)
		if body != nil {
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			_ = enc.Encode(body) // maps of JSON values
		}
	}
	fmt.Fprintf(&b, "# dry run: the requests that register site %s the first time; nothing is sent.\n", p.Site)
	fmt.Fprintf(&b, "# A resource that exists already is compared and, where it differs, updated with PUT.\n")
	req(http.MethodPost, "/api/session", LoginBody(registration.SuperUser, "<secret from "+p.SuperPasswordFile+">"))
	for _, st := range p.Steps {
		d := st.Doc
		parent := "<id of " + d.Parent + ".json>"
		// The filter printed as it reads, not URL-encoded as it is sent.
		req(http.MethodGet, "/api/"+d.Resource+"?filter="+st.Filter(parent), nil)
		req(http.MethodPost, "/api/"+d.Resource, st.RedactedBody(parent))
	}
	req(http.MethodDelete, "/api/<session id>", nil)
	// Nothing above holds a secret; redact anyway, should a document
	// have quoted one.
	_, err := io.WriteString(w, p.Redact(b.String()))
	return err
}

// Registration is what `nuvlagen register` is asked to do: apply the
// documents in Dir with the deployment secrets in Secrets (the host
// site's name is Host) to Nuvla at Endpoint, trusting CACert too when
// set; with DryRun, print the requests and send none.
type Registration struct {
	Dir, Secrets, Host, Endpoint, CACert string
	DryRun                               bool
}

// Register reads the documents and their secrets, and applies them (or
// prints them, dry), reporting each resource's result to w. It returns
// the registered site's name. A usage problem (the endpoint, the CA
// file) is a *UsageError; anything else is about the documents, the
// secrets or Nuvla's answers.
func Register(ctx context.Context, r Registration, w io.Writer) (string, error) {
	hc, err := HTTPClient(r.CACert)
	client, err2 := New(r.Endpoint, hc) // hc nil: the default
	if err = errors.Join(err, err2); err != nil {
		return "", &UsageError{err}
	}
	docs, err := registration.ReadDir(r.Dir)
	if err != nil {
		return "", err
	}
	plan, err := registration.NewPlan(docs, r.Secrets, r.Host)
	if err != nil {
		return "", err
	}
	if r.DryRun {
		return plan.Site, DryRun(w, r.Endpoint, plan)
	}
	return plan.Site, Apply(ctx, client, plan, func(res Result) { fmt.Fprintln(w, res) })
}

// UsageError is a problem with how Register was asked, not with what it
// read or what Nuvla answered.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }
