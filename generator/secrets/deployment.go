package secrets

import (
	"crypto/x509"
	"fmt"
	"net/netip"
	"path"
	"time"

	"github.com/nuvla/nuvlagen/generator/pki"
	"github.com/nuvla/nuvlagen/generator/site"
)

// The secrets directory of a deployment: the CA, and a directory per
// site (what that site's deploy.sh --secrets reads), with the TLS pairs
// that link the sites.
const (
	// CADir holds the deployment's CA: its key signs every certificate
	// below and never leaves the operator's machine.
	CADir     = "ca"
	CACert    = "ca.pem"
	CAKey     = "ca-key.pem"
	DockerTLS = "docker-tls"          // in a target's directory: a directory per manager
	ClientTLS = "nuvla-docker-client" // in the host's directory
)

// Docker's own names for a TLS directory (DOCKER_CERT_PATH).
const (
	tlsCA   = "ca.pem"
	tlsCert = "cert.pem"
	tlsKey  = "key.pem"
)

// Deployment returns every file of a deployment's secrets directory,
// named by their path in it: the CA's (ca, a new one when nil is given),
// then each site's, with Traefik's certificates signed by the CA, each
// target manager's Docker API server pair (for the address and name
// Nuvla connects to), Nuvla's client pair for those APIs in the host's
// directory, and the host's truststore holding the CA.
func Deployment(d *site.Deployment, ca *pki.CA, now time.Time) ([]File, error) {
	var out []File
	if ca == nil {
		var err error
		if ca, err = pki.NewCA("nuvlagen deployment CA "+d.Host.Name, now); err != nil {
			return nil, err
		}
		key, err := ca.KeyPEM()
		if err != nil {
			return nil, err
		}
		out = append(out,
			File{Name: path.Join(CADir, CACert), Content: ca.CertPEM(), Group: "ca",
				Note: "the deployment's CA, valid until " + ca.Cert.NotAfter.UTC().Format("2006-01-02")},
			File{Name: path.Join(CADir, CAKey), Content: key, Group: "ca",
				Note: "the CA's key: keep it offline; it signs every certificate of the deployment"})
	}
	for _, s := range append([]*site.Site{d.Host}, d.Targets...) {
		files, err := generate(s, ca, now)
		if err != nil {
			return nil, fmt.Errorf("site %s: %w", s.Name, err)
		}
		for _, f := range files {
			f.Name = path.Join(s.Name, f.Name)
			if f.Group != "" {
				f.Group = s.Name + "/" + f.Group
			}
			out = append(out, f)
		}
		if s.Kind != site.KindTarget {
			continue
		}
		for _, n := range s.Nodes {
			if n.Role != "manager" {
				continue
			}
			leaf, err := ca.Server(n.Name, []string{n.Name}, []netip.Addr{n.Address}, now)
			if err != nil {
				return nil, fmt.Errorf("site %s, node %s: %w", s.Name, n.Name, err)
			}
			dir := path.Join(s.Name, DockerTLS, n.Name)
			out = append(out, tlsPair(dir, ca, leaf, fmt.Sprintf("Docker API server certificate of %s for %s and %s, valid until %s", n.Name, n.Address, n.Name, leaf.Cert.NotAfter.UTC().Format("2006-01-02")))...)
		}
	}
	leaf, err := ca.Client("nuvla "+d.Host.Name, now)
	if err != nil {
		return nil, err
	}
	out = append(out, tlsPair(path.Join(d.Host.Name, ClientTLS), ca, leaf, "Nuvla's client certificate for the targets' Docker APIs, valid until "+leaf.Cert.NotAfter.UTC().Format("2006-01-02"))...)
	return out, nil
}

func tlsPair(dir string, ca *pki.CA, leaf *pki.Leaf, note string) []File {
	return []File{
		{Name: path.Join(dir, tlsCA), Content: ca.CertPEM(), Group: dir},
		{Name: path.Join(dir, tlsCert), Content: leaf.CertPEM, Group: dir, Note: note},
		{Name: path.Join(dir, tlsKey), Content: leaf.KeyPEM, Group: dir},
	}
}

// caSigned makes Traefik's default certificate, signed by the CA.
func caSigned(s *site.Site, list []site.Secret, ca *pki.CA, now time.Time) ([]File, error) {
	certSec, keySec, err := pair(list, "tls-cert", "tls-key")
	if err != nil {
		return nil, err
	}
	names := []string{s.Domain}
	if s.S3Domain != "" && s.S3Domain != s.Domain {
		names = append(names, s.S3Domain)
	}
	leaf, err := ca.Server(s.Domain, names, nil, now)
	if err != nil {
		return nil, err
	}
	return []File{
		{Name: certSec.Name, Content: leaf.CertPEM, Group: "tls",
			Note: fmt.Sprintf("certificate for %v signed by the deployment CA, valid until %s", names, leaf.Cert.NotAfter.UTC().Format("2006-01-02"))},
		{Name: keySec.Name, Content: leaf.KeyPEM, Group: "tls"},
	}, nil
}

// trustStore makes the api's truststore: the deployment CA (when there is
// one) and the public roots of this machine, which the JVM's own
// truststore would have held.
func trustStore(sec site.Secret, ca *pki.CA) (File, error) {
	roots, from, err := pki.SystemRoots()
	if err != nil {
		return File{}, fmt.Errorf("secret %s: %w", sec.Name, err)
	}
	certs := roots
	note := fmt.Sprintf("%d public roots from %s", len(roots), from)
	if ca != nil {
		certs = append([]*x509.Certificate{ca.Cert}, roots...)
		note = "the deployment CA and " + note
	}
	b, err := pki.TrustStore(certs, pki.TrustStorePassword)
	if err != nil {
		return File{}, fmt.Errorf("secret %s: %w", sec.Name, err)
	}
	return File{Name: sec.Name, Content: b, Note: note}, nil
}
