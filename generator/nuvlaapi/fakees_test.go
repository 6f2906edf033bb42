package nuvlaapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
)

// fakeES plays Elasticsearch 8.11 for the snapshot requests: it checks
// each against the APIs' documented bodies and answers as Elasticsearch
// does (settings stored as strings, 404 with an error object for what
// does not exist), recording every request in order.
//
//   - PUT _snapshot/<repo> (create or update snapshot repository API):
//     {type, settings}; for type s3, settings.bucket is required; the
//     repository is verified, which verifyError makes fail as a bucket
//     Elasticsearch cannot write to does.
//   - PUT _slm/policy/<id> (create or update snapshot lifecycle policy
//     API): schedule, name and repository required, config and retention
//     optional, retention of expire_after, min_count and max_count; the
//     repository must exist.
type fakeES struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	repos    map[string]map[string]any
	policies map[string]map[string]any
	version  map[string]int
	log      []record
	// verifyError, when set, is the reason the repository's
	// verification fails.
	verifyError string
}

func newFakeES(t *testing.T) *fakeES {
	f := &fakeES{t: t, repos: map[string]map[string]any{}, policies: map[string]map[string]any{}, version: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeES) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.log {
		out = append(out, r.String())
	}
	return out
}

func (f *fakeES) records() []record {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.log)
}

// esError answers as Elasticsearch's REST layer does.
func esError(w http.ResponseWriter, status int, typ, reason string) {
	answer(w, status, map[string]any{
		"error":  map[string]any{"root_cause": []any{map[string]any{"type": typ, "reason": reason}}, "type": typ, "reason": reason},
		"status": status,
	})
}

func (f *fakeES) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rec := record{Method: r.Method, Path: r.URL.Path}
	if r.ContentLength != 0 && r.Body != nil {
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			// Elasticsearch refuses other content types with 406.
			f.log = append(f.log, rec)
			esError(w, 406, "media_type_header_exception", "Content-Type header ["+ct+"] is not supported")
			return
		}
		dec := json.NewDecoder(r.Body)
		dec.UseNumber()
		if err := dec.Decode(&rec.Body); err != nil {
			f.log = append(f.log, rec)
			esError(w, 400, "parse_exception", err.Error())
			return
		}
	}
	f.log = append(f.log, rec)
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	switch {
	case len(parts) == 2 && parts[0] == "_snapshot":
		f.repository(w, r.Method, parts[1], rec.Body)
	case len(parts) == 3 && parts[0] == "_slm" && parts[1] == "policy":
		f.policy(w, r.Method, parts[2], rec.Body)
	default:
		esError(w, 400, "illegal_argument_exception", fmt.Sprintf("no handler found for uri [%s] and method [%s]", r.URL.Path, r.Method))
	}
}

