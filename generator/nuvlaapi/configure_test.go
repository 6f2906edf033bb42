package nuvlaapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nuvla/nuvlagen/generator/configure"
	"github.com/nuvla/nuvlagen/generator/registration"
	"github.com/nuvla/nuvlagen/generator/secrets"
	"github.com/nuvla/nuvlagen/generator/site/sitetest"
	"github.com/nuvla/nuvlagen/internal/golden"
)

// configured is a host site's secrets directory and the fakes of its
// Nuvla and Elasticsearch.
type configured struct {
	dir                         string // the deployment's secrets directory
	superPassword, smtpPassword string
	nuvla                       *fakeNuvla
	es                          *fakeES
}

func randomSecret(t *testing.T) string {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func newConfigured(t *testing.T) *configured {
	t.Helper()
	c := &configured{dir: t.TempDir(), superPassword: randomSecret(t), smtpPassword: randomSecret(t)}
	c.writeSecret(t, registration.SuperPasswordFile, c.superPassword+"\n")
	c.writeSecret(t, "smtp_password", c.smtpPassword+"\n")
	c.nuvla = newFake(t, registration.SuperUser, c.superPassword)
	// As the api-server creates it at its first start
	// (configuration_nuvla.clj add-template, from
	// configuration_template_nuvla.clj's resource).
	c.nuvla.res[configure.NuvlaConfiguration] = map[string]any{
		"id": configure.NuvlaConfiguration, "resource-type": "configuration", "service": "nuvla",
		"name": "Nuvla", "description": "Nuvla Service Configuration",
		"smtp-port": 465, "smtp-ssl": true, "smtp-debug": true,
		"template": map[string]any{"href": "configuration-template/nuvla"},
		"acl":      map[string]any{"owners": []any{"group/nuvla-admin"}},
	}
	c.es = newFakeES(t)
	return c
}

func (c *configured) writeSecret(t *testing.T, name, content string) {
	t.Helper()
	p := filepath.Join(c.dir, hostSite, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// doc is the example host's document as generate writes it and
// configure reads it back.
func (c *configured) doc(t *testing.T) *configure.Document {
	t.Helper()
	files, err := configure.Render(sitetest.Named(t, hostSite))
	if err != nil {
		t.Fatal(err)
	}
	d, err := configure.Parse(files[filepath.Join(configure.Dir, configure.FileName)])
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (c *configured) plan(t *testing.T, d *configure.Document) *configure.Plan {
	t.Helper()
	p, err := configure.NewPlan(d, c.dir)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (c *configured) run(t *testing.T, p *configure.Plan) ([]string, error) {
	t.Helper()
	var got []string
	err := Configure(context.Background(), c.nuvla.client(t), NewES(c.es.srv.URL, nil), p, func(r Result) { got = append(got, r.String()) })
	return got, err
}

// noSecrets fails if a secret the plan read is in s.
func (c *configured) noSecrets(t *testing.T, what, s string) {
	t.Helper()
	for _, v := range []string{c.superPassword, c.smtpPassword} {
		if strings.Contains(s, v) {
			t.Errorf("%s holds a secret:\n%s", what, s)
		}
	}
}

var (
	nuvlaFresh = []string{"POST /api/session", "GET /api/configuration/nuvla", "PUT /api/configuration/nuvla", "DELETE /api/session/ID"}
	nuvlaRerun = []string{"POST /api/session", "GET /api/configuration/nuvla", "DELETE /api/session/ID"}
	esFresh    = []string{"GET /_snapshot/nuvla-s3", "PUT /_snapshot/nuvla-s3", "GET /_slm/policy/nuvla-snapshots", "PUT /_slm/policy/nuvla-snapshots"}
	esRerun    = []string{"GET /_snapshot/nuvla-s3", "GET /_slm/policy/nuvla-snapshots"}
)

func TestConfigureFresh(t *testing.T) {
	c := newConfigured(t)
	got, err := c.run(t, c.plan(t, c.doc(t)))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`updated   configuration "nuvla" (configuration/nuvla): smtp-host, smtp-password, smtp-username, support-email`,
		`created   snapshot-repository "nuvla-s3" (_snapshot/nuvla-s3)`,
		`created   slm-policy "nuvla-snapshots" (_slm/policy/nuvla-snapshots)`,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("results (-want +got):\n%s", d)
	}
	if d := cmp.Diff(nuvlaFresh, c.nuvla.requests()); d != "" {
		t.Errorf("Nuvla requests (-want +got):\n%s", d)
	}
	if d := cmp.Diff(esFresh, c.es.requests()); d != "" {
		t.Errorf("Elasticsearch requests (-want +got):\n%s", d)
	}
	// The PUT holds only what differs from the template's defaults
	// (smtp-port 465 and smtp-ssl true are there already).
	put := c.nuvla.records()[2].Body
	wantPut := map[string]any{"smtp-host": "smtp.example.org", "smtp-username": "nuvla@example.org", "smtp-password": c.smtpPassword, "support-email": "support@example.org"}
	if d := cmp.Diff(wantPut, put); d != "" {
		t.Errorf("PUT configuration/nuvla (-want +got):\n%s", d)
	}
	repo := c.es.records()[1].Body
	if d := cmp.Diff(toJSON(map[string]any{"type": "s3", "settings": map[string]any{
		"bucket": "example-nuvla-snapshots", "base_path": "example-host", "protocol": "https", "path_style_access": false,
	}}), toJSON(repo)); d != "" {
		t.Errorf("PUT _snapshot (-want +got):\n%s", d)
	}
	policy := c.es.records()[3].Body
	if d := cmp.Diff(toJSON(map[string]any{
		"name": "<example-host-{now/d}>", "schedule": "0 30 1 * * ?", "repository": "nuvla-s3",
		"retention": map[string]any{"expire_after": "30d", "min_count": 5, "max_count": 50},
	}), toJSON(policy)); d != "" {
		t.Errorf("PUT _slm/policy (-want +got):\n%s", d)
	}
}

func TestConfigureTwiceWritesNothing(t *testing.T) {
	c := newConfigured(t)
	if _, err := c.run(t, c.plan(t, c.doc(t))); err != nil {
		t.Fatal(err)
	}
	nuvlaBefore, esBefore := len(c.nuvla.requests()), len(c.es.requests())
	got, err := c.run(t, c.plan(t, c.doc(t)))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`unchanged configuration "nuvla" (configuration/nuvla)`,
		`unchanged snapshot-repository "nuvla-s3" (_snapshot/nuvla-s3)`,
		`unchanged slm-policy "nuvla-snapshots" (_slm/policy/nuvla-snapshots)`,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("results (-want +got):\n%s", d)
	}
	if d := cmp.Diff(nuvlaRerun, c.nuvla.requests()[nuvlaBefore:]); d != "" {
		t.Errorf("Nuvla requests of the second run (-want +got):\n%s", d)
	}
	if d := cmp.Diff(esRerun, c.es.requests()[esBefore:]); d != "" {
		t.Errorf("Elasticsearch requests of the second run (-want +got):\n%s", d)
	}
}

func TestConfigureUpdatesWhatDiffers(t *testing.T) {
	c := newConfigured(t)
	if _, err := c.run(t, c.plan(t, c.doc(t))); err != nil {
		t.Fatal(err)
	}
	// A new relay and password, another bucket; the policy stays.
	d := c.doc(t)
	d.Nuvla.Fields["smtp-host"] = "smtp2.example.org"
	d.Elasticsearch.Repository.Body["settings"].(map[string]any)["bucket"] = "other-bucket"
	newPassword := randomSecret(t)
	c.writeSecret(t, "smtp_password", newPassword)
	nuvlaBefore, esBefore := len(c.nuvla.records()), len(c.es.records())
	got, err := c.run(t, c.plan(t, d))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`updated   configuration "nuvla" (configuration/nuvla): smtp-host, smtp-password`,
		`updated   snapshot-repository "nuvla-s3" (_snapshot/nuvla-s3): settings.bucket`,
		`unchanged slm-policy "nuvla-snapshots" (_slm/policy/nuvla-snapshots)`,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("results (-want +got):\n%s", d)
	}
	if d := cmp.Diff(nuvlaFresh, c.nuvla.requests()[nuvlaBefore:]); d != "" {
		t.Errorf("Nuvla requests (-want +got):\n%s", d)
	}
	if d := cmp.Diff(append(slices.Clone(esFresh[:2]), esRerun[1]), c.es.requests()[esBefore:]); d != "" {
		t.Errorf("Elasticsearch requests (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]any{"smtp-host": "smtp2.example.org", "smtp-password": newPassword}, c.nuvla.records()[nuvlaBefore+2].Body); d != "" {
		t.Errorf("PUT configuration/nuvla (-want +got):\n%s", d)
	}
	if got := c.es.repos["nuvla-s3"]["settings"].(map[string]any)["bucket"]; got != "other-bucket" {
		t.Errorf("the repository's bucket is %v", got)
	}
}

func TestConfigureFailures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(c *configured)
		// want are in the error; nuvla and es the requests sent.
		want      []string
		nuvla, es []string
	}{
		{
			name:  "wrong super password",
			setup: func(c *configured) { c.nuvla.password = "another" },
			want:  []string{"configuration/nuvla: logging in to https://", "as super (password from ", "POST /api/session: 403"},
			nuvla: []string{"POST /api/session"},
		},
		{
			name: "Nuvla refuses the PUT, quoting it",
			setup: func(c *configured) {
				c.nuvla.fail = func(r record) (int, string) {
					if r.Method == "PUT" {
						return 400, "resource does not satisfy defined schema: " + toJSON(r.Body)
					}
					return 0, ""
				}
			},
			want:  []string{"configuration/nuvla: PUT /api/configuration/nuvla: 400 Bad Request: resource does not satisfy defined schema", `"smtp-password":"[redacted]"`},
			nuvla: nuvlaFresh,
		},
		{
			name: "Elasticsearch cannot write to the bucket",
			setup: func(c *configured) {
				c.es.verifyError = "Unable to upload object [example-host/tests-x/master.dat]: Access Denied (Status Code: 403)"
			},
			want: []string{
				"snapshot-repository nuvla-s3: PUT /_snapshot/nuvla-s3: 500 Internal Server Error: repository_verification_exception: [nuvla-s3] path [example-host] is not accessible on master node",
				"i_o_exception: Unable to upload object [example-host/tests-x/master.dat]: Access Denied",
			},
			nuvla: nuvlaFresh, es: esFresh[:2],
		},
		{
			name:  "Elasticsearch is down",
			setup: func(c *configured) { c.es.srv.Close() },
			want:  []string{"snapshot-repository nuvla-s3: GET /_snapshot/nuvla-s3: "},
			nuvla: nuvlaFresh,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newConfigured(t)
			tc.setup(c)
			_, err := c.run(t, c.plan(t, c.doc(t)))
			if err == nil {
				t.Fatal("no error")
			}
			c.noSecrets(t, "the error", err.Error())
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if d := cmp.Diff(tc.nuvla, c.nuvla.requests()); d != "" {
				t.Errorf("Nuvla requests (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.es, c.es.requests()); d != "" {
				t.Errorf("Elasticsearch requests (-want +got):\n%s", d)
			}
		})
	}
}

func TestConfigurePlanRefusesSecrets(t *testing.T) {
	for _, tc := range []struct{ name, file, content, want string }{
		{"placeholder", "smtp_password", secrets.Placeholder + "\n", "still the placeholder"},
		{"blank", "smtp_password", " \n", "want one line that is not blank"},
		{"two lines", registration.SuperPasswordFile, "a\nb\n", "want one line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newConfigured(t)
			c.writeSecret(t, tc.file, tc.content)
			_, err := configure.NewPlan(c.doc(t), c.dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), filepath.Join(c.dir, hostSite, tc.file)) {
				t.Errorf("NewPlan: %v, want %q about %s", err, tc.want, tc.file)
			}
		})
	}
}

