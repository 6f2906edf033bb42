// Package enginetest is a fake Docker Engine API for tests: it answers
// the list requests nuvlagen import makes with JSON recorded from a real
// engine, so the mapping is tested without a daemon.
package enginetest

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// APIVersion is the version the fake engine speaks: the recorded
// engine's.
const APIVersion = "1.41"

// listPath matches the requests it answers: /v<version>/<kind>.
var listPath = regexp.MustCompile(`^/v1\.[0-9]+/(nodes|services|networks|secrets|configs)$`)

// Serve starts an engine answering GET /v1.xx/<kind> with dir/<kind>.json
// and /_ping for version negotiation; anything else is a 404 and fails t.
// It returns the engine's URL, for client.WithHost; the server stops
// when t ends.
func Serve(t testing.TB, dir string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", APIVersion)
		if r.URL.Path == "/_ping" {
			w.Write([]byte("OK"))
			return
		}
		m := listPath.FindStringSubmatch(r.URL.Path)
		if r.Method != http.MethodGet || m == nil {
			t.Errorf("fake engine: unexpected request %s %s", r.Method, r.URL)
			http.NotFound(w, r)
			return
		}
		b, err := os.ReadFile(filepath.Join(dir, m[1]+".json"))
		if err != nil {
			t.Errorf("fake engine: %v", err)
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return "tcp://" + srv.Listener.Addr().String()
}
