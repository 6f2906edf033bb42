package nuvlaapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/nuvla/nuvlagen/generator/registration"
)

// fakeNuvla plays the api-server for the registration's requests: it
// checks each request against the specs the documents follow (the same
// files registration's package comment names) and answers as
// util/response.clj does. It records every request, in order.
type fakeNuvla struct {
	t        *testing.T
	srv      *httptest.Server
	user     string
	password string

	mu       sync.Mutex
	cookies  map[string]string // cookie value → session id
	res      map[string]map[string]any
	next     int
	log      []record
	noCookie bool // answer a login without setting the cookie
	twoFA    bool // answer a login as one asking for a second factor
	// fail, when it returns a status, answers the request with it.
	fail func(r record) (status int, msg string)
}

type record struct {
	Method, Path string
	Query        string // the filter of a search
	Body         map[string]any
}

func (r record) String() string { return r.Method + " " + r.Path }

func newFake(t *testing.T, user, password string) *fakeNuvla {
	f := &fakeNuvla{t: t, user: user, password: password, cookies: map[string]string{}, res: map[string]map[string]any{}}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// client is a Client of the fake, trusting its certificate.
func (f *fakeNuvla) client(t *testing.T) *Client {
	t.Helper()
	c, err := New(f.srv.URL, f.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fakeNuvla) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.log {
		p := r.Path
		if strings.HasPrefix(p, "/api/session/") {
			p = "/api/session/ID"
		}
		out = append(out, r.Method+" "+p)
	}
	return out
}

func (f *fakeNuvla) records() []record {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.log)
}

// add stores a resource as if created earlier, and returns its id.
func (f *fakeNuvla) add(collection string, r map[string]any) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addLocked(collection, r)
}

func (f *fakeNuvla) addLocked(collection string, r map[string]any) string {
	f.next++
	id := fmt.Sprintf("%s/%08d-0000-4000-8000-000000000000", collection, f.next)
	r["id"], r["resource-type"] = id, collection
	if acl, ok := r["acl"].(map[string]any); ok {
		r["acl"] = registration.NormalizeACL(acl)
	}
	f.res[id] = r
	return id
}

// find returns the stored resources of collection whose field equals value.
func (f *fakeNuvla) find(collection, field, value string) []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []map[string]any
	for _, id := range sortedIDs(f.res) {
		r := f.res[id]
		if r["resource-type"] == collection && r[field] == value {
			out = append(out, r)
		}
	}
	return out
}

