package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"software.sslmate.com/src/go-pkcs12"
)

// now is the tests' clock, where they do not talk to a real peer.
var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newCA(t *testing.T, cn string, at time.Time) *CA {
	t.Helper()
	ca, err := NewCA(cn, at)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func server(t *testing.T, ca *CA, at time.Time) *Leaf {
	t.Helper()
	leaf, err := ca.Server("docker.target-a.example",
		[]string{"docker.target-a.example", "*.s3.target-a.example"},
		[]netip.Addr{netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("::ffff:192.0.2.1"), netip.MustParseAddr("2001:db8::1")},
		at)
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

func client(t *testing.T, ca *CA, at time.Time) *Leaf {
	t.Helper()
	leaf, err := ca.Client("nuvla", at)
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

func keyPEM(t *testing.T, ca *CA) []byte {
	t.Helper()
	b, err := ca.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// onlyBlock is b's only PEM block, which must be of type typ.
func onlyBlock(t *testing.T, what string, b []byte, typ string) []byte {
	t.Helper()
	p, rest := pem.Decode(b)
	if p == nil || p.Type != typ || len(bytes.TrimSpace(rest)) > 0 {
		t.Fatalf("%s: want exactly one PEM block %q, got:\n%s", what, typ, b)
	}
	return p.Bytes
}

// checkP256 fails unless pub is an ECDSA P-256 key.
func checkP256(t *testing.T, what string, pub crypto.PublicKey) {
	t.Helper()
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok || k.Curve != elliptic.P256() {
		t.Errorf("%s: key %T, want ECDSA P-256", what, pub)
	}
}

func checkSerial(t *testing.T, what string, n *big.Int) {
	t.Helper()
	if n.Sign() <= 0 || n.BitLen() > 128 {
		t.Errorf("%s: serial %v, want positive and at most 128 bits", what, n)
	}
}

func TestNewCA(t *testing.T) {
	ca := newCA(t, "Nuvla deployment CA test", now)
	c := ca.Cert
	if !c.IsCA || !c.BasicConstraintsValid || c.MaxPathLen != 0 || !c.MaxPathLenZero {
		t.Errorf("basic constraints: IsCA %v valid %v MaxPathLen %d zero %v, want a CA of path length 0", c.IsCA, c.BasicConstraintsValid, c.MaxPathLen, c.MaxPathLenZero)
	}
	if c.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Errorf("key usage %b, want CertSign|CRLSign", c.KeyUsage)
	}
	if !c.NotBefore.Equal(now.Add(-time.Hour)) || !c.NotAfter.Equal(now.AddDate(10, 0, 0)) {
		t.Errorf("valid %s to %s, want an hour before now to 10 years on", c.NotBefore, c.NotAfter)
	}
	if c.Subject.CommonName != "Nuvla deployment CA test" || !bytes.Equal(c.RawIssuer, c.RawSubject) {
		t.Errorf("subject %q issuer %q, want a self-issued CA of the name given", c.Subject, c.Issuer)
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	if len(c.SubjectKeyId) == 0 {
		t.Error("no subject key identifier: leaves would have no authority key identifier to find it by")
	}
	checkP256(t, "CA", c.PublicKey)
	checkSerial(t, "CA", c.SerialNumber)

	// Both PEM forms parse back to the same certificate and key.
	if der := onlyBlock(t, "CertPEM", ca.CertPEM(), "CERTIFICATE"); !bytes.Equal(der, c.Raw) {
		t.Error("CertPEM is not the certificate")
	}
	kp := keyPEM(t, ca)
	key, err := x509.ParsePKCS8PrivateKey(onlyBlock(t, "KeyPEM", kp, "PRIVATE KEY"))
	if err != nil {
		t.Fatal(err)
	}
	if !key.(*ecdsa.PrivateKey).Equal(ca.Key) {
		t.Error("KeyPEM is not the key")
	}
	back, err := ParseCA(ca.CertPEM(), kp)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Cert.Raw, c.Raw) || !back.Key.(*ecdsa.PrivateKey).Equal(ca.Key) {
		t.Error("ParseCA(CertPEM, KeyPEM) is another CA")
	}

	// Two CAs never share a serial or a key.
	other := newCA(t, "Nuvla deployment CA test", now)
	if other.Cert.SerialNumber.Cmp(c.SerialNumber) == 0 || other.Cert.PublicKey.(*ecdsa.PublicKey).Equal(c.PublicKey) {
		t.Error("two new CAs share a serial or a key")
	}

	for _, cn := range []string{"", "a\nb", "\xff", strings.Repeat("é", 65)} {
		if _, err := NewCA(cn, now); err == nil {
			t.Errorf("NewCA(%q): no error", cn)
		}
	}
	if _, err := NewCA(strings.Repeat("é", 64), now); err != nil {
		t.Errorf("NewCA of a 64-character name: %v", err)
	}
}

// caWith is a self-signed certificate made from tmpl with a new key, and
// its key as PKCS#8.
func caWith(t *testing.T, tmpl *x509.Certificate) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(7)
	tmpl.Subject = pkix.Name{CommonName: "hand-made"}
	tmpl.NotBefore, tmpl.NotAfter = now, now.AddDate(1, 0, 0)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

func TestParseCA(t *testing.T) {
	ca := newCA(t, "ca", now)
	other := newCA(t, "ca", now)
	leaf := server(t, ca, now)
	sec1, err := x509.MarshalECPrivateKey(ca.Key.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	noCertSign, noCertSignKey := caWith(t, &x509.Certificate{BasicConstraintsValid: true, IsCA: true, KeyUsage: x509.KeyUsageDigitalSignature})
	notCA, notCAKey := caWith(t, &x509.Certificate{BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign})

	// An RSA CA, as openssl makes them, with a PKCS#1 key.
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rsa"}, NotBefore: now, NotAfter: now.AddDate(1, 0, 0),
		BasicConstraintsValid: true, IsCA: true, KeyUsage: x509.KeyUsageCertSign}
	rsaDER, err := x509.CreateCertificate(rand.Reader, rsaTmpl, rsaTmpl, rsaKey.Public(), rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	rsaCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rsaDER})
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)})

	cat := func(b ...[]byte) []byte { return bytes.Join(b, nil) }
	for _, tc := range []struct {
		name       string
		cert, key  []byte
		wantErr    string // "" for success
		wantCommon string
	}{
		{"PKCS#8", ca.CertPEM(), keyPEM(t, ca), "", "ca"},
		{"SEC 1 key", ca.CertPEM(), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}), "", "ca"},
		{"RSA CA with a PKCS#1 key", rsaCert, rsaPEM, "", "rsa"},
		{"surrounding blank lines", cat([]byte("\n\n"), ca.CertPEM(), []byte("\n")), keyPEM(t, ca), "", "ca"},
		{"a server certificate", leaf.CertPEM, leaf.KeyPEM, "not a CA", ""},
		{"no CA:TRUE", notCA, notCAKey, "not a CA", ""},
		{"may not sign certificates", noCertSign, noCertSignKey, "does not include signing certificates", ""},
		{"another CA's key", ca.CertPEM(), keyPEM(t, other), "not the key of certificate", ""},
		{"a leaf's key", ca.CertPEM(), leaf.KeyPEM, "not the key of certificate", ""},
		{"RSA CA with an EC key", rsaCert, keyPEM(t, ca), "not the key of certificate", ""},
		{"two certificates", cat(ca.CertPEM(), other.CertPEM()), keyPEM(t, ca), "more than one PEM block", ""},
		{"text before the certificate", cat([]byte("junk\n"), ca.CertPEM()), keyPEM(t, ca), "no PEM block at the start", ""},
		{"a key for the certificate", keyPEM(t, ca), keyPEM(t, ca), `a PEM block "PRIVATE KEY", want "CERTIFICATE"`, ""},
		{"a certificate for the key", ca.CertPEM(), ca.CertPEM(), `a PEM block "CERTIFICATE"`, ""},
		{"empty", nil, nil, "no PEM block", ""},
		{"truncated", ca.CertPEM()[:200], keyPEM(t, ca), "no complete PEM block", ""},
		{"corrupt DER", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0x03, 1, 2, 3}}), keyPEM(t, ca), "parsing the certificate", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCA(tc.cert, tc.key)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseCA: error %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Cert.Subject.CommonName != tc.wantCommon {
				t.Errorf("CA %q, want %q", got.Cert.Subject.CommonName, tc.wantCommon)
			}
			// The parsed CA issues leaves that verify against it.
			l, err := got.Client("c", now)
			if err != nil {
				t.Fatal(err)
			}
			if err := Verify(got.Cert, l.CertPEM, x509.ExtKeyUsageClientAuth, "c", now); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestLeaves(t *testing.T) {
	ca := newCA(t, "ca", now)
	srv, cli := server(t, ca, now), client(t, ca, now)
	for _, tc := range []struct {
		name    string
		leaf    *Leaf
		cn      string
		usage   x509.ExtKeyUsage
		dns     []string
		ips     []string
		usageOf string // a name Verify must accept for the usage
	}{
		{"server", srv, "docker.target-a.example", x509.ExtKeyUsageServerAuth,
			[]string{"docker.target-a.example", "*.s3.target-a.example"}, []string{"10.0.0.5", "192.0.2.1", "2001:db8::1"}, "10.0.0.5"},
		{"client", cli, "nuvla", x509.ExtKeyUsageClientAuth, nil, nil, "nuvla"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The PEM forms are the certificate and its key.
			c, err := x509.ParseCertificate(onlyBlock(t, "CertPEM", tc.leaf.CertPEM, "CERTIFICATE"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(c.Raw, tc.leaf.Cert.Raw) {
				t.Fatal("CertPEM and Cert differ")
			}
			key, err := x509.ParsePKCS8PrivateKey(onlyBlock(t, "KeyPEM", tc.leaf.KeyPEM, "PRIVATE KEY"))
			if err != nil {
				t.Fatal(err)
			}
			if !key.(*ecdsa.PrivateKey).PublicKey.Equal(c.PublicKey) {
				t.Error("KeyPEM is not the certificate's key")
			}
			if _, err := tls.X509KeyPair(tc.leaf.CertPEM, tc.leaf.KeyPEM); err != nil {
				t.Errorf("crypto/tls refuses the pair: %v", err)
			}
			checkP256(t, tc.name, c.PublicKey)
			checkSerial(t, tc.name, c.SerialNumber)

			if c.Subject.CommonName != tc.cn || c.IsCA || !c.BasicConstraintsValid {
				t.Errorf("CN %q IsCA %v, want %q and an end entity", c.Subject.CommonName, c.IsCA, tc.cn)
			}
			if c.KeyUsage != x509.KeyUsageDigitalSignature {
				t.Errorf("key usage %b, want DigitalSignature only", c.KeyUsage)
			}
			if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{tc.usage}) || len(c.UnknownExtKeyUsage) > 0 {
				t.Errorf("extended key usage %v, want [%v]", c.ExtKeyUsage, tc.usage)
			}
			var ips []string
			for _, ip := range c.IPAddresses {
				ips = append(ips, ip.String())
			}
			if diff := cmp.Diff(tc.dns, c.DNSNames); diff != "" {
				t.Errorf("DNS names (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.ips, ips); diff != "" {
				t.Errorf("IP addresses (-want +got):\n%s", diff)
			}
			if !c.NotBefore.Equal(now.Add(-time.Hour)) || !c.NotAfter.Equal(now.AddDate(0, 0, 825)) {
				t.Errorf("valid %s to %s, want an hour before now to 825 days on", c.NotBefore, c.NotAfter)
			}
			if !bytes.Equal(c.AuthorityKeyId, ca.Cert.SubjectKeyId) || !bytes.Equal(c.RawIssuer, ca.Cert.RawSubject) {
				t.Error("the issuer is not the CA")
			}
			// crypto/x509 builds the chain to the CA, for the usage only.
			roots := x509.NewCertPool()
			roots.AddCert(ca.Cert)
			chains, err := c.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{tc.usage}})
			if err != nil {
				t.Fatal(err)
			}
			if len(chains) != 1 || len(chains[0]) != 2 || !chains[0][1].Equal(ca.Cert) {
				t.Errorf("chains %v, want leaf → CA", chains)
			}
			if err := Verify(ca.Cert, tc.leaf.CertPEM, tc.usage, tc.usageOf, now); err != nil {
				t.Error(err)
			}
		})
	}
	if srv.Cert.SerialNumber.Cmp(cli.Cert.SerialNumber) == 0 {
		t.Error("two leaves share a serial")
	}
	// The check that keys match can fail.
	if _, err := tls.X509KeyPair(srv.CertPEM, cli.KeyPEM); err == nil {
		t.Error("crypto/tls takes the client's key for the server's certificate")
	}
}

