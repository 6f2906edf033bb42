package pki

import (
	"bytes"
	"cmp"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Verify checks a leaf certificate as a peer would at time now: that ca
// signed it, that it is valid then, that it may be used for usage, and
// that it names name. For a server certificate (ExtKeyUsageServerAuth)
// name is what a client dials, a DNS name or an IP address, matched
// against the certificate's subject alternative names as TLS clients do;
// for a client certificate it is the common name. An empty name checks
// no name. The x509 errors are wrapped: errors.As finds
// x509.UnknownAuthorityError, x509.CertificateInvalidError (expired,
// wrong usage) and x509.HostnameError.
func Verify(ca *x509.Certificate, leafPEM []byte, usage x509.ExtKeyUsage, name string, now time.Time) error {
	leaf, err := parseCert(leafPEM)
	if err != nil {
		return err
	}
	subject := leaf.Subject.String()
	if leaf.IsCA {
		return fmt.Errorf("certificate %q: a CA certificate, not a server's or a client's", subject)
	}
	// crypto/x509 takes a certificate without extended key usages as
	// good for any: ours always say what they are for, and one that
	// does not is not ours.
	if !slices.Contains(leaf.ExtKeyUsage, usage) {
		return fmt.Errorf("certificate %q: %w", subject, x509.CertificateInvalidError{Cert: leaf, Reason: x509.IncompatibleUsage})
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	opts := x509.VerifyOptions{
		Roots:       roots,
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{usage},
	}
	if usage == x509.ExtKeyUsageServerAuth {
		opts.DNSName = name
	}
	if _, err := leaf.Verify(opts); err != nil {
		return fmt.Errorf("certificate %q: %w", subject, err)
	}
	if usage != x509.ExtKeyUsageServerAuth && name != "" && leaf.Subject.CommonName != name {
		return fmt.Errorf("certificate %q: issued to %q, not %q", subject, leaf.Subject.CommonName, name)
	}
	return nil
}

// IssuedBy reports whether ca signed the certificate in leafPEM, valid
// or expired: secrets init keeps a leaf of the deployment's CA that it
// finds again, and replaces one of another CA (a CA of the same name
// made anew included, since its key differs).
func IssuedBy(ca *x509.Certificate, leafPEM []byte) bool {
	leaf, err := parseCert(leafPEM)
	if err != nil {
		return false
	}
	return bytes.Equal(leaf.RawIssuer, ca.RawSubject) && leaf.CheckSignatureFrom(ca) == nil
}

// Expiry is when the certificate in certPEM (one "CERTIFICATE" block)
// expires.
func Expiry(certPEM []byte) (time.Time, error) {
	cert, err := parseCert(certPEM)
	if err != nil {
		return time.Time{}, err
	}
	return cert.NotAfter, nil
}

// Due is a certificate that expires soon, or has expired.
type Due struct {
	Name     string // the name it was given to Expiring under
	Subject  string
	NotAfter time.Time
	Expired  bool // at the time Expiring was given
}

// Expiring reports the certificates that expire within ahead of now
// (RenewAhead, for `check`) or have expired, soonest first. certs maps
// a name (a secret's) to PEM holding one or more certificates, every one
// of which is looked at; a file that holds anything else is an error,
// each named, rather than a certificate nobody watches.
func Expiring(certs map[string][]byte, now time.Time, ahead time.Duration) ([]Due, error) {
	var due []Due
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(certs)) {
		list, err := parseCerts(certs[name])
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		for _, c := range list {
			if c.NotAfter.After(now.Add(ahead)) {
				continue
			}
			due = append(due, Due{
				Name:     name,
				Subject:  c.Subject.String(),
				NotAfter: c.NotAfter,
				Expired:  now.After(c.NotAfter), // as crypto/x509 decides it
			})
		}
	}
	slices.SortStableFunc(due, func(a, b Due) int {
		return cmp.Or(a.NotAfter.Compare(b.NotAfter), cmp.Compare(a.Name, b.Name))
	})
	return due, errors.Join(errs...)
}

// parseCerts reads one or more "CERTIFICATE" PEM blocks and nothing else.
func parseCerts(b []byte) ([]*x509.Certificate, error) {
	var list []*x509.Certificate
	rest := b
	for len(bytes.TrimSpace(rest)) > 0 {
		if !bytes.HasPrefix(bytes.TrimSpace(rest), []byte("-----BEGIN ")) {
			return nil, fmt.Errorf("text that is not a PEM block after certificate %d", len(list))
		}
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, fmt.Errorf("an incomplete PEM block after certificate %d", len(list))
		}
		if block.Type != certType {
			return nil, fmt.Errorf("a PEM block %q, want only %q", block.Type, certType)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(list)+1, err)
		}
		list = append(list, c)
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("no PEM block, want %q", certType)
	}
	return list, nil
}
