// Package nuvlaapi is a client of Nuvla's REST API (github.com/nuvla/api-server)
// and the applier of generator/registration's documents: it logs in as
// the super user and creates or updates each resource idempotently.
//
// What it relies on, from the api-server's source:
//   - routes (app/routes.clj): POST /api/<collection> creates, GET
//     /api/<collection>?filter=... searches, PUT /api/<collection>/<uuid>
//     edits (the body's keys merge into the resource, std_crud.clj
//     edit-fn), DELETE /api/session/<uuid> logs out.
//   - responses (util/response.clj): 201 {status, message, resource-id}
//     on creation; a search answers {count, resources: [...]}; an error
//     answers {status, message}.
//   - login (session_password.clj, spec/session_template_password.cljc):
//     POST /api/session {"template": {"href": "session-template/password",
//     "username", "password"}} answers 201 and sets the cookie
//     com.com.sixsq.nuvla.cookie (middleware/authn_info.clj), Secure, so
//     only sent back over https; 200 means a second factor is asked for.
package nuvlaapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"time"
)

// CookieName is the session cookie the api-server sets at login.
const CookieName = "com.com.sixsq.nuvla.cookie"

// SessionTemplate is the session template of logins with a password.
const SessionTemplate = "session-template/password"

// maxBody bounds what is read of an answer.
const maxBody = 8 << 20

// Client talks to one Nuvla over https, with the session cookie of its
// login.
type Client struct {
	base    *url.URL
	http    *http.Client
	session string // the session's id once logged in
	// Redact cleans what the server says before it goes into an error:
	// a message may quote the request, secrets and all.
	Redact func(string) string
}

// HTTPClient returns the client New uses by default: a cookie jar, no
// redirects followed (nothing is sent anywhere but the endpoint), a
// timeout, and the system's roots plus the PEM certificates of caFile
// ("" for none) to verify the endpoint with.
func HTTPClient(caFile string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		b, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("%s: no PEM certificate", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: 2 * time.Minute}, nil
}

// New returns a client of the Nuvla at endpoint (https://host[:port], no
// path). hc may be nil (HTTPClient("")); New gives it a cookie jar if it
// has none and stops it from following redirects.
func New(endpoint string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("endpoint: %w", err)
	}
	if u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("endpoint %q: want https://HOST[:PORT], where Nuvla serves /api (the password and keys go there)", endpoint)
	}
	u.Path = ""
	if hc == nil {
		if hc, err = HTTPClient(""); err != nil {
			return nil, err
		}
	}
	c := *hc
	if c.Jar == nil {
		c.Jar, _ = cookiejar.New(nil) // never fails without options
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{base: u, http: &c, Redact: func(s string) string { return s }}, nil
}

// Error is an answer the client did not want.
type Error struct {
	Method, Path string
	Status       int
	Message      string // the server's, redacted
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = "(no message)"
	}
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.Path, e.Status, http.StatusText(e.Status), msg)
}

// LoginBody is the document that opens a session with a password.
func LoginBody(username, password string) map[string]any {
	return map[string]any{"template": map[string]any{"href": SessionTemplate, "username": username, "password": password}}
}

// Login opens a session; the client sends its cookie from then on.
func (c *Client) Login(ctx context.Context, username, password string) error {
	status, body, err := c.do(ctx, http.MethodPost, "/api/session", LoginBody(username, password))
	if err != nil {
		return err
	}
	switch status {
	case http.StatusCreated:
	case http.StatusOK:
		return fmt.Errorf("user %s logs in with a second factor, which nuvlagen cannot give", username)
	default:
		return c.fail(http.MethodPost, "/api/session", status, body)
	}
	var ans struct {
		ID string `json:"resource-id"`
	}
	_ = json.Unmarshal(body, &ans) // the cookie is what matters
	c.session = ans.ID
	for _, ck := range c.http.Jar.Cookies(c.base) {
		if ck.Name == CookieName {
			return nil
		}
	}
	return fmt.Errorf("POST /api/session answered 201 but set no %s cookie (is the endpoint https?)", CookieName)
}

