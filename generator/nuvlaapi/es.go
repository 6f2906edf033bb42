package nuvlaapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// ES is a client of Elasticsearch's REST API (Nuvla's database), for
// the snapshot repository and lifecycle policy of nuvlagen configure.
// Errors answer {"error": {"type", "reason", "root_cause": [...]},
// "status"}, which Error's message condenses.
type ES struct {
	base string // http://host:port, no path
	http *http.Client
}

// NewES returns a client of the Elasticsearch at base; hc nil is
// http.DefaultClient's transport with a timeout.
func NewES(base string, hc *http.Client) *ES {
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Minute}
	}
	return &ES{base: strings.TrimSuffix(base, "/"), http: hc}
}

// get returns the object at p, and false when Elasticsearch answers 404
// (no such repository or policy).
func (e *ES) get(ctx context.Context, p string) (map[string]any, bool, error) {
	status, body, err := e.do(ctx, http.MethodGet, p, nil)
	if err != nil {
		return nil, false, err
	}
	if status == http.StatusNotFound {
		return nil, false, nil
	}
	if status != http.StatusOK {
		return nil, false, esFail(http.MethodGet, p, status, body)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, false, fmt.Errorf("GET %s: not JSON: %s", p, snippet(body))
	}
	return m, true, nil
}

// put sends body to p and wants {"acknowledged": true}.
func (e *ES) put(ctx context.Context, p string, body any) error {
	status, ans, err := e.do(ctx, http.MethodPut, p, body)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return esFail(http.MethodPut, p, status, ans)
	}
	var ack struct {
		Acknowledged bool `json:"acknowledged"`
	}
	if json.Unmarshal(ans, &ack) != nil || !ack.Acknowledged {
		return fmt.Errorf("PUT %s: not acknowledged: %s", p, snippet(ans))
	}
	return nil
}

func (e *ES) do(ctx context.Context, method, p string, body any) (int, []byte, error) {
	return doJSON(ctx, e.http, method, e.base+p, p, body)
}

// esFail makes the Error of an unwanted answer: the error's type and
// reason, and the root cause's when it says more (a repository's
// verification failing on S3 says why there).
func esFail(method, p string, status int, body []byte) error {
	type cause struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	}
	var ans struct {
		Error struct {
			cause
			RootCause []cause `json:"root_cause"`
			CausedBy  *cause  `json:"caused_by"`
		} `json:"error"`
	}
	msg := snippet(body)
	if json.Unmarshal(body, &ans) == nil && ans.Error.Reason != "" {
		parts := []string{ans.Error.Type + ": " + ans.Error.Reason}
		for _, c := range append(ans.Error.RootCause, deref(ans.Error.CausedBy)...) {
			if s := c.Type + ": " + c.Reason; c.Reason != "" && !slices.Contains(parts, s) {
				parts = append(parts, s)
			}
		}
		msg = snippet([]byte(strings.Join(parts, "; ")))
	}
	return &Error{Method: method, Path: p, Status: status, Message: msg}
}

func deref[T any](p *T) []T {
	if p == nil {
		return nil
	}
	return []T{*p}
}

// snippet is the start of an answer, for messages. Elasticsearch's
// answers here hold no secret: the S3 keys are in its keystore, never in
// a request.
func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 1000 {
		s = strings.ToValidUTF8(s[:1000], "") + "..."
	}
	return s
}

// DockerTransport sends each request from a one-off container: the
// Elasticsearch of a host site listens on the backend overlay network
// only, which is attachable (so `docker run --network` can join it from
// a manager), and the Elasticsearch image has curl. The request's body
// goes through the container's stdin, the answer comes back as curl
// --include prints it, and is read as an HTTP response.
type DockerTransport struct {
	Docker  string // the docker CLI; "" for "docker" on PATH
	Network string
	Image   string
}

// Args are the docker CLI's arguments for req.
func (t *DockerTransport) Args(req *http.Request) []string {
	args := []string{"run", "--rm", "-i", "--network", t.Network, "--entrypoint", "curl", t.Image,
		"--silent", "--show-error", "--include", "--max-time", "300",
		// No "Expect: 100-continue" for large bodies: one answer only.
		"--request", req.Method, "--header", "Expect:"}
	for _, k := range slices.Sorted(maps.Keys(req.Header)) {
		for _, v := range req.Header[k] {
			args = append(args, "--header", k+": "+v)
		}
	}
	if req.Body != nil && req.Body != http.NoBody {
		args = append(args, "--data-binary", "@-")
	}
	return append(args, req.URL.String())
}

// RoundTrip runs the request in a container.
func (t *DockerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	docker := t.Docker
	if docker == "" {
		docker = "docker"
	}
	cmd := exec.CommandContext(req.Context(), docker, t.Args(req)...)
	if req.Body != nil {
		defer req.Body.Close()
		if req.Body != http.NoBody {
			cmd.Stdin = req.Body
		}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("curl in a container of %s on network %s: %w: %s (is the db stack up?)", t.Image, t.Network, err, tail(stderr.String()))
	}
	resp, err := http.ReadResponse(bufio.NewReader(&stdout), req)
	if err != nil {
		return nil, fmt.Errorf("curl in a container of %s: reading its answer: %w", t.Image, err)
	}
	return resp, nil
}

// tail is the end of a command's messages, where its error is (docker
// run prints the image's pull before).
func tail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 1000 {
		s = "..." + strings.ToValidUTF8(s[len(s)-1000:], "")
	}
	return s
}