func (f *fakeES) repository(w http.ResponseWriter, method, name string, body map[string]any) {
	switch method {
	case http.MethodGet:
		repo, ok := f.repos[name]
		if !ok {
			esError(w, 404, "repository_missing_exception", "["+name+"] missing")
			return
		}
		answer(w, 200, map[string]any{name: repo})
	case http.MethodPut:
		settings, _ := body["settings"].(map[string]any)
		if err := onlyKeys(body, "type", "settings"); err != nil || body["type"] != "s3" || settings == nil {
			esError(w, 400, "repository_exception", fmt.Sprintf("[%s] repository type [%v] does not exist or settings are missing: %v", name, body["type"], err))
			return
		}
		// S3Repository's settings, and the client settings a
		// repository may override (S3ClientSettings.refine).
		if err := onlyKeys(settings, "bucket", "base_path", "client", "chunk_size", "compress", "server_side_encryption",
			"buffer_size", "canned_acl", "storage_class", "readonly", "endpoint", "protocol", "region", "path_style_access"); err != nil {
			esError(w, 400, "illegal_argument_exception", err.Error())
			return
		}
		if !nonblank(settings["bucket"]) {
			esError(w, 500, "repository_exception", "["+name+"] No bucket defined for s3 repository")
			return
		}
		if p, ok := settings["protocol"]; ok && p != "http" && p != "https" {
			esError(w, 400, "illegal_argument_exception", fmt.Sprintf("No enum constant com.amazonaws.Protocol.%v", p))
			return
		}
		if f.verifyError != "" {
			answer(w, 500, map[string]any{
				"error": map[string]any{
					"root_cause": []any{map[string]any{"type": "repository_verification_exception", "reason": "[" + name + "] path [" + fmt.Sprint(settings["base_path"]) + "] is not accessible on master node"}},
					"type":       "repository_verification_exception",
					"reason":     "[" + name + "] path [" + fmt.Sprint(settings["base_path"]) + "] is not accessible on master node",
					"caused_by":  map[string]any{"type": "i_o_exception", "reason": f.verifyError},
				},
				"status": 500,
			})
			return
		}
		stored := map[string]any{}
		for k, v := range settings {
			stored[k] = fmt.Sprint(v) // Settings hold strings
		}
		f.repos[name] = map[string]any{"type": "s3", "uuid": "_na_", "settings": stored}
		answer(w, 200, map[string]any{"acknowledged": true})
	default:
		esError(w, 405, "method_not_allowed", method)
	}
}

func (f *fakeES) policy(w http.ResponseWriter, method, id string, body map[string]any) {
	switch method {
	case http.MethodGet:
		p, ok := f.policies[id]
		if !ok {
			esError(w, 404, "resource_not_found_exception", "snapshot lifecycle policy or policies ["+id+"] not found, no policies are configured")
			return
		}
		answer(w, 200, map[string]any{id: map[string]any{"version": f.version[id], "modified_date_millis": 1700000000000, "policy": p, "next_execution_millis": 1700000100000}})
	case http.MethodPut:
		if err := onlyKeys(body, "name", "schedule", "repository", "config", "retention"); err != nil {
			esError(w, 400, "x_content_parse_exception", err.Error())
			return
		}
		for _, k := range []string{"name", "schedule", "repository"} {
			if !nonblank(body[k]) {
				esError(w, 400, "action_request_validation_exception", "Validation Failed: 1: "+k+" must not be empty;")
				return
			}
		}
		name := body["name"].(string)
		if !strings.HasPrefix(name, "<") || !strings.HasSuffix(name, ">") || strings.ToLower(name) != name {
			esError(w, 400, "action_request_validation_exception", "Validation Failed: 1: invalid snapshot name ["+name+"];")
			return
		}
		if len(strings.Fields(body["schedule"].(string))) < 6 {
			esError(w, 400, "action_request_validation_exception", "Validation Failed: 1: invalid schedule: cron expression ["+body["schedule"].(string)+"];")
			return
		}
		if _, ok := f.repos[body["repository"].(string)]; !ok {
			esError(w, 400, "illegal_argument_exception", "no such repository ["+body["repository"].(string)+"]")
			return
		}
		if ret, ok := body["retention"].(map[string]any); ok {
			if err := onlyKeys(ret, "expire_after", "min_count", "max_count"); err != nil {
				esError(w, 400, "x_content_parse_exception", err.Error())
				return
			}
			minC, _ := ret["min_count"].(json.Number)
			maxC, _ := ret["max_count"].(json.Number)
			minN, err1 := minC.Int64()
			maxN, err2 := maxC.Int64()
			if err1 != nil || err2 != nil {
				esError(w, 400, "x_content_parse_exception", "min_count and max_count: want integers")
				return
			}
			if minN > maxN {
				esError(w, 400, "action_request_validation_exception", "Validation Failed: 1: minimum snapshot count must be less than or equal to the maximum snapshot count;")
				return
			}
		}
		f.policies[id] = body
		f.version[id]++
		answer(w, 200, map[string]any{"acknowledged": true})
	default:
		esError(w, 405, "method_not_allowed", method)
	}
}
