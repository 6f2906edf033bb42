package registration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/generator/site/sitetest"
)

// TestNormalizeACL runs the cases of the api-server's own test of
// normalize-acl (test/com/sixsq/nuvla/auth/utils/acl_test.clj).
func TestNormalizeACL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"owners": ["b", "a"]}`, `{"owners": ["a", "b"]}`},
		{`{"owners": ["a", "b"], "edit-acl": ["a"], "view-acl": ["b"]}`, `{"owners": ["a", "b"]}`},
		{`{"owners": ["a", "b"], "edit-acl": ["a", "c"]}`,
			`{"owners": ["a", "b"], "delete": ["c"], "edit-acl": ["c"], "edit-data": ["c"], "edit-meta": ["c"], "manage": ["c"], "view-acl": ["c"], "view-data": ["c"], "view-meta": ["c"]}`},
		{`{"owners": ["a", "b"], "edit-acl": ["a", "c"], "manage": ["d"], "view-data": ["e"]}`,
			`{"owners": ["a", "b"], "delete": ["c"], "edit-acl": ["c"], "edit-data": ["c"], "edit-meta": ["c"], "manage": ["c", "d"], "view-acl": ["c"], "view-data": ["c", "e"], "view-meta": ["c", "e"]}`},
		// Not an ACL: kept for the server to refuse.
		{`{"owners": "a"}`, `{"owners": "a"}`},
	} {
		var in, want map[string]any
		if err := json.Unmarshal([]byte(tc.in), &in); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(tc.want), &want); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, NormalizeACL(in)); d != "" {
			t.Errorf("NormalizeACL(%s) (-want +got):\n%s", tc.in, d)
		}
	}
}

func TestManager(t *testing.T) {
	node := func(name, addr, role string, labels map[string]string) site.Node {
		return site.Node{Name: name, Address: netip.MustParseAddr(addr), Role: role, Labels: labels}
	}
	for _, tc := range []struct {
		name  string
		nodes []site.Node
		want  string // "" for an error
	}{
		{"edge label", []site.Node{node("a", "192.0.2.1", "manager", nil), node("b", "192.0.2.2", "manager", map[string]string{"edge": "true"})}, "b"},
		{"first manager", []site.Node{node("a", "192.0.2.1", "worker", nil), node("b", "192.0.2.2", "manager", nil), node("c", "192.0.2.3", "manager", nil)}, "b"},
		{"edge label on a worker does not count", []site.Node{node("a", "192.0.2.1", "worker", map[string]string{"edge": "true"}), node("b", "192.0.2.2", "manager", nil)}, "b"},
		{"no manager", []site.Node{node("a", "192.0.2.1", "worker", nil)}, ""},
	} {
		m, err := Manager(&site.Site{Name: "s", Nodes: tc.nodes})
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("%s: got %s, want an error", tc.name, m.Name)
		case tc.want != "" && (err != nil || m.Name != tc.want):
			t.Errorf("%s: got %s, %v; want %s", tc.name, m.Name, err, tc.want)
		}
	}
}

func exampleDocs(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := Render(sitetest.Kind(t, site.KindTarget))
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string][]byte{}
	for p, b := range files {
		if strings.HasSuffix(p, ".json") {
			docs[p] = b
		}
	}
	return docs
}

func TestParseRefuses(t *testing.T) {
	// Each edit of the example's credential-swarm.json must be refused.
	for _, tc := range []struct {
		name string
		edit func(d map[string]any)
		want string
	}{
		{"unknown field", func(d map[string]any) { d["extra"] = 1 }, `unknown field "extra"`},
		{"file outside the secrets directory", func(d map[string]any) {
			d["secrets"].(map[string]any)["key"].(map[string]any)["file"] = "../../.ssh/id_rsa"
		}, "want a path inside the secrets directory"},
		{"absolute file", func(d map[string]any) { d["secrets"].(map[string]any)["key"].(map[string]any)["file"] = "/etc/shadow" }, "inside the secrets directory"},
		{"unknown secrets site", func(d map[string]any) { d["secrets"].(map[string]any)["key"].(map[string]any)["site"] = "other" }, `site "other"`},
		{"unknown format", func(d map[string]any) { d["secrets"].(map[string]any)["key"].(map[string]any)["format"] = "raw" }, `format "raw"`},
		{"secret set in the template too", func(d map[string]any) {
			d["create"].(map[string]any)["template"].(map[string]any)["key"] = "x"
		}, "create.template.key is set too"},
		{"parent in create", func(d map[string]any) { d["create"].(map[string]any)["parent"] = "x" }, "create.parent"},
		{"name differs", func(d map[string]any) { d["name"] = "other" }, "is not the document's name"},
		{"unknown resource", func(d map[string]any) { d["resource"] = "user" }, `resource "user"`},
		{"missing parent", func(d map[string]any) { d["parent"] = "nothing" }, `parent "nothing" is not a document here`},
		{"another site", func(d map[string]any) { d["site"] = "other" }, "register one site at a time"},
	} {
		docs := exampleDocs(t)
		var d map[string]any
		if err := json.Unmarshal(docs["nuvla/credential-swarm.json"], &d); err != nil {
			t.Fatal(err)
		}
		tc.edit(d)
		docs["nuvla/credential-swarm.json"], _ = json.Marshal(d)
		_, err := Parse(docs)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := Parse(nil); err == nil {
		t.Error("Parse(nil): no error")
	}
}

func TestParseRefusesCycles(t *testing.T) {
	docs := exampleDocs(t)
	var d map[string]any
	_ = json.Unmarshal(docs["nuvla/infrastructure-service-group.json"], &d)
	d["parent"] = "credential-swarm"
	docs["nuvla/infrastructure-service-group.json"], _ = json.Marshal(d)
	parsed, err := Parse(docs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewPlan(parsed, t.TempDir(), "host"); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("error %v, want a cycle", err)
	}
}

type secretsDir struct {
	dir string
}

func (s secretsDir) write(t *testing.T, rel, content string) {
	t.Helper()
	p := filepath.Join(s.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func keyPair(t *testing.T) (cert, key string) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "c"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(k)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}))
}

// complete writes every secret the example's documents need.
func complete(t *testing.T) secretsDir {
	s := secretsDir{t.TempDir()}
	cert, key := keyPair(t)
	s.write(t, "h/nuvla-docker-client/ca.pem", cert)
	s.write(t, "h/nuvla-docker-client/cert.pem", cert)
	s.write(t, "h/nuvla-docker-client/key.pem", key)
	s.write(t, "h/NUVLA_SUPER_PASSWORD", "pw-of-super-0123456789\n")
	s.write(t, "example-target/minio_root_user", "nuvla-user")
	s.write(t, "example-target/minio_root_password", "pw-of-minio-0123456789")
	return s
}

func TestNewPlan(t *testing.T) {
	docs, err := Parse(exampleDocs(t))
	if err != nil {
		t.Fatal(err)
	}
	s := complete(t)
	p, err := NewPlan(docs, s.dir, "h")
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, st := range p.Steps {
		order = append(order, st.Doc.Key)
	}
	want := []string{"infrastructure-service-group", "infrastructure-service-s3", "infrastructure-service-swarm", "credential-s3", "credential-swarm"}
	if d := cmp.Diff(want, order); d != "" {
		t.Errorf("order (-want +got):\n%s", d)
	}
	if p.Password() != "pw-of-super-0123456789" {
		t.Errorf("password %q: want the file's line without its newline", p.Password())
	}
	// The credential's body holds the files; its desired state the
	// template's fields beside the create document's.
	cred := p.Steps[4]
	body := cred.Body("infrastructure-service/1")
	if body["parent"] != "infrastructure-service/1" || body["template"].(map[string]any)["key"] == "" {
		t.Errorf("body %v", body)
	}
	desired := cred.Desired("infrastructure-service/1")
	if _, ok := desired["template"]; ok || desired["ca"] == nil || desired["href"] != nil {
		t.Errorf("desired %v", desired)
	}
	if got := p.Redact("x " + desired["key"].(string) + " y"); got != "x [redacted] y" {
		t.Errorf("Redact left the key: %q", got)
	}
	js, _ := json.Marshal(desired["key"])
	if got := p.Redact("message: " + string(js)); got != `message: "[redacted]"` {
		t.Errorf("Redact left the JSON-quoted key: %q", got)
	}
	// A line of the key alone, as a message quoting it escaped otherwise
	// would show it.
	line := strings.Split(desired["key"].(string), "\n")[1]
	if got := p.Redact("edn: " + line); got != "edn: [redacted]" {
		t.Errorf("Redact left a line of the key: %q", got)
	}
	if got := p.Redact("password pw-of-super-0123456789 and pw-of-minio-0123456789"); got != "password [redacted] and [redacted]" {
		t.Errorf("Redact: %q", got)
	}
	// Equal once Nuvla normalised the ACL and added its own fields.
	existing := map[string]any{"id": "credential/1", "subtype": "infrastructure-service-swarm", "created": "now"}
	for k, v := range desired {
		existing[k] = v
	}
	existing["acl"] = map[string]any{"owners": []any{"group/nuvla-admin"}, "view-meta": []any{"group/nuvla-user", "group/nuvla-user"}}
	if d := cred.Differs(existing, "infrastructure-service/1"); len(d) != 0 {
		t.Errorf("Differs: %v, want none", d)
	}
	delete(existing, "cert")
	existing["description"] = "old"
	if d := cmp.Diff([]string{"cert", "description"}, cred.Differs(existing, "infrastructure-service/1")); d != "" {
		t.Errorf("Differs (-want +got):\n%s", d)
	}
	if f := cred.Filter("infrastructure-service/1"); f != "name='example-target swarm' and subtype='infrastructure-service-swarm' and parent='infrastructure-service/1'" {
		t.Errorf("filter %s", f)
	}
}

func TestNewPlanRefusesSecrets(t *testing.T) {
	docs, err := Parse(exampleDocs(t))
	if err != nil {
		t.Fatal(err)
	}
	otherCert, _ := keyPair(t)
	for _, tc := range []struct {
		name      string
		file, put string // "" put: remove the file
		want      string
	}{
		{"no password", "h/NUVLA_SUPER_PASSWORD", "", "super user's password"},
		{"blank password", "h/NUVLA_SUPER_PASSWORD", " \n", "one line that is not blank"},
		{"two-line user", "example-target/minio_root_user", "a\nb\n", "credential-s3.json, secret access-key"},
		{"no key", "h/nuvla-docker-client/key.pem", "", "secret key"},
		{"key not PEM", "h/nuvla-docker-client/key.pem", "not a key", "want PEM PRIVATE KEY blocks only"},
		{"certificate not one", "h/nuvla-docker-client/ca.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "PEM block 1"},
		{"key of another certificate", "h/nuvla-docker-client/cert.pem", otherCert, "are no key pair"},
	} {
		s := complete(t)
		if tc.put == "" {
			_ = os.Remove(filepath.Join(s.dir, tc.file))
		} else {
			s.write(t, tc.file, tc.put)
		}
		_, err := NewPlan(docs, s.dir, "h")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	for _, host := range []string{"", "..", "a/b", "example-target"} {
		if _, err := NewPlan(docs, complete(t).dir, host); err == nil {
			t.Errorf("host %q: no error", host)
		}
	}
}

func TestQuote(t *testing.T) {
	if got := Quote(`it's a \ name`); got != `'it\'s a \\ name'` {
		t.Errorf("Quote: %s", got)
	}
}