func TestConfigureDryRun(t *testing.T) {
	c := newConfigured(t)
	var out bytes.Buffer
	if err := DryRunConfigure(&out, "https://nuvla.example.org", c.plan(t, c.doc(t))); err != nil {
		t.Fatal(err)
	}
	if n := len(c.nuvla.requests()) + len(c.es.requests()); n != 0 {
		t.Errorf("dry run sent %d requests", n)
	}
	s := out.String()
	c.noSecrets(t, "the dry run", s)
	golden.CheckFile(t, filepath.Join("testdata", "configure-dry-run.txt"), []byte(strings.ReplaceAll(s, c.dir, "DIR")))
}

// TestConfigureSnapshotsOnly: a document without a Nuvla part needs no
// super password and sends nothing to Nuvla.
func TestConfigureSnapshotsOnly(t *testing.T) {
	c := newConfigured(t)
	if err := os.Remove(filepath.Join(c.dir, hostSite, registration.SuperPasswordFile)); err != nil {
		t.Fatal(err)
	}
	d := c.doc(t)
	d.Nuvla = nil
	got, err := c.run(t, c.plan(t, d))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(c.nuvla.requests()) != 0 {
		t.Errorf("results %q, Nuvla requests %q", got, c.nuvla.requests())
	}
	if diff := cmp.Diff(esFresh, c.es.requests()); diff != "" {
		t.Errorf("Elasticsearch requests (-want +got):\n%s", diff)
	}
}