// Logout ends the session Login opened, if any.
func (c *Client) Logout(ctx context.Context) error {
	if c.session == "" {
		return nil
	}
	p := "/api/" + c.session
	status, body, err := c.do(ctx, http.MethodDelete, p, nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return c.fail(http.MethodDelete, p, status, body)
	}
	c.session = ""
	return nil
}

// Search returns the resources of collection that filter (CIMI syntax)
// selects.
func (c *Client) Search(ctx context.Context, collection, filter string) ([]map[string]any, error) {
	p := "/api/" + collection
	status, body, err := c.do(ctx, http.MethodGet, p+"?"+url.Values{"filter": {filter}}.Encode(), nil)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, c.fail(http.MethodGet, p, status, body)
	}
	var ans struct {
		Count     *int             `json:"count"`
		Resources []map[string]any `json:"resources"`
	}
	if err := json.Unmarshal(body, &ans); err != nil || ans.Count == nil {
		return nil, fmt.Errorf("GET %s: not a search result: %s", p, c.snippet(body))
	}
	return ans.Resources, nil
}

// Create posts body to collection and returns the new resource's id.
func (c *Client) Create(ctx context.Context, collection string, body any) (string, error) {
	p := "/api/" + collection
	status, ans, err := c.do(ctx, http.MethodPost, p, body)
	if err != nil {
		return "", err
	}
	if status != http.StatusCreated {
		return "", c.fail(http.MethodPost, p, status, ans)
	}
	var created struct {
		ID string `json:"resource-id"`
	}
	if err := json.Unmarshal(ans, &created); err != nil || !strings.HasPrefix(created.ID, collection+"/") {
		return "", fmt.Errorf("POST %s: 201 without the new %s's resource-id: %s", p, collection, c.snippet(ans))
	}
	return created.ID, nil
}

// Get returns the resource id.
func (c *Client) Get(ctx context.Context, id string) (map[string]any, error) {
	p := "/api/" + id
	status, body, err := c.do(ctx, http.MethodGet, p, nil)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, c.fail(http.MethodGet, p, status, body)
	}
	var r map[string]any
	if err := json.Unmarshal(body, &r); err != nil || r["id"] != id {
		return nil, fmt.Errorf("GET %s: not the resource %s: %s", p, id, c.snippet(body))
	}
	return r, nil
}

// Edit puts body's fields into the resource id.
func (c *Client) Edit(ctx context.Context, id string, body any) error {
	p := "/api/" + id
	status, ans, err := c.do(ctx, http.MethodPut, p, body)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return c.fail(http.MethodPut, p, status, ans)
	}
	return nil
}

func (c *Client) do(ctx context.Context, method, pathQuery string, body any) (int, []byte, error) {
	p, _, _ := strings.Cut(pathQuery, "?")
	return doJSON(ctx, c.http, method, c.base.String()+pathQuery, p, body)
}

// doJSON sends body (nil: none) as JSON and returns the answer's status
// and body, up to maxBody: Nuvla's API and Elasticsearch's alike. Errors
// name the request by method and shown, its path without the query.
func doJSON(ctx context.Context, hc *http.Client, method, url, shown string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		// url.Error quotes the URL, which holds no secret.
		return 0, nil, fmt.Errorf("%s %s: %w", method, shown, err)
	}
	defer resp.Body.Close()
	ans, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: reading the answer: %w", method, shown, err)
	}
	return resp.StatusCode, ans, nil
}

// fail makes the Error of an unwanted answer, with the server's message.
func (c *Client) fail(method, p string, status int, body []byte) error {
	var ans struct {
		Message string `json:"message"`
	}
	msg := c.snippet(body)
	if json.Unmarshal(body, &ans) == nil && ans.Message != "" {
		msg = c.snippet([]byte(ans.Message))
	}
	return &Error{Method: method, Path: p, Status: status, Message: msg}
}

// snippet is the start of an answer, redacted, for messages: redacted
// whole first, for a cut must not leave half a secret.
func (c *Client) snippet(b []byte) string {
	s := c.Redact(strings.TrimSpace(string(b)))
	if len(s) > 1000 {
		s = strings.ToValidUTF8(s[:1000], "") + "..."
	}
	return s
}

// IsStatus reports whether err is an answer with that status.
func IsStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}
