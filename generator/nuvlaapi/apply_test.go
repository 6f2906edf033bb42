package nuvlaapi

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nuvla/nuvlagen/generator/registration"
	"github.com/nuvla/nuvlagen/generator/secrets"
	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/generator/site/sitetest"
)

const hostSite = "example-host"

// deployment is a secrets directory as secrets init writes it, for the
// example target and a host site.
type deployment struct {
	dir                      string
	target                   string
	ca, cert, key            string
	minioUser, minioPassword string
	superPassword            string
}

func (d *deployment) secretValues() []string {
	out := []string{d.ca, d.cert, d.key, d.minioUser, d.minioPassword, d.superPassword}
	for _, l := range strings.Split(d.key, "\n") {
		if len(l) >= 16 && !strings.HasPrefix(l, "-----") {
			out = append(out, l)
		}
	}
	return out
}

// noSecrets fails if any secret, or a line of the key, is in s.
func (d *deployment) noSecrets(t *testing.T, what, s string) {
	t.Helper()
	for _, v := range d.secretValues() {
		if strings.Contains(s, strings.TrimSpace(v)) {
			t.Errorf("%s holds a secret:\n%s", what, s)
			return
		}
	}
}

func pemBlock(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func newDeployment(t *testing.T) *deployment {
	t.Helper()
	now := time.Now()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "nuvla docker ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	certDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(2),
		Subject: pkix.Name{CommonName: "nuvla"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	d := &deployment{
		dir: t.TempDir(), target: "example-target",
		ca: pemBlock("CERTIFICATE", caDER), cert: pemBlock("CERTIFICATE", certDER), key: pemBlock("PRIVATE KEY", keyDER),
		minioUser: "nuvla-" + secrets.Password(12), minioPassword: secrets.Password(32), superPassword: secrets.Password(32),
	}
	client := filepath.Join(d.dir, hostSite, registration.DockerClientDir)
	// The value files end in a newline, as an editor leaves them.
	d.write(t, filepath.Join(client, "ca.pem"), d.ca)
	d.write(t, filepath.Join(client, "cert.pem"), d.cert)
	d.write(t, filepath.Join(client, "key.pem"), d.key)
	d.write(t, filepath.Join(d.dir, hostSite, registration.SuperPasswordFile), d.superPassword)
	d.write(t, filepath.Join(d.dir, d.target, "minio_root_user"), d.minioUser+"\n")
	d.write(t, filepath.Join(d.dir, d.target, "minio_root_password"), d.minioPassword+"\n")
	return d
}

func (d *deployment) write(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// plan reads the example target's rendered documents back, with the
// deployment's secrets.
func (d *deployment) plan(t *testing.T) *registration.Plan {
	t.Helper()
	files, err := registration.Render(sitetest.Kind(t, site.KindTarget))
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string][]byte{}
	for p, b := range files {
		if strings.HasSuffix(p, ".json") {
			docs[p] = b
		}
	}
	parsed, err := registration.Parse(docs)
	if err != nil {
		t.Fatal(err)
	}
	p, err := registration.NewPlan(parsed, d.dir, hostSite)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// run applies the plan and returns the report's lines.
func run(t *testing.T, f *fakeNuvla, p *registration.Plan) ([]Result, error) {
	t.Helper()
	var got []Result
	err := Apply(context.Background(), f.client(t), p, func(r Result) { got = append(got, r) })
	return got, err
}

// fresh is the order of a first registration: the group, its services,
// their credentials, each searched for first.
var fresh = []string{
	"POST /api/session",
	"GET /api/infrastructure-service-group", "POST /api/infrastructure-service-group",
	"GET /api/infrastructure-service", "POST /api/infrastructure-service", // s3
	"GET /api/infrastructure-service", "POST /api/infrastructure-service", // swarm
	"GET /api/credential", "POST /api/credential", // s3
	"GET /api/credential", "POST /api/credential", // swarm
	"DELETE /api/session/ID",
}

var rerun = []string{
	"POST /api/session",
	"GET /api/infrastructure-service-group",
	"GET /api/infrastructure-service", "GET /api/infrastructure-service",
	"GET /api/credential", "GET /api/credential",
	"DELETE /api/session/ID",
}

func TestApplyFresh(t *testing.T) {
	d := newDeployment(t)
	f := newFake(t, registration.SuperUser, d.superPassword)
	got, err := run(t, f, d.plan(t))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fresh, f.requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	var lines []string
	for _, r := range got {
		if r.Action != Created {
			t.Errorf("%v: want created", r)
		}
		lines = append(lines, r.String())
	}
	d.noSecrets(t, "the report", strings.Join(lines, "\n"))

	// What Nuvla holds: the group, the services under it, the
	// credentials under them with the files' contents.
	groups := f.find(registration.Group, "name", "example-target")
	if len(groups) != 1 {
		t.Fatalf("groups %v", groups)
	}
	gid := groups[0]["id"]
	want := map[string]string{"example-target swarm": "https://203.0.113.10:2376", "example-target s3": "https://s3.target.example.org"}
	for name, endpoint := range want {
		s := f.find(registration.Service, "name", name)
		if len(s) != 1 || s[0]["parent"] != gid || s[0]["endpoint"] != endpoint {
			t.Errorf("service %s: %v, want endpoint %s under %s", name, s, endpoint, gid)
		}
	}
	swarm := f.find(registration.Credential, "subtype", "infrastructure-service-swarm")
	if len(swarm) != 1 || swarm[0]["ca"] != d.ca || swarm[0]["cert"] != d.cert || swarm[0]["key"] != d.key {
		t.Errorf("swarm credential does not hold the client files")
	} else if svc := f.find(registration.Service, "name", "example-target swarm"); len(svc) == 1 && swarm[0]["parent"] != svc[0]["id"] {
		t.Errorf("swarm credential's parent %v, want %v", swarm[0]["parent"], svc[0]["id"])
	}
	s3 := f.find(registration.Credential, "subtype", "infrastructure-service-minio")
	if len(s3) != 1 || s3[0]["access-key"] != d.minioUser || s3[0]["secret-key"] != d.minioPassword {
		t.Errorf("s3 credential does not hold the Minio root user and password (without the files' newline)")
	}
	// The searches that found nothing: by name, subtype and parent.
	recs := f.records()
	if q := recs[7].Query; q != "name='example-target s3' and subtype='infrastructure-service-minio' and parent='"+s3[0]["parent"].(string)+"'" {
		t.Errorf("credential search %q", q)
	}
}

func TestApplyTwiceChangesNothing(t *testing.T) {
	d := newDeployment(t)
	f := newFake(t, registration.SuperUser, d.superPassword)
	p := d.plan(t)
	if _, err := run(t, f, p); err != nil {
		t.Fatal(err)
	}
	n := len(f.requests())
	got, err := run(t, f, p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rerun, f.requests()[n:]); diff != "" {
		t.Errorf("second run's requests (-want +got):\n%s", diff)
	}
	for _, r := range got {
		if r.Action != Unchanged || len(r.Fields) != 0 {
			t.Errorf("%v: want unchanged", r)
		}
	}
}

func TestApplyUpdatesWhatDiffers(t *testing.T) {
	d := newDeployment(t)
	f := newFake(t, registration.SuperUser, d.superPassword)
	if _, err := run(t, f, d.plan(t)); err != nil {
		t.Fatal(err)
	}
	// Someone moved the swarm service, and the Minio password changed.
	svc := f.find(registration.Service, "name", "example-target swarm")[0]
	svc["endpoint"] = "https://198.51.100.99:2376"
	newPassword := secrets.Password(32)
	d.write(t, filepath.Join(d.dir, d.target, "minio_root_password"), newPassword)
	d.minioPassword = newPassword
	cred := f.find(registration.Credential, "subtype", "infrastructure-service-minio")[0]
	n := len(f.requests())
	got, err := run(t, f, d.plan(t))
	if err != nil {
		t.Fatal(err)
	}
	want := seq(rerun[:4], "PUT /api/"+svc["id"].(string), rerun[4], "PUT /api/"+cred["id"].(string), rerun[5:])
	if diff := cmp.Diff(want, f.requests()[n:]); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	changed := map[string][]string{}
	for _, r := range got {
		if r.Action == Updated {
			changed[r.Key] = r.Fields
		}
	}
	if diff := cmp.Diff(map[string][]string{"infrastructure-service-swarm": {"endpoint"}, "credential-s3": {"secret-key"}}, changed); diff != "" {
		t.Errorf("updates (-want +got):\n%s", diff)
	}
	if svc["endpoint"] != "https://203.0.113.10:2376" {
		t.Errorf("endpoint after the update: %v", svc["endpoint"])
	}
	if c := f.find(registration.Credential, "subtype", "infrastructure-service-minio"); c[0]["secret-key"] != newPassword {
		t.Errorf("the Minio credential kept the old password")
	}
	for _, r := range got {
		d.noSecrets(t, "the report", r.String())
	}
}

// seq joins strings and lists of them, for expected request lists.
func seq(head []string, more ...any) []string {
	out := append([]string(nil), head...)
	for _, m := range more {
		switch v := m.(type) {
		case string:
			out = append(out, v)
		case []string:
			out = append(out, v...)
		}
	}
	return out
}

func TestApplyFailures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(f *fakeNuvla, d *deployment)
		// want are the requests sent, and parts of the error.
		want    []string
		wantErr []string
	}{{
		name:    "wrong password",
		setup:   func(f *fakeNuvla, d *deployment) { f.password = "another" },
		want:    []string{"POST /api/session"},
		wantErr: []string{"logging in to https://", "as super (password from ", "NUVLA_SUPER_PASSWORD", "403 Forbidden: invalid credentials for 'super'"},
	}, {
		name:    "second factor",
		setup:   func(f *fakeNuvla, d *deployment) { f.twoFA = true },
		want:    []string{"POST /api/session"},
		wantErr: []string{"second factor"},
	}, {
		name:    "no cookie",
		setup:   func(f *fakeNuvla, d *deployment) { f.noCookie = true },
		want:    []string{"POST /api/session"},
		wantErr: []string{"set no com.com.sixsq.nuvla.cookie cookie"},
	}, {
		name: "server error mid-way",
		setup: func(f *fakeNuvla, d *deployment) {
			f.fail = func(r record) (int, string) {
				if r.Method == "POST" && r.Body["name"] == "example-target swarm" && r.Path == "/api/infrastructure-service" {
					return 500, "unexpected error occurred: ES timeout"
				}
				return 0, ""
			}
		},
		want:    seq(fresh[:6], "POST /api/infrastructure-service", "DELETE /api/session/ID"),
		wantErr: []string{`infrastructure-service "example-target swarm" (infrastructure-service-swarm.json): POST /api/infrastructure-service: 500 Internal Server Error: unexpected error occurred: ES timeout`},
	}, {
		name: "rejected credential quoting the request",
		setup: func(f *fakeNuvla, d *deployment) {
			f.fail = func(r record) (int, string) {
				if r.Method == "POST" && r.Path == "/api/credential" && r.Body["name"] == "example-target swarm" {
					return 400, "resource does not satisfy defined schema: " + strings.ReplaceAll(toJSON(r.Body), "\n", `\n`) + "\n" + d.key
				}
				return 0, ""
			}
		},
		want:    seq(fresh[:10], "POST /api/credential", "DELETE /api/session/ID"),
		wantErr: []string{`credential "example-target swarm" (credential-swarm.json): POST /api/credential: 400 Bad Request: resource does not satisfy`, "[redacted]"},
	}, {
		name: "conflict",
		setup: func(f *fakeNuvla, d *deployment) {
			f.fail = func(r record) (int, string) {
				if r.Method == "POST" && r.Path == "/api/infrastructure-service-group" {
					return 409, "conflict with infrastructure-service-group/abc"
				}
				return 0, ""
			}
		},
		want:    seq(fresh[:3], "DELETE /api/session/ID"),
		wantErr: []string{`infrastructure-service-group "example-target" (infrastructure-service-group.json): POST /api/infrastructure-service-group: 409 Conflict: conflict with infrastructure-service-group/abc`},
	}, {
		name: "forbidden search",
		setup: func(f *fakeNuvla, d *deployment) {
			f.fail = func(r record) (int, string) {
				if r.Method == "GET" {
					return 403, "invalid credentials for 'super'"
				}
				return 0, ""
			}
		},
		want:    seq(fresh[:2], "DELETE /api/session/ID"),
		wantErr: []string{"GET /api/infrastructure-service-group: 403 Forbidden"},
	}, {
		name: "two groups of the name",
		setup: func(f *fakeNuvla, d *deployment) {
			for range 2 {
				f.add(registration.Group, map[string]any{"name": "example-target", "acl": map[string]any{"owners": []any{"group/nuvla-admin"}}})
			}
		},
		want:    seq(fresh[:2], "DELETE /api/session/ID"),
		wantErr: []string{"2 resources match name='example-target': infrastructure-service-group/", "delete all but one"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDeployment(t)
			f := newFake(t, registration.SuperUser, d.superPassword)
			tc.setup(f, d)
			_, err := run(t, f, d.plan(t))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nwants %q", err, w)
				}
			}
			d.noSecrets(t, "the error", err.Error())
			if diff := cmp.Diff(tc.want, f.requests()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestDryRunSendsNothing(t *testing.T) {
	d := newDeployment(t)
	f := newFake(t, registration.SuperUser, d.superPassword)
	var out bytes.Buffer
	if err := DryRun(&out, f.srv.URL, d.plan(t)); err != nil {
		t.Fatal(err)
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("dry run sent %d requests", n)
	}
	s := out.String()
	d.noSecrets(t, "the dry run", s)
	var reqs []string
	for _, l := range strings.Split(s, "\n") {
		if m, rest, ok := strings.Cut(l, " "+f.srv.URL); ok {
			p, _, _ := strings.Cut(rest, "?")
			reqs = append(reqs, m+" "+p)
		}
	}
	if diff := cmp.Diff(seq(fresh[:11], "DELETE /api/<session id>"), reqs); diff != "" {
		t.Errorf("requests printed (-want +got):\n%s", diff)
	}
	for _, w := range []string{
		`"key": "<secret from ` + filepath.Join(d.dir, hostSite, "nuvla-docker-client", "key.pem") + `>"`,
		`"secret-key": "<secret from ` + filepath.Join(d.dir, d.target, "minio_root_password") + `>"`,
		`"password": "<secret from ` + filepath.Join(d.dir, hostSite, "NUVLA_SUPER_PASSWORD") + `>"`,
		`"parent": "<id of infrastructure-service-swarm.json>"`,
		`"endpoint": "https://203.0.113.10:2376"`,
	} {
		if !strings.Contains(s, w) {
			t.Errorf("dry run lacks %s:\n%s", w, s)
		}
	}
}

func TestNewRefusesEndpoints(t *testing.T) {
	for _, e := range []string{"http://nuvla.example.org", "https://nuvla.example.org/api", "nuvla.example.org", "https://u:p@nuvla.example.org", "https://nuvla.example.org?x=1"} {
		if _, err := New(e, nil); err == nil {
			t.Errorf("New(%q) accepted it", e)
		}
	}
	if _, err := New("https://nuvla.example.org/", nil); err != nil {
		t.Errorf("New: %v", err)
	}
}
