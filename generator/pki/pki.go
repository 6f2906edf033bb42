// Package pki is a deployment's public key infrastructure: one CA per
// Nuvla deployment signs the server certificates of every target site's
// Docker API (port 2376, mutual TLS) and S3 endpoint, and the client
// certificate Nuvla presents to those Docker APIs. It works on bytes
// (PEM in, PEM out) and never touches the disk, except SystemRoots,
// which reads the machine's CA bundle; the secrets directory decides
// where the files live.
//
// Every key is ECDSA P-256: the Docker engine and CLI, Go (Traefik,
// Minio) and the JVM (Nuvla's api, through the AWS SDK) all accept it,
// and it is fast enough to generate in tests.
package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"time"
	"unicode"
	"unicode/utf8"
)

// Lifetimes.
const (
	// CAYears is how long a deployment CA is valid: replacing it means
	// reissuing every certificate of every site, so it lasts.
	CAYears = 10
	// LeafDays is how long a server or client certificate is valid: 825
	// days is the longest that Apple's TLS clients accept for a server
	// certificate, and leaves are cheap to reissue with `secrets init`.
	LeafDays = 825
	// backdate is how long before "now" a certificate becomes valid, so
	// a peer whose clock is a little behind accepts a fresh one.
	backdate = time.Hour
	// RenewAhead is how long before its expiry Expiring reports a
	// certificate.
	RenewAhead = 30 * 24 * time.Hour
)

// PEM block types.
const (
	certType = "CERTIFICATE"
	keyType  = "PRIVATE KEY" // PKCS#8
)

// CA is a deployment's certificate authority.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// Leaf is a certificate the CA issued, with its private key.
type Leaf struct {
	CertPEM []byte // one "CERTIFICATE" block
	KeyPEM  []byte // one PKCS#8 "PRIVATE KEY" block
	Cert    *x509.Certificate
}

