// Package secrets generates the contents of a site's secrets directory:
// one file per Docker secret the stacks mount and per variable the
// compose files require, as deploy.sh reads them. Generation is pure: it
// returns file contents and never touches the disk; the CLI writes them.
package secrets

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"slices"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/nuvla/nuvlagen/generator/pki"
	"github.com/nuvla/nuvlagen/generator/site"
)

// File is one file of the secrets directory.
type File struct {
	Name    string // the Docker secret's or the variable's name
	Content []byte
	// Group names the files that belong together (a key and its
	// certificate): they are created or kept together, never one alone.
	Group string
	// Note is shown to the operator when the file is created.
	Note string
	// Irreplaceable, when set, says what replacing an existing file
	// destroys: such a file is kept even when others are replaced
	// (secrets init --force), and regenerated only when asked by name.
	Irreplaceable string
}

// CredentialKey is the variable Nuvla encrypts the credentials it stores
// with: a new value makes every stored credential unreadable.
const CredentialKey = "CREDENTIAL_ENCRYPTION_KEY"

// irreplaceable says what replacing the variables that must outlive a
// deployment destroys.
var irreplaceable = map[string]string{
	CredentialKey: "Nuvla encrypts the secrets of the credentials it stores with this key: with a new one, no credential stored with the old key can be decrypted, and each must be entered again",
}

// Lifetimes and sizes.
const (
	passwordLength = 32
	variableLength = 48 // CREDENTIAL_ENCRYPTION_KEY needs 32 or more
	sessionKeyBits = 3072
	certValidity   = 397 * 24 * time.Hour
	// PrometheusUser is the basic-auth user of the htpasswd file.
	PrometheusUser = "admin"
	// Placeholder is the content of secrets nuvlagen cannot know.
	Placeholder = "REPLACE-ME"
)

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// Password returns n characters drawn uniformly from [A-Za-z0-9] with
// crypto/rand: nothing a shell, a URL or a YAML file would mangle.
func Password(n int) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		k, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		b[i] = alphabet[k.Int64()]
	}
	return string(b)
}

// Generate returns every file a site's secrets directory holds, in the
// order of the site's secrets, then its variables. now dates the
// self-signed certificate.
func Generate(s *site.Site, now time.Time) ([]File, error) { return generate(s, nil, now) }

// generate is Generate with the deployment's CA signing Traefik's
// certificate and in the truststore; ca nil: self-signed, public roots.
func generate(s *site.Site, ca *pki.CA, now time.Time) ([]File, error) {
	var out []File
	var tls, session []site.Secret
	for _, sec := range append(slices.Clone(s.Secrets), s.LocalSecrets...) {
		switch sec.Kind {
		case "password":
			out = append(out, File{Name: sec.Name, Content: []byte(Password(passwordLength))})
		case "username":
			out = append(out, File{Name: sec.Name, Content: []byte("nuvla-" + Password(12))})
		case "placeholder":
			out = append(out, File{Name: sec.Name, Content: []byte(Placeholder), Note: fmt.Sprintf("placeholder: write the %s into it", sec.Purpose)})
		case "htpasswd":
			pw := Password(passwordLength)
			hash, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
			if err != nil {
				return nil, fmt.Errorf("secret %s: %w", sec.Name, err)
			}
			out = append(out,
				File{Name: sec.Name, Content: fmt.Appendf(nil, "%s:%s\n", PrometheusUser, hash), Group: sec.Name},
				// Not a Docker secret: the password the hash is of, for the operator.
				File{Name: sec.Name + ".password", Content: []byte(pw), Group: sec.Name,
					Note: fmt.Sprintf("the password of user %s in %s", PrometheusUser, sec.Name)})
		case "tls-cert", "tls-key":
			tls = append(tls, sec)
		case "rsa-private-key", "rsa-public-key":
			session = append(session, sec)
		case "truststore":
			f, err := trustStore(sec, ca)
			if err != nil {
				return nil, err
			}
			out = append(out, f)
		default:
			return nil, fmt.Errorf("secret %s: unknown kind %q", sec.Name, sec.Kind)
		}
	}
	if len(tls) > 0 && ca != nil {
		files, err := caSigned(s, tls, ca, now)
		if err != nil {
			return nil, err
		}
		out = append(out, files...)
	} else if len(tls) > 0 {
		files, err := selfSigned(s, tls, now)
		if err != nil {
			return nil, err
		}
		out = append(out, files...)
	}
	if len(session) > 0 {
		files, err := rsaPair(session)
		if err != nil {
			return nil, err
		}
		out = append(out, files...)
	}
	for _, v := range s.Variables {
		out = append(out, File{Name: v.Name, Content: []byte(Password(variableLength)), Irreplaceable: irreplaceable[v.Name]})
	}
	return out, nil
}

