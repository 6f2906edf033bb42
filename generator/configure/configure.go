// Package configure renders what a host site sets in its running Nuvla,
// and reads it back for the applier (generator/nuvlaapi Configure): one
// JSON document, configure/configure.json in the site's output, with the
// secret fields left out and named by the secrets file they are read
// from.
//
// What the document holds, and the sources it follows:
//
//   - Nuvla's configuration/nuvla resource, which the api-server creates
//     at start (configuration_nuvla.clj initialize) and PUT
//     /api/configuration/nuvla edits, the body's keys merged into it
//     (std_crud.clj edit-fn). Its fields are those of
//     spec/configuration_template_nuvla.cljc: smtp-host, smtp-username and
//     smtp-password (nonblank strings; the password :sensitive),
//     smtp-port (core/port, 1-65535), smtp-ssl (boolean), support-email
//     (core/email). email/sending.clj reads them at every email, so no
//     restart is needed.
//   - Elasticsearch's snapshot repository, PUT _snapshot/<name> {type:
//     s3, settings: {bucket, base_path, ...}} (repository-s3, a module of
//     the distribution since 8.0; nuvla/es 8.11.3.0 is 8.11.3). endpoint,
//     protocol, region and path_style_access are client settings a
//     repository's settings override (S3ClientSettings.refine), so they
//     need no elasticsearch.yml. The keys are secure client settings
//     (s3.client.default.access_key and secret_key), in the keystore,
//     where nuvla/es's entrypoint (nuvla-init.sh) puts the Docker secrets
//     mounted at /run/secrets/s3_access_key and s3_secret_key before
//     Elasticsearch starts.
//   - A snapshot lifecycle policy, PUT _slm/policy/<id> {schedule, name,
//     repository, retention: {expire_after, min_count, max_count}}; SLM
//     adds a unique suffix to each snapshot's name, whatever the schedule.
package configure

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"path/filepath"

	"github.com/nuvla/nuvlagen/generator/artifact"
	"github.com/nuvla/nuvlagen/generator/inputfile"
	"github.com/nuvla/nuvlagen/generator/site"
)

// Dir is the directory of a host site's output that holds the document,
// and FileName the document's name there.
const (
	Dir      = "configure"
	FileName = "configure.json"
)

// NuvlaConfiguration is the resource that holds Nuvla's own configuration.
const NuvlaConfiguration = "configuration/nuvla"

// ESService is the Elasticsearch service's name on the backend network
// (cue/nuvla.cue's db stack; the api's ES_ENDPOINTS names it so too), and
// ESPort its HTTP port.
const (
	ESService = "es"
	ESPort    = 9200
)

// Document is what a host site sets in its running Nuvla. Its keys
// print sorted, after the generated-file notice.
type Document struct {
	Generated string `json:"generated"`
	// Site is the host site's name: its secrets directory is
	// DIR/<Site>.
	Site string `json:"site"`
	// Endpoint is Nuvla's, https://<domain>.
	Endpoint string `json:"endpoint"`
	// Nuvla is what goes into configuration/nuvla; nil for nothing.
	Nuvla *Nuvla `json:"nuvla,omitempty"`
	// Elasticsearch is the snapshots' repository and policy; nil for none.
	Elasticsearch *Elasticsearch `json:"elasticsearch,omitempty"`
}

// Nuvla is the fields of configuration/nuvla to set.
type Nuvla struct {
	// Fields are the values to set, by field name, secrets left out.
	Fields map[string]any `json:"fields"`
	// Secrets are the fields read from files of the site's secrets
	// directory: field → file name. Each file holds one line.
	Secrets map[string]string `json:"secrets,omitempty"`
}

// Elasticsearch is how to reach the site's Elasticsearch, which is
// published on the backend network only, and what to register in it.
type Elasticsearch struct {
	// URL is Elasticsearch's on the backend network.
	URL string `json:"url"`
	// Network and Image make the one-off container that reaches it: on
	// the backend network (attachable), running the Elasticsearch
	// image's own curl, so no other image is pulled.
	Network string `json:"network"`
	Image   string `json:"image"`
	// Repository and Policy are the bodies of PUT _snapshot/<name> and
	// PUT _slm/policy/<name>.
	Repository Named `json:"repository"`
	Policy     Named `json:"policy"`
}

// Named is a named Elasticsearch object and the body that creates it.
type Named struct {
	Name string         `json:"name"`
	Body map[string]any `json:"body"`
}

