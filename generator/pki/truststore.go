package pki

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"software.sslmate.com/src/go-pkcs12"
)

// TrustStorePassword is the password of the truststores a JVM loads. It
// guards no secret: a truststore holds only public certificates, and the
// JVM needs a password only to check the file's integrity MAC. "changeit"
// is the JVM's own convention (its cacerts file has it), so it is what an
// operator tries first.
const TrustStorePassword = pkcs12.DefaultPassword

// TrustStore encodes certs as a PKCS#12 truststore that a JVM loads with
// -Djavax.net.ssl.trustStore=FILE -Djavax.net.ssl.trustStorePassword=…
// -Djavax.net.ssl.trustStoreType=PKCS12. For Nuvla's api that is the
// deployment CA followed by SystemRoots, so that replacing the JVM's
// truststore does not stop it trusting public services. A certificate
// given twice is stored once. Each entry carries the attribute Java
// requires to treat it as trusted (go-pkcs12's EncodeTrustStoreEntries,
// which EncodeTrustStore calls with the subjects as aliases; ours are
// unique).
func TrustStore(certs []*x509.Certificate, password string) ([]byte, error) {
	if len(certs) == 0 {
		return nil, errors.New("truststore: no certificate to trust")
	}
	var entries []pkcs12.TrustStoreEntry
	seen := map[string]bool{}    // certificates, by DER
	aliases := map[string]bool{} // Java folds aliases to lower case
	for _, c := range certs {
		if seen[string(c.Raw)] {
			continue
		}
		seen[string(c.Raw)] = true
		entries = append(entries, pkcs12.TrustStoreEntry{Cert: c, FriendlyName: alias(c, aliases)})
	}
	// LegacyDES (3DES, HMAC-SHA-1) is the encoding every JVM since 8
	// reads, and OpenSSL 3 too; which Java Nuvla's api image runs is its
	// own business. The weak cipher protects nothing here (see
	// TrustStorePassword).
	b, err := pkcs12.LegacyDES.EncodeTrustStoreEntries(entries, password)
	if err != nil {
		return nil, fmt.Errorf("truststore: %w", err)
	}
	return b, nil
}

// alias names c in a truststore: its common name (what keytool -list
// shows), or its whole subject, in lower case as the JVM keeps aliases;
// one already taken gets c's fingerprint added, since the JVM would
// otherwise keep only one of the certificates.
func alias(c *x509.Certificate, taken map[string]bool) string {
	a := c.Subject.CommonName
	if a == "" {
		a = c.Subject.String()
	}
	a = strings.ToLower(a)
	if a == "" || taken[a] {
		sum := sha256.Sum256(c.Raw)
		a = strings.TrimSpace(a + " " + hex.EncodeToString(sum[:8]))
	}
	taken[a] = true
	return a
}

// rootBundles are where Linux distributions keep the CA bundle, in the
// order crypto/x509 looks for them (root_linux.go).
var rootBundles = []string{
	"/etc/ssl/certs/ca-certificates.crt",                // Debian, Ubuntu, Gentoo
	"/etc/pki/tls/certs/ca-bundle.crt",                  // Fedora, RHEL 6
	"/etc/ssl/ca-bundle.pem",                            // openSUSE
	"/etc/pki/tls/cacert.pem",                           // OpenELEC
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS, RHEL 7
	"/etc/ssl/cert.pem",                                 // Alpine
}

// SystemRoots reads the machine's CA bundle, the first of the usual
// files that exists, and says which file it read. It is the one function
// of the package that reads the disk.
func SystemRoots() ([]*x509.Certificate, string, error) {
	return systemRoots(rootBundles)
}

func systemRoots(files []string) ([]*x509.Certificate, string, error) {
	for _, f := range files {
		b, err := os.ReadFile(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, f, fmt.Errorf("system CA bundle: %w", err)
		}
		certs, err := parseBundle(b)
		if err != nil {
			return nil, f, fmt.Errorf("system CA bundle %s: %w", f, err)
		}
		return certs, f, nil
	}
	return nil, "", fmt.Errorf("no system CA bundle: none of %s exists (Debian: apt-get install ca-certificates)", strings.Join(files, ", "))
}

// parseBundle reads the certificates of a CA bundle. Like crypto/x509's
// system pool, it skips blocks that are not certificates and
// certificates it cannot parse (a bundle may keep a root that today's
// stricter parsers refuse), but a bundle with none is an error: an empty
// truststore would trust nothing.
func parseBundle(b []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type != certType || len(block.Headers) != 0 {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			continue
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no certificate in it")
	}
	return certs, nil
}
