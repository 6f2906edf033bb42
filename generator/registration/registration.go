// Package registration renders what Nuvla needs to deploy on a target
// site, and reads it back for the applier (generator/nuvlaapi): one JSON
// document per Nuvla resource, under nuvla/ in the site's output, with
// the secret fields left out and named by the secrets file they are read
// from at registration time.
//
// The resources and their fields follow Nuvla's own api-server
// (github.com/nuvla/api-server, code/src/com/sixsq/nuvla/server/resources),
// and the way it registers a NuvlaEdge's services itself
// (nuvlabox/workflow_utils.clj: create-coe-service, create-minio-service,
// create-coe-cred, create-minio-cred):
//
//   - infrastructure-service-group: spec/infrastructure_service_group.cljc
//     (common attributes: name, description, acl).
//   - infrastructure-service, created through the template
//     infrastructure-service-template/generic:
//     infrastructure_service.clj, spec/infrastructure_service_template_generic.cljc
//     (template: href, subtype, endpoint; the create document's name,
//     description, parent and acl are merged into it, utils.clj
//     select-desc-keys). Subtypes "swarm" and "s3", as NuvlaEdges have.
//   - credential, created through credential-template/infrastructure-service-swarm
//     (spec/credential_template_infrastructure_service_coe.cljc: ca, cert,
//     key) and credential-template/infrastructure-service-minio
//     (spec/credential_template_infrastructure_service_minio.cljc:
//     access-key, secret-key); parent, required by
//     spec/credential_infrastructure_service.cljc, is the service's id.
//     The api-server reads S3 keys only from the minio subtype
//     (data/utils.clj extract-s3-key-secret), and the endpoint from the
//     credential's parent service.
//   - acl: written normalised as the database stores it
//     (auth/utils/acl.clj normalize-acl), so a re-run compares equal.
package registration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"path"
	"sort"
	"strings"

	"github.com/nuvla/nuvlagen/generator/artifact"
	"github.com/nuvla/nuvlagen/generator/site"
)

// Dir is the directory of a target site's output that holds the documents.
const Dir = "nuvla"

// Collections of the Nuvla API the documents create resources in.
const (
	Group      = "infrastructure-service-group"
	Service    = "infrastructure-service"
	Credential = "credential"
)

// Where a secret is read from: the secrets directory of the host site
// (Nuvla's own) or of the target site the documents register.
const (
	FromHost   = "host"
	FromTarget = "target"
)

// Formats of secrets files, each checked before anything is sent.
const (
	FormatCertificate = "pem-certificate" // one or more PEM certificates, sent as they are
	FormatPrivateKey  = "pem-private-key" // a PEM private key, sent as it is
	FormatLine        = "line"            // one line; a final newline is not part of it
)

// DockerAPIPort is where the target's managers serve the Docker API with
// TLS client verification (the firewall's docker-api port).
const DockerAPIPort = 2376

// Files of the host site's secrets directory: Nuvla's client key pair for
// every target's Docker API, and the super user's password.
const (
	DockerClientDir   = "nuvla-docker-client"
	SuperPasswordFile = "NUVLA_SUPER_PASSWORD"
	SuperUser         = "super"
)

// edgeLabel marks the manager that publishes the site's ports (cue/site.cue
// #edgeLabel): Nuvla talks to the Docker API there.
const edgeLabel = "edge"

// Secret names the file a secret field is read from.
type Secret struct {
	File   string `json:"file"`   // slash-separated, relative to the site's secrets directory
	Format string `json:"format"` // FormatCertificate, FormatPrivateKey or FormatLine
	Site   string `json:"site"`   // FromHost or FromTarget
}

// Document is one Nuvla resource to create or update. Its keys print
// sorted, after the generated-file notice.
type Document struct {
	Generated string `json:"generated"`
	// Create is the body of the POST that creates the resource, without
	// parent and the secret fields.
	Create map[string]any `json:"create"`
	// Name is the resource's name: with Subtype and the parent, what
	// finds it again in Nuvla.
	Name string `json:"name"`
	// Parent is the key of the document whose resource's id is this
	// resource's parent; "" for none.
	Parent string `json:"parent,omitempty"`
	// Resource is the collection (Group, Service or Credential).
	Resource string `json:"resource"`
	// Secrets are the fields of Create's template read from secrets files.
	Secrets map[string]Secret `json:"secrets,omitempty"`
	// Site is the target site the resource is of.
	Site string `json:"site"`
	// Subtype is the resource's subtype as Nuvla stores it; "" for a group.
	Subtype string `json:"subtype,omitempty"`

	// Key is the document's file name without ".json", set by Parse.
	Key string `json:"-"`
}

