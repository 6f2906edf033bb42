package cli

import (
	"bytes"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestConfigure(t *testing.T) {
	docs, dir, values := registerSetup(t)
	docs = filepath.Join(filepath.Dir(filepath.Dir(docs)), "example-host", "configure")
	smtp := "smtp-password-0123456789"
	if err := os.WriteFile(filepath.Join(dir, "example-host", "smtp_password"), []byte(smtp+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	values = append(values, smtp)
	// A Nuvla that refuses every login, as with a wrong password.
	var requests []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests = append(requests, r.Method+" "+r.URL.Path)
		w.WriteHeader(403)
		_, _ = w.Write([]byte(`{"status": 403, "message": "invalid credentials for 'super'"}`))
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	placeholder := t.TempDir()
	if err := os.CopyFS(placeholder, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(placeholder, "example-host", "smtp_password"), []byte("REPLACE-ME\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"configure", "--secrets", dir, "--endpoint", srv.URL, "--cacert", ca}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string // a part of it
		stderr string
		sent   int
	}{
		{"dry run", []string{"configure", "--secrets", dir, "--dry-run", docs}, ExitOK, "PUT https://nuvla.example.org/api/configuration/nuvla\n", "", 0},
		// A host on its own: secrets init writes its files at the top.
		{"a host's own directory", []string{"configure", "--secrets", filepath.Join(dir, "example-host"), "--dry-run", docs}, ExitOK, "PUT https://nuvla.example.org/api/configuration/nuvla\n", "", 0},
		{"login refused", slices.Concat(base, []string{docs}), ExitInvalid, "", "nuvlagen configure: configuration/nuvla: logging in to " + srv.URL + " as super", 1},
		{"missing flags", []string{"configure", docs}, ExitUsage, "", "want --secrets and one directory", 0},
		{"plain http", []string{"configure", "--secrets", dir, "--endpoint", "http://nuvla.example.org", docs}, ExitUsage, "", "want https://HOST[:PORT]", 0},
		{"placeholder", []string{"configure", "--secrets", placeholder, "--dry-run", docs}, ExitInvalid, "", "smtp_password: still the placeholder", 0},
		{"no document", slices.Concat(base, []string{t.TempDir()}), ExitInvalid, "", "configure.json", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requests = nil
			var o, e bytes.Buffer
			if code := Main(tc.args, &o, &e); code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, o.String(), e.String())
			}
			if !strings.Contains(o.String(), tc.stdout) || !strings.Contains(e.String(), tc.stderr) {
				t.Errorf("stdout:\n%s\nstderr:\n%s\nwant %q and %q", o.String(), e.String(), tc.stdout, tc.stderr)
			}
			if len(requests) != tc.sent {
				t.Errorf("requests %v, want %d", requests, tc.sent)
			}
			for _, v := range values {
				if strings.Contains(o.String()+e.String(), v) {
					t.Errorf("the output holds a secret")
				}
			}
		})
	}
}
