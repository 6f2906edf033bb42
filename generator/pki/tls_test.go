package pki

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

// The alerts a peer sends (RFC 8446 section 6), as crypto/tls reports a
// received one: a *net.OpError "remote error" around its unexported
// alert type.
const (
	alertBadCertificate     = "tls: bad certificate"
	alertCertificateExpired = "tls: expired certificate"
	alertUnknownCA          = "tls: unknown certificate authority"
	alertCertificateNeeded  = "tls: certificate required"
	alertHandshakeFailure   = "tls: handshake failure"
)

func pair(t *testing.T, l *Leaf) tls.Certificate {
	t.Helper()
	c, err := tls.X509KeyPair(l.CertPEM, l.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func pool(cas ...*CA) *x509.CertPool {
	p := x509.NewCertPool()
	for _, ca := range cas {
		p.AddCert(ca.Cert)
	}
	return p
}

// serveOnce accepts one connection on l and completes a handshake as
// cfg says, writes a line to the client when it succeeded, and sends
// the handshake's error (nil for success).
func serveOnce(l net.Listener, cfg *tls.Config) <-chan error {
	done := make(chan error, 1)
	go func() {
		conn, err := l.Accept()
		if err != nil {
			done <- err
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		s := tls.Server(conn, cfg)
		if err := s.Handshake(); err != nil {
			done <- err
			return
		}
		_, err = s.Write([]byte("hello\n"))
		done <- err
	}()
	return done
}

// dial connects to addr, handshakes as cfg says and reads the server's
// line: in TLS 1.3 a client learns that the server refused its
// certificate only when it reads.
func dial(addr string, cfg *tls.Config) error {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	c := tls.Client(conn, cfg)
	if err := c.Handshake(); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err == nil && line != "hello\n" {
		return errors.New("the server said " + line)
	}
	return err
}

// alert matches the receipt of the alert named a from the peer.
func alert(a string) func(error) bool {
	return is(func(e *net.OpError) bool { return e.Op == "remote error" && e.Err != nil && e.Err.Error() == a })
}

// verification is a crypto/tls certificate verification error wrapping
// the x509 error that want matches.
func verification(want func(error) bool) func(error) bool {
	return func(err error) bool {
		var v *tls.CertificateVerificationError
		return errors.As(err, &v) && want(v.Err)
	}
}

// TestMutualTLS runs what Nuvla does with a target's Docker API: a
// server that requires a client certificate of the CA (dockerd
// --tlsverify --tlscacert), a client that presents its pair and checks
// the server's certificate against the CA and the name it dials. Each
// refusal is checked for its reason on the side that refuses, and for
// the alert the other side receives.
func TestMutualTLS(t *testing.T) {
	start := time.Now() // crypto/tls checks validity against the clock
	ca, other := newCA(t, "Nuvla deployment CA", start), newCA(t, "Nuvla deployment CA", start)
	srv, err := ca.Server("docker.target-a.example", []string{"docker.target-a.example"}, []netip.Addr{netip.MustParseAddr("127.0.0.1")}, start)
	if err != nil {
		t.Fatal(err)
	}
	otherSrv, err := other.Server("docker.target-a.example", []string{"docker.target-a.example"}, []netip.Addr{netip.MustParseAddr("127.0.0.1")}, start)
	if err != nil {
		t.Fatal(err)
	}
	cli := pair(t, client(t, ca, start))
	// The server trusts the CA of the expired client too, so that
	// expiry is its only fault.
	old := newCA(t, "old", start.AddDate(-5, 0, 0))
	expiredCli := pair(t, client(t, old, start.AddDate(-3, 0, 0)))

	for _, tc := range []struct {
		name       string
		server     *Leaf
		clientCert []tls.Certificate
		serverName string
		// wantServer and wantClient match each side's error; nil: none.
		wantServer, wantClient func(error) bool
		// wantClient12, if set, replaces wantClient in TLS 1.2.
		wantClient12 func(error) bool
	}{
		{name: "by IP address", server: srv, clientCert: []tls.Certificate{cli}, serverName: "127.0.0.1"},
		{name: "by DNS name", server: srv, clientCert: []tls.Certificate{cli}, serverName: "docker.target-a.example"},
		{
			name: "no client certificate", server: srv, serverName: "127.0.0.1",
			wantServer: func(err error) bool { return err.Error() == "tls: client didn't provide a certificate" },
			wantClient: alert(alertCertificateNeeded),
			// certificate_required is new in TLS 1.3; RFC 5246 has a
			// server refuse a missing certificate with handshake_failure.
			wantClient12: alert(alertHandshakeFailure),
		},
		{
			name: "client certificate of another CA", server: srv, clientCert: []tls.Certificate{pair(t, client(t, other, start))}, serverName: "127.0.0.1",
			wantServer: verification(kind[x509.UnknownAuthorityError]()),
			wantClient: alert(alertUnknownCA),
		},
		{
			name: "server certificate as client certificate", server: srv, clientCert: []tls.Certificate{pair(t, srv)}, serverName: "127.0.0.1",
			wantServer: verification(reason(x509.IncompatibleUsage)),
			wantClient: alert(alertBadCertificate),
		},
		{
			name: "expired client certificate", server: srv, clientCert: []tls.Certificate{expiredCli}, serverName: "127.0.0.1",
			wantServer: verification(reason(x509.Expired)),
			wantClient: alert(alertCertificateExpired),
		},
		{
			name: "DNS name not in the SANs", server: srv, clientCert: []tls.Certificate{cli}, serverName: "docker.target-b.example",
			wantServer: alert(alertBadCertificate),
			wantClient: verification(kind[x509.HostnameError]()),
		},
		{
			name: "IP address not in the SANs", server: srv, clientCert: []tls.Certificate{cli}, serverName: "127.0.0.2",
			wantServer: alert(alertBadCertificate),
			wantClient: verification(kind[x509.HostnameError]()),
		},
		{
			name: "server of another CA", server: otherSrv, clientCert: []tls.Certificate{cli}, serverName: "127.0.0.1",
			wantServer: alert(alertBadCertificate),
			wantClient: verification(kind[x509.UnknownAuthorityError]()),
		},
	} {
		// Docker accepts TLS 1.2 and 1.3; their handshakes report a
		// refused client certificate at different steps.
		for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			t.Run(tc.name+"/"+tls.VersionName(version), func(t *testing.T) {
				l := listen(t)
				served := serveOnce(l, &tls.Config{
					Certificates: []tls.Certificate{pair(t, tc.server)},
					ClientAuth:   tls.RequireAndVerifyClientCert,
					ClientCAs:    pool(ca, old),
					MinVersion:   version,
					MaxVersion:   version,
				})
				clientErr := dial(l.Addr().String(), &tls.Config{
					RootCAs:      pool(ca),
					Certificates: tc.clientCert,
					ServerName:   tc.serverName,
					MinVersion:   version,
					MaxVersion:   version,
				})
				serverErr := <-served
				check := func(side string, err error, want func(error) bool) {
					switch {
					case want == nil && err != nil:
						t.Errorf("%s: %v", side, err)
					case want != nil && err == nil:
						t.Errorf("%s: no error", side)
					case want != nil && !want(err):
						t.Errorf("%s: %v (%T): not the error wanted", side, err, err)
					}
				}
				check("server", serverErr, tc.wantServer)
				wantClient := tc.wantClient
				if version == tls.VersionTLS12 && tc.wantClient12 != nil {
					wantClient = tc.wantClient12
				}
				check("client", clientErr, wantClient)
			})
		}
	}
}