// Manager returns the node whose Docker API Nuvla uses: the edge manager,
// or the first manager when no node carries the label.
func Manager(s *site.Site) (site.Node, error) {
	var first *site.Node
	for i, n := range s.Nodes {
		if n.Role != "manager" {
			continue
		}
		if n.Labels[edgeLabel] == "true" {
			return n, nil
		}
		if first == nil {
			first = &s.Nodes[i]
		}
	}
	if first == nil {
		return site.Node{}, fmt.Errorf("site %s has no manager for Nuvla to reach the Docker API on", s.Name)
	}
	return *first, nil
}

// Documents returns a target site's documents by key; none for a host site.
func Documents(s *site.Site) (map[string]*Document, error) {
	if s.Kind != site.KindTarget {
		return nil, nil
	}
	if s.S3Domain == "" {
		return nil, fmt.Errorf("target site %s has no S3 domain", s.Name)
	}
	m, err := Manager(s)
	if err != nil {
		return nil, err
	}
	notice := artifact.Notice(s.File)
	// Users see the group and its services and deploy with the
	// credentials; view-meta on a credential is what a deployment needs
	// (deployment.clj throw-cannot-view), and keeps its keys to admins.
	visible := acl("view-data")
	usable := acl("view-meta")
	doc := func(res, name, subtype, parent string, create map[string]any, secrets map[string]Secret) *Document {
		create["name"] = name
		return &Document{Generated: notice, Site: s.Name, Resource: res, Name: name, Subtype: subtype,
			Parent: parent, Create: create, Secrets: secrets}
	}
	client := func(f string) string { return path.Join(DockerClientDir, f) }
	return map[string]*Document{
		"infrastructure-service-group": doc(Group, s.Name, "", "", map[string]any{
			"description": fmt.Sprintf("Docker Swarm target site %s: containers on its Swarm, data on its Minio S3", s.Name),
			"acl":         visible,
		}, nil),
		"infrastructure-service-swarm": doc(Service, s.Name+" swarm", "swarm", "infrastructure-service-group", map[string]any{
			"description": fmt.Sprintf("Docker Swarm API of target site %s, on manager %s", s.Name, m.Name),
			"acl":         visible,
			"template": map[string]any{
				"href":     "infrastructure-service-template/generic",
				"subtype":  "swarm",
				"endpoint": "https://" + netip.AddrPortFrom(m.Address, DockerAPIPort).String(),
			},
		}, nil),
		"infrastructure-service-s3": doc(Service, s.Name+" s3", "s3", "infrastructure-service-group", map[string]any{
			"description": fmt.Sprintf("Minio S3 of target site %s", s.Name),
			"acl":         visible,
			"template": map[string]any{
				"href":     "infrastructure-service-template/generic",
				"subtype":  "s3",
				"endpoint": "https://" + s.S3Domain,
			},
		}, nil),
		"credential-swarm": doc(Credential, s.Name+" swarm", "infrastructure-service-swarm", "infrastructure-service-swarm", map[string]any{
			"description": fmt.Sprintf("Nuvla's TLS client certificate for the Docker API of target site %s", s.Name),
			"acl":         usable,
			"template":    map[string]any{"href": "credential-template/infrastructure-service-swarm"},
		}, map[string]Secret{
			"ca":   {Site: FromHost, File: client("ca.pem"), Format: FormatCertificate},
			"cert": {Site: FromHost, File: client("cert.pem"), Format: FormatCertificate},
			"key":  {Site: FromHost, File: client("key.pem"), Format: FormatPrivateKey},
		}),
		"credential-s3": doc(Credential, s.Name+" s3", "infrastructure-service-minio", "infrastructure-service-s3", map[string]any{
			"description": fmt.Sprintf("Minio root user of target site %s", s.Name),
			"acl":         usable,
			"template":    map[string]any{"href": "credential-template/infrastructure-service-minio"},
		}, map[string]Secret{
			"access-key": {Site: FromTarget, File: "minio_root_user", Format: FormatLine},
			"secret-key": {Site: FromTarget, File: "minio_root_password", Format: FormatLine},
		}),
	}, nil
}

