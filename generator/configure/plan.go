package configure

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/nuvla/nuvlagen/generator/inputfile"
	"github.com/nuvla/nuvlagen/generator/registration"
	"github.com/nuvla/nuvlagen/generator/secrets"
)

// maxSecret bounds what is read of a secrets file.
const maxSecret = 64 << 10

// Plan is a document with the secrets it needs read, ready to send.
type Plan struct {
	Doc *Document
	// SecretsDir is the host site's secrets directory.
	SecretsDir string
	// SuperPasswordFile is where the super user's password is read
	// from; "" when nothing goes to Nuvla's API.
	SuperPasswordFile string
	password          string
	values            map[string]string // Nuvla field → secret value
	sources           map[string]string // Nuvla field → its file
}

// NewPlan reads the secrets the document needs from the deployment's
// secrets directory (the host site's, secretsDir/<site>), or, when it
// has no such directory, from secretsDir itself, which secrets init
// writes for a host on its own: the super user's password when Nuvla is
// configured, and each secret field. Every file must hold one line that
// is not blank and not the placeholder `nuvlagen secrets init` wrote.
func NewPlan(d *Document, secretsDir string) (*Plan, error) {
	dir := filepath.Join(secretsDir, d.Site)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		dir = secretsDir
	}
	p := &Plan{Doc: d, SecretsDir: dir, values: map[string]string{}, sources: map[string]string{}}
	if d.Nuvla == nil {
		return p, nil
	}
	p.SuperPasswordFile = filepath.Join(p.SecretsDir, registration.SuperPasswordFile)
	var err error
	if p.password, err = readLine(p.SuperPasswordFile); err != nil {
		return nil, fmt.Errorf("the super user's password: %w", err)
	}
	for _, f := range slices.Sorted(maps.Keys(d.Nuvla.Secrets)) {
		file := filepath.Join(p.SecretsDir, d.Nuvla.Secrets[f])
		v, err := readLine(file)
		if err != nil {
			return nil, fmt.Errorf("nuvla %s: %w", f, err)
		}
		p.values[f], p.sources[f] = v, file
	}
	return p, nil
}

func readLine(file string) (string, error) {
	b, err := inputfile.Read(file, maxSecret)
	if err != nil {
		return "", err
	}
	v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	switch {
	case strings.TrimSpace(v) == "" || strings.ContainsAny(v, "\r\n"):
		return "", fmt.Errorf("%s: want one line that is not blank", file)
	case v == secrets.Placeholder:
		return "", fmt.Errorf("%s: still the placeholder \"nuvlagen secrets init\" wrote: write the real value", file)
	}
	return v, nil
}

// Password is the super user's password.
func (p *Plan) Password() string { return p.password }

// NuvlaFields are the fields configuration/nuvla should hold, secrets
// included; nil when the document configures nothing there.
func (p *Plan) NuvlaFields() map[string]any {
	if p.Doc.Nuvla == nil {
		return nil
	}
	out := maps.Clone(p.Doc.Nuvla.Fields)
	for f, v := range p.values {
		out[f] = v
	}
	return out
}

// RedactedNuvlaFields is NuvlaFields with each secret replaced by where
// it is read from.
func (p *Plan) RedactedNuvlaFields() map[string]any {
	out := p.NuvlaFields()
	for f, src := range p.sources {
		out[f] = "<secret from " + src + ">"
	}
	return out
}

// Secret reports whether a Nuvla field is a secret one.
func (p *Plan) Secret(field string) bool { _, ok := p.sources[field]; return ok }

// Redact replaces every secret the plan read, and its JSON and Go quoted
// forms, in s: for server messages, which may quote a request.
func (p *Plan) Redact(s string) string {
	all := slices.Collect(maps.Values(p.values))
	if p.password != "" {
		all = append(all, p.password)
	}
	for _, v := range all {
		js, _ := json.Marshal(v)
		q := strconv.Quote(v)
		for _, form := range []string{v, string(js[1 : len(js)-1]), q[1 : len(q)-1]} {
			s = strings.ReplaceAll(s, form, "[redacted]")
		}
	}
	return s
}