// Build returns a host site's document; nil when the site configures
// nothing (or is no host).
func Build(s *site.Site) *Document {
	if s.Kind != site.KindHost || (s.SMTP == nil && s.SupportEmail == "" && s.Snapshots == nil) {
		return nil
	}
	d := &Document{Generated: artifact.Notice(s.File), Site: s.Name, Endpoint: "https://" + s.Domain}
	if s.SMTP != nil || s.SupportEmail != "" {
		d.Nuvla = &Nuvla{Fields: map[string]any{}}
	}
	if m := s.SMTP; m != nil {
		d.Nuvla.Fields["smtp-host"] = m.Host
		d.Nuvla.Fields["smtp-port"] = m.Port
		d.Nuvla.Fields["smtp-ssl"] = m.SSL
		d.Nuvla.Fields["smtp-username"] = m.Username
		d.Nuvla.Secrets = map[string]string{"smtp-password": site.SMTPPasswordSecret}
	}
	if s.SupportEmail != "" {
		d.Nuvla.Fields["support-email"] = s.SupportEmail
	}
	if sn := s.Snapshots; sn != nil {
		base := sn.BasePath
		if base == "" {
			base = s.Name // cue/configure.cue's default
		}
		settings := map[string]any{
			"bucket":            sn.Bucket,
			"base_path":         base,
			"protocol":          sn.Protocol,
			"path_style_access": sn.PathStyle,
		}
		if sn.Endpoint != "" {
			settings["endpoint"] = sn.Endpoint
		}
		if sn.Region != "" {
			settings["region"] = sn.Region
		}
		d.Elasticsearch = &Elasticsearch{
			URL:     fmt.Sprintf("http://%s:%d", ESService, ESPort),
			Network: s.Networks.Backend,
			Image:   s.Images["elasticsearch"],
			Repository: Named{Name: sn.Repository, Body: map[string]any{
				"type": "s3", "settings": settings,
			}},
			Policy: Named{Name: sn.Policy, Body: map[string]any{
				// Date math: one name a day, to which SLM adds a unique suffix.
				"name":       "<" + s.Name + "-{now/d}>",
				"schedule":   sn.Schedule,
				"repository": sn.Repository,
				"retention": map[string]any{
					"expire_after": sn.Retention.ExpireAfter,
					"min_count":    sn.Retention.MinCount,
					"max_count":    sn.Retention.MaxCount,
				},
			}},
		}
	}
	return d
}

// Render returns a host site's files under Dir: the document, or none
// when the site configures nothing.
func Render(s *site.Site) (map[string][]byte, error) {
	d := Build(s)
	if d == nil {
		return nil, nil
	}
	b, err := Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("site %s: %s: %w", s.Name, FileName, err)
	}
	return map[string][]byte{path.Join(Dir, FileName): b}, nil
}

// Marshal prints a document as the generated file holds it.
func Marshal(d *Document) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// maxDocument bounds what is read of a document.
const maxDocument = 1 << 20

// Parse reads a document and checks what the applier relies on.
func Parse(b []byte) (*Document, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	var d Document
	if err := dec.Decode(&d); err != nil {
		return nil, err
	}
	if d.Site == "" || d.Endpoint == "" {
		return nil, fmt.Errorf("no site or endpoint: not a document nuvlagen generate wrote")
	}
	if d.Nuvla == nil && d.Elasticsearch == nil {
		return nil, fmt.Errorf("nothing to configure")
	}
	if n := d.Nuvla; n != nil {
		for f, file := range n.Secrets {
			if _, ok := n.Fields[f]; ok {
				return nil, fmt.Errorf("nuvla: %s is both a value and a secret", f)
			}
			if file == "" || filepath.Base(file) != file || file == "." || file == ".." {
				return nil, fmt.Errorf("nuvla: secret %s: file %q: want a file name of the site's secrets directory", f, file)
			}
		}
	}
	if e := d.Elasticsearch; e != nil {
		if e.URL == "" || e.Network == "" || e.Image == "" || e.Repository.Name == "" || e.Policy.Name == "" {
			return nil, fmt.Errorf("elasticsearch: want url, network, image, and the repository's and policy's names")
		}
	}
	return &d, nil
}

// ReadDir reads the document of a directory Render wrote (the disk's
// only reader in this package, with NewPlan).
func ReadDir(dir string) (*Document, error) {
	file := filepath.Join(dir, FileName)
	b, err := inputfile.Read(file, maxDocument)
	if err != nil {
		return nil, err
	}
	d, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return d, nil
}