func sortedIDs(m map[string]map[string]any) []string {
	var ids []string
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func answer(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// errorAnswer is map-response's body.
func errorAnswer(w http.ResponseWriter, status int, msg string) {
	answer(w, status, map[string]any{"status": status, "message": msg})
}

func (f *fakeNuvla) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rec := record{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query().Get("filter")}
	if r.ContentLength != 0 && r.Body != nil {
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			f.t.Errorf("%s %s: content type %q, want application/json", r.Method, r.URL.Path, ct)
		}
		dec := json.NewDecoder(r.Body)
		dec.UseNumber()
		if err := dec.Decode(&rec.Body); err != nil {
			f.log = append(f.log, rec)
			errorAnswer(w, 400, "malformed JSON: "+err.Error())
			return
		}
	}
	f.log = append(f.log, rec)
	if a := r.Header.Get("Accept"); a != "application/json" {
		f.t.Errorf("%s: Accept %q, want application/json", rec, a)
	}
	login := r.Method == http.MethodPost && r.URL.Path == "/api/session"
	session := ""
	if !login {
		ck, err := r.Cookie(CookieName)
		if err == nil {
			session = f.cookies[ck.Value]
		}
		if session == "" {
			f.t.Errorf("%s: no session cookie", rec)
			errorAnswer(w, 403, "credentials required")
			return
		}
	}
	if f.fail != nil {
		if status, msg := f.fail(rec); status != 0 {
			errorAnswer(w, status, msg)
			return
		}
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/api/"), "/")
	switch {
	case login:
		f.login(w, rec)
	case r.Method == http.MethodDelete && len(parts) == 2 && parts[0] == "session":
		id := "session/" + parts[1]
		if id != session {
			errorAnswer(w, 404, id+" not found")
			return
		}
		for v, s := range f.cookies {
			if s == id {
				delete(f.cookies, v)
			}
		}
		http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", MaxAge: -1, Path: "/", Secure: true})
		answer(w, 200, map[string]any{"status": 200, "message": id + " deleted", "resource-id": id})
	case r.Method == http.MethodGet && len(parts) == 1:
		f.search(w, parts[0], rec.Query)
	case r.Method == http.MethodGet && len(parts) == 2:
		f.retrieve(w, parts[0]+"/"+parts[1])
	case r.Method == http.MethodPost && len(parts) == 1:
		f.create(w, parts[0], rec.Body)
	case r.Method == http.MethodPut && len(parts) == 2:
		f.edit(w, parts[0]+"/"+parts[1], rec.Body)
	default:
		errorAnswer(w, 405, fmt.Sprintf("invalid method (%s) for %s", strings.ToLower(r.Method), r.URL.Path))
	}
}

func (f *fakeNuvla) login(w http.ResponseWriter, rec record) {
	// spec/session_template_password.cljc: template with href, username
	// and password, nothing else.
	tmpl, ok := rec.Body["template"].(map[string]any)
	if err := onlyKeys(rec.Body, "template"); err != nil || !ok {
		errorAnswer(w, 400, fmt.Sprintf("resource does not satisfy defined schema: %v", err))
		return
	}
	if err := onlyKeys(tmpl, "href", "username", "password"); err != nil || tmpl["href"] != SessionTemplate ||
		!nonblank(tmpl["username"]) || !nonblank(tmpl["password"]) {
		errorAnswer(w, 400, fmt.Sprintf("resource does not satisfy defined schema: %v", tmpl))
		return
	}
	if tmpl["username"] != f.user || tmpl["password"] != f.password {
		errorAnswer(w, 403, fmt.Sprintf("invalid credentials for '%s'", tmpl["username"]))
		return
	}
	f.next++
	id := fmt.Sprintf("session/%08d-1111-4000-8000-000000000000", f.next)
	if f.twoFA {
		answer(w, 200, map[string]any{"status": 200, "message": "Authorization code requested", "resource-id": id})
		return
	}
	if !f.noCookie {
		v := fmt.Sprintf("token-%d", f.next)
		f.cookies[v] = id
		http.SetCookie(w, &http.Cookie{Name: CookieName, Value: v, Path: "/", Secure: true, HttpOnly: true})
	}
	w.Header().Set("Location", id)
	answer(w, 201, map[string]any{"status": 201, "message": id + " created", "resource-id": id})
}

var filterTerm = regexp.MustCompile(`^([a-z][a-z-]*)='((?:[^'\\]|\\.)*)'(?: and |$)`)

func (f *fakeNuvla) search(w http.ResponseWriter, collection, filter string) {
	want := map[string]string{}
	for rest := filter; rest != ""; {
		m := filterTerm.FindStringSubmatch(rest)
		if m == nil {
			errorAnswer(w, 400, "Invalid CIMI filter. "+filter)
			return
		}
		want[m[1]] = strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(m[2])
		rest = rest[len(m[0]):]
	}
	if filter == "" {
		f.t.Errorf("GET /api/%s without a filter", collection)
	}
	found := []map[string]any{}
	for _, id := range sortedIDs(f.res) {
		r := f.res[id]
		match := r["resource-type"] == collection
		for k, v := range want {
			match = match && r[k] == v
		}
		if match {
			found = append(found, r)
		}
	}
	answer(w, 200, map[string]any{"count": len(found), "resources": found, "resource-type": collection + "-collection", "id": collection})
}

// Fields of the create documents and of edits, per spec (see
// registration's package comment).
var (
	descKeys = []string{"name", "description", "tags", "parent", "acl"} // utils.clj select-desc-keys
	credTmpl = map[string][]string{
		"credential-template/infrastructure-service-swarm": {"ca", "cert", "key"},
		"credential-template/infrastructure-service-minio": {"access-key", "secret-key"},
	}
	serviceTmplKeys = []string{"href", "subtype", "endpoint", "state", "swarm-enabled", "swarm-manager", "online", "capabilities"}
	serviceHref     = regexp.MustCompile(`^infrastructure-service-template/[a-z]+(-[a-z]+)*$`)
	identifier      = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
)

func (f *fakeNuvla) create(w http.ResponseWriter, collection string, body map[string]any) {
	bad := func(format string, args ...any) {
		errorAnswer(w, 400, "resource does not satisfy defined schema:\n"+fmt.Sprintf(format, args...))
	}
	if err := checkDesc(body); err != nil {
		bad("%v", err)
		return
	}
	r := map[string]any{}
	for _, k := range descKeys {
		if v, ok := body[k]; ok {
			r[k] = v
		}
	}
	tmpl, _ := body["template"].(map[string]any)
	switch collection {
	case registration.Group:
		// spec/infrastructure_service_group.cljc: common attributes.
		if err := onlyKeys(body, append(descKeys, "documentation")...); err != nil {
			bad("%v", err)
			return
		}
	case registration.Service:
		if err := onlyKeys(body, append(descKeys, "template")...); err != nil {
			bad("%v", err)
			return
		}
		if tmpl == nil || onlyKeys(tmpl, serviceTmplKeys...) != nil {
			bad("template %v: want only %v", tmpl, serviceTmplKeys)
			return
		}
		href, _ := tmpl["href"].(string)
		if !serviceHref.MatchString(href) || href != "infrastructure-service-template/generic" {
			errorAnswer(w, 400, fmt.Sprintf("cannot resolve %v", tmpl["href"]))
			return
		}
		sub, _ := tmpl["subtype"].(string)
		end, _ := tmpl["endpoint"].(string)
		if !identifier.MatchString(sub) || !strings.HasPrefix(end, "https://") {
			bad("subtype %v, endpoint %v", tmpl["subtype"], tmpl["endpoint"])
			return
		}
		// The resource's doc: it must reference its group.
		if !f.isA(r["parent"], registration.Group) {
			bad("parent %v is no infrastructure-service-group", r["parent"])
			return
		}
		r["subtype"], r["endpoint"], r["method"], r["state"] = sub, end, "generic", "STARTED"
	case registration.Credential:
		if err := onlyKeys(body, append(descKeys, "template")...); err != nil || tmpl == nil {
			bad("%v", err)
			return
		}
		href, _ := tmpl["href"].(string)
		fields, ok := credTmpl[href]
		if !ok {
			errorAnswer(w, 400, fmt.Sprintf("cannot resolve %v", tmpl["href"]))
			return
		}
		if err := onlyKeys(tmpl, append([]string{"href"}, fields...)...); err != nil {
			bad("%v: %v", err, tmpl) // quotes the request, as expound does
			return
		}
		for _, k := range fields {
			if !nonblank(tmpl[k]) {
				bad("template.%s: want a nonblank string", k)
				return
			}
			r[k] = tmpl[k]
		}
		// spec/credential_infrastructure_service.cljc: parent required.
		if !f.isA(r["parent"], registration.Service) {
			bad("parent %v is no infrastructure-service", r["parent"])
			return
		}
		sub := strings.TrimPrefix(href, "credential-template/")
		r["subtype"], r["method"] = sub, sub
	default:
		errorAnswer(w, 404, "unknown resource")
		return
	}
	id := f.addLocked(collection, r)
	w.Header().Set("Location", id)
	answer(w, 201, map[string]any{"status": 201, "message": id + " created", "resource-id": id})
}

// editable are the keys an edit may hold, per collection (the resource
// schemas are only-keys maps: an unknown key fails validation).
var editable = map[string][]string{
	registration.Group:      {"name", "description", "tags", "acl", "documentation"},
	registration.Service:    {"name", "description", "tags", "acl", "parent", "subtype", "endpoint", "state"},
	registration.Credential: {"name", "description", "tags", "acl", "parent", "ca", "cert", "key", "access-key", "secret-key"},
	// spec/configuration_template_nuvla.cljc configuration-template-keys-spec
	// (the nuvla configuration's own keys), beside the common attributes.
	"configuration": {"name", "description", "tags", "acl", "smtp-username", "smtp-password", "smtp-host", "smtp-port", "smtp-ssl",
		"smtp-debug", "smtp-xoauth2", "smtp-xoauth2-config", "support-email", "stripe-api-key", "stripe-client-id",
		"external-vulnerabilities-db", "conditions-url", "email-header-img-url", "authorized-redirect-urls"},
}

// nuvlaEmail is core.cljc's email-regex.
var nuvlaEmail = regexp.MustCompile(`^[a-zA-Z0-9.!#$%&'*+\/=?^_` + "`" + `{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$`)

// checkConfigurationNuvla checks the types of the nuvla configuration's
// fields (spec/configuration_template_nuvla.cljc): nonblank strings,
// core/port (an integer 1-65535), booleans, core/email. The message
// quotes the document, as the api-server's does, secrets and all.
func checkConfigurationNuvla(r map[string]any) error {
	bad := func(k string) error { return fmt.Errorf("resource does not satisfy defined schema: %s in %v", k, r) }
	for k, v := range r {
		switch k {
		case "smtp-username", "smtp-password", "smtp-host":
			if !nonblank(v) {
				return bad(k)
			}
		case "smtp-port":
			n, ok := v.(json.Number)
			i, err := n.Int64()
			if !ok || err != nil || i < 1 || i > 65535 {
				return bad(k)
			}
		case "smtp-ssl", "smtp-debug":
			if _, ok := v.(bool); !ok {
				return bad(k)
			}
		case "support-email":
			if s, ok := v.(string); !ok || !nuvlaEmail.MatchString(s) {
				return bad(k)
			}
		}
	}
	return nil
}

// retrieve answers GET /api/<id>, as std_crud.clj retrieve-fn does.
func (f *fakeNuvla) retrieve(w http.ResponseWriter, id string) {
	r, ok := f.res[id]
	if !ok {
		errorAnswer(w, 404, id+" not found")
		return
	}
	answer(w, 200, r)
}

func (f *fakeNuvla) edit(w http.ResponseWriter, id string, body map[string]any) {
	r, ok := f.res[id]
	if !ok {
		errorAnswer(w, 404, id+" not found")
		return
	}
	coll := r["resource-type"].(string)
	if err := onlyKeys(body, editable[coll]...); err != nil {
		errorAnswer(w, 400, "resource "+id+" does not satisfy defined schema: "+err.Error())
		return
	}
	if err := checkDesc(body); err != nil {
		errorAnswer(w, 400, err.Error())
		return
	}
	if coll == "configuration" {
		if err := checkConfigurationNuvla(body); err != nil {
			errorAnswer(w, 400, err.Error())
			return
		}
	}
	for k, v := range body {
		r[k] = v
	}
	r["acl"] = registration.NormalizeACL(r["acl"].(map[string]any))
	answer(w, 200, r)
}

func (f *fakeNuvla) isA(id any, collection string) bool {
	s, _ := id.(string)
	r, ok := f.res[s]
	return ok && r["resource-type"] == collection
}

// checkDesc checks the common attributes' types (spec/common.cljc,
// spec/acl_resource.cljc).
func checkDesc(body map[string]any) error {
	if v, ok := body["name"]; ok && !nonblank(v) {
		return fmt.Errorf("name %v: want a nonblank string", v)
	}
	if v, ok := body["description"]; ok {
		if _, s := v.(string); !s {
			return fmt.Errorf("description %v: want a string", v)
		}
	}
	if v, ok := body["acl"]; ok {
		acl, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("acl %v: want a map", v)
		}
		rights := []string{"owners", "view-meta", "view-data", "view-acl", "edit-meta", "edit-data", "edit-acl", "manage", "delete"}
		if err := onlyKeys(acl, rights...); err != nil {
			return err
		}
		for k, ps := range acl {
			l, ok := ps.([]any)
			if !ok || (k == "owners" && len(l) == 0) {
				return fmt.Errorf("acl.%s %v: want a list of principals", k, ps)
			}
			for _, p := range l {
				if !nonblank(p) {
					return fmt.Errorf("acl.%s: principal %v", k, p)
				}
			}
		}
		if _, ok := acl["owners"]; !ok {
			return fmt.Errorf("acl without owners")
		}
	}
	return nil
}

func onlyKeys(m map[string]any, keys ...string) error {
	for k := range m {
		if !slices.Contains(keys, k) {
			return fmt.Errorf("unknown key %q", k)
		}
	}
	return nil
}

func nonblank(v any) bool {
	s, ok := v.(string)
	return ok && strings.TrimSpace(s) != ""
}