// pair finds the one secret of each kind.
func pair(list []site.Secret, a, b string) (site.Secret, site.Secret, error) {
	var x, y []site.Secret
	for _, s := range list {
		switch s.Kind {
		case a:
			x = append(x, s)
		case b:
			y = append(y, s)
		}
	}
	if len(x) != 1 || len(y) != 1 {
		return site.Secret{}, site.Secret{}, fmt.Errorf("want one %s and one %s secret, the site has %d and %d", a, b, len(x), len(y))
	}
	return x[0], y[0], nil
}

// selfSigned makes Traefik's default certificate: ECDSA P-256, valid for
// the site's domain (and its S3 domain on a target site).
func selfSigned(s *site.Site, list []site.Secret, now time.Time) ([]File, error) {
	certSec, keySec, err := pair(list, "tls-cert", "tls-key")
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	names := []string{s.Domain}
	if s.S3Domain != "" && s.S3Domain != s.Domain {
		names = append(names, s.S3Domain)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: s.Domain, Organization: []string{"nuvlagen self-signed, site " + s.Name}},
		DNSNames:              names,
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return []File{
		{Name: certSec.Name, Content: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), Group: "tls",
			Note: fmt.Sprintf("self-signed certificate for %v, valid until %s", names, tmpl.NotAfter.UTC().Format("2006-01-02"))},
		{Name: keySec.Name, Content: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), Group: "tls"},
	}, nil
}

// rsaPair makes the key pair Nuvla signs and checks session tokens with:
// the private key as PKCS #8, the public key as PKIX, as openssl writes them.
func rsaPair(list []site.Secret) ([]File, error) {
	pubSec, privSec, err := pair(list, "rsa-public-key", "rsa-private-key")
	if err != nil {
		return nil, err
	}
	key, err := rsa.GenerateKey(rand.Reader, sessionKeyBits)
	if err != nil {
		return nil, err
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	return []File{
		{Name: privSec.Name, Content: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}), Group: "session"},
		{Name: pubSec.Name, Content: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), Group: "session"},
	}, nil
}

// Incomplete finds a group (a key and its certificate, say) of which a
// file exists and another does not: keeping the one without writing the
// other would break them, so a group is written whole or kept whole. It
// returns the file that exists and the one missing.
func Incomplete(files []File, exists map[string]bool) (have, missing string, found bool) {
	groups := map[string][]string{}
	for _, f := range files {
		if f.Group != "" {
			groups[f.Group] = append(groups[f.Group], f.Name)
		}
	}
	for _, f := range files {
		for _, other := range groups[f.Group] {
			if f.Group != "" && exists[f.Name] && !exists[other] {
				return f.Name, other, true
			}
		}
	}
	return "", "", false
}

// Renewable returns the files of files that renewing certificates
// replaces: every group holding a certificate (its key, and the CA copy
// beside a pair) but the deployment CA's own, which signs them all and is
// never replaced. Passwords, keys without certificates and variables are
// left out: renewing leaves them as they are.
func Renewable(files []File) []File {
	certGroup := map[string]bool{}
	for _, f := range files {
		if f.Group != "" && f.Group != "ca" && bytes.HasPrefix(f.Content, []byte("-----BEGIN CERTIFICATE-----")) {
			certGroup[f.Group] = true
		}
	}
	var out []File
	for _, f := range files {
		if certGroup[f.Group] {
			out = append(out, f)
		}
	}
	return out
}