func TestParseLeaf(t *testing.T) {
	ca := newCA(t, "ca", now)
	srv, cli := server(t, ca, now), client(t, ca, now)
	for _, tc := range []struct {
		name      string
		cert, key []byte
		wantErr   string
	}{
		{"server", srv.CertPEM, srv.KeyPEM, ""},
		{"client", cli.CertPEM, cli.KeyPEM, ""},
		{"another leaf's key", srv.CertPEM, cli.KeyPEM, "not the key of certificate"},
		{"the CA", ca.CertPEM(), keyPEM(t, ca), "a CA certificate"},
		{"no key", srv.CertPEM, nil, "no PEM block"},
		{"a certificate for the key", srv.CertPEM, srv.CertPEM, `a PEM block "CERTIFICATE"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseLeaf(tc.cert, tc.key)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("ParseLeaf: error %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Cert.Raw, onlyBlock(t, "cert", tc.cert, "CERTIFICATE")) || !bytes.Equal(got.KeyPEM, tc.key) {
				t.Error("ParseLeaf is another pair")
			}
		})
	}
}

func TestLeafEndsWithCA(t *testing.T) {
	ca := newCA(t, "ca", now)
	late := ca.Cert.NotAfter.AddDate(0, 0, -100)
	leaf, err := ca.Client("c", late)
	if err != nil {
		t.Fatal(err)
	}
	if !leaf.Cert.NotAfter.Equal(ca.Cert.NotAfter) {
		t.Errorf("a leaf issued 100 days before the CA expires ends %s, want with the CA, %s", leaf.Cert.NotAfter, ca.Cert.NotAfter)
	}
	if _, err := ca.Client("c", ca.Cert.NotAfter.Add(time.Second)); err == nil || !strings.Contains(err.Error(), "expired on") {
		t.Errorf("issuing with an expired CA: error %v, want one saying it expired", err)
	}
}

func TestServerRefuses(t *testing.T) {
	ca := newCA(t, "ca", now)
	ip := netip.MustParseAddr
	for _, tc := range []struct {
		name, cn string
		dns      []string
		ips      []netip.Addr
		wantErr  string
	}{
		{"no name", "s", nil, nil, "no DNS name or IP address"},
		{"no common name", "", []string{"a.example"}, nil, "empty common name"},
		{"long common name", strings.Repeat("a", 65), []string{"a.example"}, nil, "65 characters, at most 64"},
		{"control character in the common name", "a\x1bb", []string{"a.example"}, nil, "a control character"},
		{"empty DNS name", "s", []string{""}, nil, "empty"},
		{"empty label", "s", []string{"a..example"}, nil, "an empty label"},
		{"trailing dot", "s", []string{"a.example."}, nil, "an empty label"},
		{"leading hyphen", "s", []string{"-a.example"}, nil, "starts or ends with '-'"},
		{"underscore", "s", []string{"a_b.example"}, nil, `has '_'`},
		{"non-ASCII", "s", []string{"é.example"}, nil, "only letters, digits"},
		{"space", "s", []string{"a b.example"}, nil, "only letters, digits"},
		{"wildcard of a TLD", "s", []string{"*.example"}, nil, "wildcard"},
		{"wildcard inside", "s", []string{"a.*.example"}, nil, "wildcard"},
		{"partial wildcard", "s", []string{"a*.b.example"}, nil, `has '*'`},
		{"long label", "s", []string{strings.Repeat("a", 64) + ".example"}, nil, "longer than 63"},
		{"long name", "s", []string{strings.Repeat(strings.Repeat("a", 60)+".", 5) + "example"}, nil, "longer than 253"},
		{"DNS name twice", "s", []string{"a.example", "a.example"}, nil, "given twice"},
		{"zero IP", "s", nil, []netip.Addr{{}}, "invalid (zero) IP"},
		{"zone", "s", nil, []netip.Addr{ip("fe80::1%eth0")}, "cannot name a zone"},
		{"IP twice", "s", nil, []netip.Addr{ip("10.0.0.1"), ip("::ffff:10.0.0.1")}, "given twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ca.Server(tc.cn, tc.dns, tc.ips, now)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Server: error %v, want one saying %q", err, tc.wantErr)
			}
		})
	}
	if _, err := ca.Client("", now); err == nil {
		t.Error("Client with an empty name: no error")
	}
}

// is reports whether err wraps an error of type E for which match holds.
func is[E error](match func(E) bool) func(error) bool {
	return func(err error) bool {
		var e E
		return errors.As(err, &e) && match(e)
	}
}

// kind is is for any error of type E.
func kind[E error]() func(error) bool { return is(func(E) bool { return true }) }

func reason(r x509.InvalidReason) func(error) bool {
	return is(func(e x509.CertificateInvalidError) bool { return e.Reason == r })
}

func TestVerify(t *testing.T) {
	ca := newCA(t, "ca", now)
	namesake := newCA(t, "ca", now) // the same name, another key
	srv, cli := server(t, ca, now), client(t, ca, now)
	unknownCA := kind[x509.UnknownAuthorityError]()
	wrongName := kind[x509.HostnameError]()
	for _, tc := range []struct {
		name  string
		leaf  []byte
		usage x509.ExtKeyUsage
		peer  string
		at    time.Time
		want  func(error) bool // nil: no error
	}{
		{"server by DNS name", srv.CertPEM, x509.ExtKeyUsageServerAuth, "docker.target-a.example", now, nil},
		{"server by wildcard", srv.CertPEM, x509.ExtKeyUsageServerAuth, "bucket.s3.target-a.example", now, nil},
		{"server by IPv4", srv.CertPEM, x509.ExtKeyUsageServerAuth, "10.0.0.5", now, nil},
		{"server by unmapped IPv4", srv.CertPEM, x509.ExtKeyUsageServerAuth, "192.0.2.1", now, nil},
		{"server by IPv6", srv.CertPEM, x509.ExtKeyUsageServerAuth, "2001:db8::1", now, nil},
		{"server, no name", srv.CertPEM, x509.ExtKeyUsageServerAuth, "", now, nil},
		{"server on its last day", srv.CertPEM, x509.ExtKeyUsageServerAuth, "10.0.0.5", srv.Cert.NotAfter, nil},
		{"client", cli.CertPEM, x509.ExtKeyUsageClientAuth, "nuvla", now, nil},
		{"client, no name", cli.CertPEM, x509.ExtKeyUsageClientAuth, "", now, nil},

		{"server of another CA", server(t, newCA(t, "other", now), now).CertPEM, x509.ExtKeyUsageServerAuth, "10.0.0.5", now, unknownCA},
		{"server of a CA of the same name", server(t, namesake, now).CertPEM, x509.ExtKeyUsageServerAuth, "10.0.0.5", now, unknownCA},
		{"client of a CA of the same name", client(t, namesake, now).CertPEM, x509.ExtKeyUsageClientAuth, "nuvla", now, unknownCA},
		{"server as a client", srv.CertPEM, x509.ExtKeyUsageClientAuth, "", now, reason(x509.IncompatibleUsage)},
		{"client as a server", cli.CertPEM, x509.ExtKeyUsageServerAuth, "", now, reason(x509.IncompatibleUsage)},
		{"DNS name not in the SANs", srv.CertPEM, x509.ExtKeyUsageServerAuth, "docker.target-b.example", now, wrongName},
		{"wildcard one level only", srv.CertPEM, x509.ExtKeyUsageServerAuth, "a.b.s3.target-a.example", now, wrongName},
		{"IP not in the SANs", srv.CertPEM, x509.ExtKeyUsageServerAuth, "10.0.0.6", now, wrongName},
		{"common name is no SAN", cli.CertPEM, x509.ExtKeyUsageClientAuth, "someone", now, func(err error) bool { return strings.Contains(err.Error(), `issued to "nuvla", not "someone"`) }},
		{"expired", srv.CertPEM, x509.ExtKeyUsageServerAuth, "10.0.0.5", srv.Cert.NotAfter.Add(time.Second), reason(x509.Expired)},
		{"not yet valid", srv.CertPEM, x509.ExtKeyUsageServerAuth, "10.0.0.5", now.Add(-2 * time.Hour), reason(x509.Expired)},
		{"the CA itself", ca.CertPEM(), x509.ExtKeyUsageServerAuth, "", now, func(err error) bool { return strings.Contains(err.Error(), "a CA certificate") }},
		{"a key", srv.KeyPEM, x509.ExtKeyUsageServerAuth, "", now, func(err error) bool { return strings.Contains(err.Error(), `want "CERTIFICATE"`) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(ca.Cert, tc.leaf, tc.usage, tc.peer, tc.at)
			switch {
			case tc.want == nil && err != nil:
				t.Errorf("Verify: %v", err)
			case tc.want != nil && err == nil:
				t.Error("Verify: no error")
			case tc.want != nil && !tc.want(err):
				t.Errorf("Verify: %v: not the error wanted", err)
			}
		})
	}
}

func TestIssuedBy(t *testing.T) {
	ca := newCA(t, "ca", now)
	namesake := newCA(t, "ca", now)
	for _, tc := range []struct {
		name string
		pem  []byte
		want bool
	}{
		{"its server", server(t, ca, now).CertPEM, true},
		{"its client", client(t, ca, now).CertPEM, true},
		{"its expired leaf", client(t, ca, now.AddDate(-3, 0, 0)).CertPEM, true},
		{"another CA's leaf", client(t, newCA(t, "other", now), now).CertPEM, false},
		{"a leaf of a CA of the same name", client(t, namesake, now).CertPEM, false},
		{"a key", client(t, ca, now).KeyPEM, false},
		{"empty", nil, false},
	} {
		if got := IssuedBy(ca.Cert, tc.pem); got != tc.want {
			t.Errorf("%s: IssuedBy = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestExpiry(t *testing.T) {
	ca := newCA(t, "ca", now)
	leaf := server(t, ca, now)
	got, err := Expiry(leaf.CertPEM)
	if err != nil || !got.Equal(now.AddDate(0, 0, 825)) {
		t.Errorf("Expiry = %s, %v; want %s", got, err, now.AddDate(0, 0, 825))
	}
	if _, err := Expiry(leaf.KeyPEM); err == nil {
		t.Error("Expiry of a key: no error")
	}
	if _, err := Expiry(append(leaf.CertPEM, ca.CertPEM()...)); err == nil {
		t.Error("Expiry of two certificates: no error (which one?)")
	}
}

func TestExpiring(t *testing.T) {
	ca := newCA(t, "ca", now.AddDate(-3, 0, 0))
	fresh := client(t, ca, now)                       // 825 days left
	soon := client(t, ca, now.AddDate(0, 0, -815))    // 10 days left
	edge := client(t, ca, now.AddDate(0, 0, -795))    // exactly 30 days left
	outside := client(t, ca, now.AddDate(0, 0, -794)) // 31 days left
	expired := client(t, ca, now.AddDate(0, 0, -900)) // 75 days ago
	certs := map[string][]byte{
		"fresh.pem":   fresh.CertPEM,
		"soon.pem":    soon.CertPEM,
		"edge.pem":    edge.CertPEM,
		"outside.pem": outside.CertPEM,
		"expired.pem": expired.CertPEM,
		"chain.pem":   bytes.Join([][]byte{fresh.CertPEM, soon.CertPEM, ca.CertPEM()}, []byte("\n")),
	}
	got, err := Expiring(certs, now, RenewAhead)
	if err != nil {
		t.Fatal(err)
	}
	want := []Due{
		{Name: "expired.pem", Subject: "CN=nuvla", NotAfter: expired.Cert.NotAfter, Expired: true},
		{Name: "chain.pem", Subject: "CN=nuvla", NotAfter: soon.Cert.NotAfter},
		{Name: "soon.pem", Subject: "CN=nuvla", NotAfter: soon.Cert.NotAfter},
		{Name: "edge.pem", Subject: "CN=nuvla", NotAfter: edge.Cert.NotAfter},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Expiring (-want +got):\n%s", diff)
	}
	if got, err := Expiring(map[string][]byte{"fresh.pem": fresh.CertPEM}, now, RenewAhead); err != nil || len(got) != 0 {
		t.Errorf("Expiring of a fresh certificate = %v, %v; want nothing", got, err)
	}

	// Files that are not certificates are named, and do not hide the
	// ones that are.
	certs["key.pem"] = fresh.KeyPEM
	certs["junk.pem"] = append(append([]byte{}, fresh.CertPEM...), "junk"...)
	certs["empty.pem"] = nil
	got, err = Expiring(certs, now, RenewAhead)
	if len(got) != len(want) {
		t.Errorf("with bad files: %d certificates due, want %d", len(got), len(want))
	}
	for _, w := range []string{`empty.pem: no PEM block`, `junk.pem: text that is not a PEM block after certificate 1`, `key.pem: a PEM block "PRIVATE KEY"`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v: want it to say %q", err, w)
		}
	}
}

func TestTrustStore(t *testing.T) {
	ca := newCA(t, "Nuvla deployment CA", now)
	a, b := newCA(t, "Root X", now), newCA(t, "root x", now) // the same alias to Java
	ts, err := TrustStore([]*x509.Certificate{ca.Cert, a.Cert, b.Cert, ca.Cert}, TrustStorePassword)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pkcs12.DecodeTrustStore(ts, TrustStorePassword)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || !got[0].Equal(ca.Cert) || !got[1].Equal(a.Cert) || !got[2].Equal(b.Cert) {
		t.Errorf("truststore holds %d certificates, want the CA, Root X and root x once each", len(got))
	}
	if _, err := pkcs12.DecodeTrustStore(ts, "not changeit"); err == nil {
		t.Error("the truststore opens with a wrong password: its MAC checks nothing")
	}
	if _, err := TrustStore(nil, TrustStorePassword); err == nil {
		t.Error("an empty truststore: no error")
	}

	// OpenSSL 3 reads it too (LegacyRC2 would need its legacy provider).
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Log("no openssl: the truststore is not read with it")
	} else {
		f := filepath.Join(t.TempDir(), "truststore.p12")
		if err := os.WriteFile(f, ts, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("openssl", "pkcs12", "-in", f, "-passin", "pass:"+TrustStorePassword, "-nokeys")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		out, err := cmd.CombinedOutput()
		if n := bytes.Count(out, []byte("-----BEGIN CERTIFICATE-----")); err != nil || n != 3 {
			t.Errorf("openssl pkcs12: %v, %d certificates, want 3:\n%s", err, n, out)
		}
	}

	taken := map[string]bool{}
	aliases := []string{alias(ca.Cert, taken), alias(a.Cert, taken), alias(b.Cert, taken)}
	if aliases[0] != "nuvla deployment ca" || aliases[1] != "root x" || !strings.HasPrefix(aliases[2], "root x ") || len(aliases[2]) != len("root x ")+16 {
		t.Errorf("aliases %q: want the CA's CN, then root x, then root x with a fingerprint", aliases)
	}
}

func TestSystemRoots(t *testing.T) {
	dir := t.TempDir()
	a, b := newCA(t, "a", now), newCA(t, "b", now)
	write := func(name string, parts ...[]byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, bytes.Join(parts, []byte("# a comment, as bundles have\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	corrupt := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0x01, 0}})
	bundle := write("bundle.crt", a.CertPEM(), keyPEM(t, a), corrupt, b.CertPEM())
	empty := write("empty.crt", []byte("# nothing\n"))
	missing := filepath.Join(dir, "missing.crt")

	certs, file, err := systemRoots([]string{missing, bundle, empty})
	if err != nil {
		t.Fatal(err)
	}
	if file != bundle || len(certs) != 2 || !certs[0].Equal(a.Cert) || !certs[1].Equal(b.Cert) {
		t.Errorf("systemRoots = %d certificates from %s, want a and b from %s", len(certs), file, bundle)
	}
	for _, tc := range []struct {
		name    string
		files   []string
		wantErr string
	}{
		{"none exists", []string{missing}, "no system CA bundle: none of " + missing},
		{"the first has no certificate", []string{empty, bundle}, "no certificate in it"},
		{"unreadable", []string{dir, bundle}, "is a directory"},
	} {
		if _, _, err := systemRoots(tc.files); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.wantErr)
		}
	}

	// This machine's bundle, where it has one.
	roots, file, err := SystemRoots()
	if err != nil {
		t.Skipf("this machine: %v", err)
	}
	if !slices.Contains(rootBundles, file) || len(roots) < 10 {
		t.Errorf("SystemRoots = %d certificates from %s, want a real bundle", len(roots), file)
	}
	t.Logf("%s: %d certificates", file, len(roots))
}

// listen is a TCP listener on an ephemeral loopback port, closed with t.
func listen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// FuzzParse feeds the readers of files found in a secrets directory
// anything: they return an error or a value, never panic, and what they
// accept is what they say it is.
func FuzzParse(f *testing.F) {
	ca, err := NewCA("ca", now)
	if err != nil {
		f.Fatal(err)
	}
	leaf, err := ca.Client("c", now)
	if err != nil {
		f.Fatal(err)
	}
	caKey, err := ca.KeyPEM()
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]byte{ca.CertPEM(), caKey, leaf.CertPEM, leaf.KeyPEM, append(leaf.CertPEM, ca.CertPEM()...), []byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), nil} {
		f.Add(seed, caKey)
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		if got, err := ParseCA(a, b); err == nil && (!got.Cert.IsCA || got.Key == nil) {
			t.Errorf("ParseCA accepts a non-CA")
		}
		if got, err := ParseLeaf(a, b); err == nil && got.Cert.IsCA {
			t.Errorf("ParseLeaf accepts a CA")
		}
		if Verify(ca.Cert, a, x509.ExtKeyUsageClientAuth, "", now) == nil && !IssuedBy(ca.Cert, a) {
			t.Errorf("Verify accepts a certificate IssuedBy says the CA did not sign")
		}
		Expiry(a)
		Expiring(map[string][]byte{"a": a, "b": b}, now, RenewAhead)
		parseBundle(a)
	})
}