// NewCA creates a CA valid for CAYears from now. It may sign end-entity
// certificates only (path length zero): no intermediate CA can be made
// from it.
func NewCA(commonName string, now time.Time) (*CA, error) {
	if err := checkCommonName(commonName); err != nil {
		return nil, fmt.Errorf("new CA: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("new CA %q: generating its key: %w", commonName, err)
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, fmt.Errorf("new CA %q: %w", commonName, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.AddDate(CAYears, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("new CA %q: %w", commonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("new CA %q: parsing it back: %w", commonName, err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// ParseCA reads a CA from its certificate and private key, as CertPEM
// and KeyPEM write them (the key may also be a SEC 1 "EC PRIVATE KEY" or
// a PKCS#1 "RSA PRIVATE KEY", for a CA made with openssl). It refuses a
// certificate that may not sign certificates and a key that is not the
// certificate's.
func ParseCA(certPEM, keyPEM []byte) (*CA, error) {
	cert, err := parseCert(certPEM)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	name := cert.Subject.String()
	if !cert.BasicConstraintsValid || !cert.IsCA {
		return nil, fmt.Errorf("CA certificate %q: not a CA (no basic constraints with CA:TRUE)", name)
	}
	if cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("CA certificate %q: its key usage does not include signing certificates", name)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("CA key: %w", err)
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("CA key: not the key of certificate %q", name)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// CertPEM is the CA's certificate as one "CERTIFICATE" PEM block: what
// peers trust.
func (ca *CA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: certType, Bytes: ca.Cert.Raw})
}

// KeyPEM is the CA's private key as one PKCS#8 "PRIVATE KEY" PEM block.
func (ca *CA) KeyPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(ca.Key)
	if err != nil {
		return nil, fmt.Errorf("CA %q: encoding its key: %w", ca.Cert.Subject.String(), err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: keyType, Bytes: der}), nil
}

// ParseLeaf reads a server's or a client's certificate and private key,
// as Leaf holds them, and refuses a CA certificate and a key that is not
// the certificate's: secrets init keeps a pair it finds again only when
// the pair is whole (and IssuedBy the deployment's CA).
func ParseLeaf(certPEM, keyPEM []byte) (*Leaf, error) {
	cert, err := parseCert(certPEM)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	name := cert.Subject.String()
	if cert.IsCA {
		return nil, fmt.Errorf("certificate %q: a CA certificate, not a server's or a client's", name)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("key of certificate %q: %w", name, err)
	}
	if pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("key: not the key of certificate %q", name)
	}
	return &Leaf{CertPEM: certPEM, KeyPEM: keyPEM, Cert: cert}, nil
}

// Server issues a certificate for a TLS server (a Docker API, an S3
// endpoint) reachable by the given DNS names and IP addresses, at least
// one of them: clients check the name they dial against these, never
// against the common name.
func (ca *CA) Server(commonName string, dnsNames []string, ips []netip.Addr, now time.Time) (*Leaf, error) {
	if len(dnsNames) == 0 && len(ips) == 0 {
		return nil, fmt.Errorf("server certificate %q: no DNS name or IP address to issue it for", commonName)
	}
	seen := map[string]bool{}
	for _, n := range dnsNames {
		if err := checkDNSName(n); err != nil {
			return nil, fmt.Errorf("server certificate %q: DNS name %q: %w", commonName, n, err)
		}
		if seen[n] {
			return nil, fmt.Errorf("server certificate %q: DNS name %q given twice", commonName, n)
		}
		seen[n] = true
	}
	var addrs []netip.Addr
	for _, ip := range ips {
		if !ip.IsValid() {
			return nil, fmt.Errorf("server certificate %q: an invalid (zero) IP address", commonName)
		}
		if ip.Zone() != "" {
			return nil, fmt.Errorf("server certificate %q: IP address %s: a certificate cannot name a zone", commonName, ip)
		}
		// ::ffff:10.0.0.1 is how a dual-stack socket sees 10.0.0.1;
		// clients match the IPv4 form.
		ip = ip.Unmap()
		if seen[ip.String()] {
			return nil, fmt.Errorf("server certificate %q: IP address %s given twice", commonName, ip)
		}
		seen[ip.String()] = true
		addrs = append(addrs, ip)
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    dnsNames,
	}
	for _, ip := range addrs {
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip.AsSlice())
	}
	leaf, err := ca.issue(tmpl, now)
	if err != nil {
		return nil, fmt.Errorf("server certificate %q: %w", commonName, err)
	}
	return leaf, nil
}

// Client issues a certificate a TLS client presents (Nuvla to a target's
// Docker API). The Docker engine checks only that the CA signed it.
func (ca *CA) Client(commonName string, now time.Time) (*Leaf, error) {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	leaf, err := ca.issue(tmpl, now)
	if err != nil {
		return nil, fmt.Errorf("client certificate %q: %w", commonName, err)
	}
	return leaf, nil
}

// issue completes tmpl as an end-entity certificate and signs it.
func (ca *CA) issue(tmpl *x509.Certificate, now time.Time) (*Leaf, error) {
	if err := checkCommonName(tmpl.Subject.CommonName); err != nil {
		return nil, err
	}
	if !now.Before(ca.Cert.NotAfter) {
		return nil, fmt.Errorf("the CA %q expired on %s", ca.Cert.Subject.String(), ca.Cert.NotAfter.UTC().Format(time.DateOnly))
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating its key: %w", err)
	}
	if tmpl.SerialNumber, err = serialNumber(); err != nil {
		return nil, err
	}
	tmpl.NotBefore = now.Add(-backdate)
	tmpl.NotAfter = now.AddDate(0, 0, LeafDays)
	// A certificate outliving its CA would fail every verification
	// after the CA expires anyway; ending with it says so in the
	// certificate, where Expiring sees it.
	if tmpl.NotAfter.After(ca.Cert.NotAfter) {
		tmpl.NotAfter = ca.Cert.NotAfter
	}
	// ECDSA keys sign; they never encipher a key (that is RSA key
	// transport), so DigitalSignature is the only key usage.
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.BasicConstraintsValid = true
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing it back: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding its key: %w", err)
	}
	return &Leaf{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: certType, Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: keyType, Bytes: keyDER}),
		Cert:    cert,
	}, nil
}