// acl is owned by Nuvla's administrators (the super user is one) and
// grants right to every Nuvla user, normalised.
func acl(right string) map[string]any {
	return NormalizeACL(map[string]any{"owners": []any{"group/nuvla-admin"}, right: []any{"group/nuvla-user"}})
}

// Render returns a target site's files under Dir: a document per
// resource and the README that says how to register them.
func Render(s *site.Site) (map[string][]byte, error) {
	docs, err := Documents(s)
	if err != nil || docs == nil {
		return nil, err
	}
	files := map[string][]byte{}
	for key, d := range docs {
		b, err := Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("site %s: %s: %w", s.Name, key, err)
		}
		files[path.Join(Dir, key+".json")] = b
	}
	m, _ := Manager(s) // Documents succeeded
	files[path.Join(Dir, "README.md")] = readme(s, m, docs)
	return files, nil
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

func readme(s *site.Site, m site.Node, docs map[string]*Document) []byte {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	b.WriteString(artifact.MarkdownHeader(s.File))
	w("# Registering %s in Nuvla\n\n", s.Name)
	w("These documents describe the Nuvla resources that let Nuvla deploy on this site, without their secrets:\n\n")
	w("| file | resource | name | secrets read from |\n|---|---|---|---|\n")
	list := make([]*Document, 0, len(docs))
	for k, d := range docs {
		d.Key = k
		list = append(list, d)
	}
	// In a deployment the host is known; a target on its own names it
	// HOST and its Nuvla NUVLA-DOMAIN.
	host, endpoint := "HOST", "https://NUVLA-DOMAIN"
	if s.Link != nil {
		host, endpoint = s.Link.Host, "https://"+s.Link.HostDomain
	}
	for _, d := range ordered(list) {
		k := d.Key
		var from []string
		for _, f := range sortedKeys(d.Secrets) {
			sec := d.Secrets[f]
			dir := host
			if sec.Site == FromTarget {
				dir = s.Name
			}
			from = append(from, fmt.Sprintf("%s: `DIR/%s/%s`", f, dir, sec.File))
		}
		w("| `%s.json` | %s | %s | %s |\n", k, d.Resource, d.Name, strings.Join(from, ", "))
	}
	w("\nRegister them, once the host site's Nuvla is up, from the site's directory (the one holding `nuvla/`, which `nuvlagen generate` wrote), on a machine that has the deployment's secrets directory DIR (written by secrets init: see the site's README):\n\n")
	cacert := ""
	if s.Link != nil && s.TLS.Mode == "selfsigned" {
		cacert = " --cacert DIR/ca/ca.pem"
	}
	w("```sh\nnuvlagen register --secrets DIR --host %s --endpoint %s%s ./nuvla\n```\n\n", host, endpoint, cacert)
	if s.Link == nil {
		w("where HOST is the host site's name: ")
	}
	w("nuvlagen logs in as the user %s with `DIR/%s/%s`, and Nuvla's Docker client certificate and key are in `DIR/%s/%s/`. ", SuperUser, host, SuperPasswordFile, host, DockerClientDir)
	w("`--dry-run` checks the secrets and prints the requests of a first registration, secrets left out, without sending any; `--cacert FILE` trusts Nuvla's certificate when it is not publicly signed (in a deployment, the CA in `DIR/ca/ca.pem` signs it).\n\n")
	w("A resource is found again by its name, subtype and parent: a second run changes nothing, and after a change here (another manager, a new Minio password) it updates what differs.\n\n")
	w("Then Nuvla reaches this site at:\n\n")
	w("- `https://%s`: the Docker API of manager %s (the job executors, with the client certificate; `prepare/%s.sh` sets it up, with the server certificate `secrets init` made for this address);\n", netip.AddrPortFrom(m.Address, DockerAPIPort), m.Name, m.Name)
	w("- `https://%s`: Minio, from the api container itself (it creates buckets there, and signs the URLs users upload and download with). The api's JVM verifies it with the host's `nuvla_truststore` secret (the deployment CA and the public roots), which the host's core stack mounts and names in `JAVA_TOOL_OPTIONS`.\n", s.S3Domain)
	return b.Bytes()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