// serialNumber is a random positive serial of up to 128 bits: unique
// without a registry of issued serials (RFC 5280 allows up to 20 octets).
func serialNumber() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("generating a serial number: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// checkCommonName accepts a name of 1 to 64 characters (the bound of
// RFC 5280, which some parsers enforce) without control characters,
// which would reach logs and keytool's listing as they are.
func checkCommonName(cn string) error {
	switch n := utf8.RuneCountInString(cn); {
	case n == 0:
		return errors.New("empty common name")
	case !utf8.ValidString(cn):
		return fmt.Errorf("common name %q: not UTF-8", cn)
	case n > 64:
		return fmt.Errorf("common name %q: %d characters, at most 64", cn, n)
	}
	for _, r := range cn {
		if unicode.IsControl(r) {
			return fmt.Errorf("common name %q: a control character", cn)
		}
	}
	return nil
}

// checkDNSName accepts what a client can match: letters, digits, '-'
// and '.', labels of up to 63 characters, and a wildcard only as the
// whole first label.
func checkDNSName(name string) error {
	if name == "" {
		return errors.New("empty")
	}
	if len(name) > 253 {
		return errors.New("longer than 253 characters")
	}
	labels := bytes.Split([]byte(name), []byte("."))
	for i, l := range labels {
		switch {
		case len(l) == 0:
			return errors.New("an empty label")
		case len(l) > 63:
			return fmt.Errorf("label %q is longer than 63 characters", l)
		case string(l) == "*" && i == 0 && len(labels) > 2:
			continue
		case string(l) == "*":
			return errors.New("a wildcard is allowed only as the first label of a name with at least two more")
		case l[0] == '-' || l[len(l)-1] == '-':
			return fmt.Errorf("label %q starts or ends with '-'", l)
		}
		for _, c := range l {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return fmt.Errorf("label %q has %q: only letters, digits and '-' are allowed", l, c)
			}
		}
	}
	return nil
}

// parseCert reads exactly one "CERTIFICATE" PEM block (surrounding
// whitespace allowed): a file with anything else is not one of ours.
func parseCert(b []byte) (*x509.Certificate, error) {
	der, err := onePEM(b, certType)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing the certificate: %w", err)
	}
	return cert, nil
}

// parseKey reads one private key PEM block.
func parseKey(b []byte) (crypto.Signer, error) {
	block, err := soleBlock(b)
	if err != nil {
		return nil, fmt.Errorf("%w, want one %q", err, keyType)
	}
	var key any
	switch block.Type {
	case keyType:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("a PEM block %q, want %q", block.Type, keyType)
	}
	if err != nil {
		return nil, fmt.Errorf("parsing the %s: %w", block.Type, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("a %T key cannot sign", key)
	}
	return signer, nil
}

// onePEM is the content of b's only PEM block, which must be of type typ.
func onePEM(b []byte, typ string) ([]byte, error) {
	block, err := soleBlock(b)
	if err != nil {
		return nil, fmt.Errorf("%w, want one %q", err, typ)
	}
	if block.Type != typ {
		return nil, fmt.Errorf("a PEM block %q, want %q", block.Type, typ)
	}
	return block.Bytes, nil
}

// soleBlock is b's only PEM block. pem.Decode skips any text before a
// block; soleBlock refuses it, as it refuses a second block, so that a
// file holding something else than it seems to is never half read.
func soleBlock(b []byte) (*pem.Block, error) {
	if !bytes.HasPrefix(bytes.TrimSpace(b), []byte("-----BEGIN ")) {
		return nil, errors.New("no PEM block at the start")
	}
	block, rest := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no complete PEM block")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, errors.New("more than one PEM block")
	}
	return block, nil
}
