package pki

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/go-connections/tlsconfig"
)

// requireDocker turns the Docker CLI test's skip into a failure where
// Docker must be (CI, which runs the Swarm tests).
const requireDocker = "NUVLAGEN_E2E_SWARM"

// lockedBuffer collects an http.Server's error log across its
// connections' goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDockerTLS hands the files, named as Docker names them, to the
// Docker tools: the server loads them with go-connections' tlsconfig, as
// dockerd --tlsverify does, and the docker CLI connects with --tlsverify
// and the client pair, as Nuvla does. It proves that Docker reads these
// keys (PKCS#8 ECDSA) and certificates, and that it refuses the wrong
// ones for the reason expected.
func TestDockerTLS(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		if os.Getenv(requireDocker) != "" {
			t.Fatalf("needs the docker CLI (and %s is set: this test must run here)", requireDocker)
		}
		t.Skipf("needs the docker CLI (set %s=1 to make this a failure)", requireDocker)
	}
	if v, err := exec.Command("docker", "--version").Output(); err == nil {
		t.Logf("%s", strings.TrimSpace(string(v)))
	}
	start := time.Now()
	ca, other := newCA(t, "Nuvla deployment CA", start), newCA(t, "Nuvla deployment CA", start)
	srv, err := ca.Server("docker.target-a.example", []string{"docker.target-a.example"}, []netip.Addr{netip.MustParseAddr("127.0.0.1")}, start)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("server/ca.pem", ca.CertPEM())
	write("server/cert.pem", srv.CertPEM)
	write("server/key.pem", srv.KeyPEM)
	clientDir := func(name string, caPEM []byte, leaf *Leaf) string {
		write(name+"/ca.pem", caPEM)
		write(name+"/cert.pem", leaf.CertPEM)
		write(name+"/key.pem", leaf.KeyPEM)
		return filepath.Join(dir, name)
	}
	nuvla := clientDir("nuvla", ca.CertPEM(), client(t, ca, start))
	stranger := clientDir("stranger", ca.CertPEM(), client(t, other, start))
	wrongCA := clientDir("wrong-ca", other.CertPEM(), client(t, ca, start))

	// What cmd/dockerd does for --tlsverify --tlscacert --tlscert --tlskey.
	cfg, err := tlsconfig.Server(tlsconfig.Options{
		CAFile:             filepath.Join(dir, "server/ca.pem"),
		CertFile:           filepath.Join(dir, "server/cert.pem"),
		KeyFile:            filepath.Join(dir, "server/key.pem"),
		ClientAuth:         tls.RequireAndVerifyClientCert,
		ExclusiveRootPools: true,
	})
	if err != nil {
		t.Fatalf("Docker's loader refuses the server's files: %v", err)
	}
	var serverLog lockedBuffer
	var mu sync.Mutex
	var clients []string // the verified client certificates' names
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
			http.Error(w, "no verified client certificate", http.StatusForbidden)
			return
		}
		mu.Lock()
		clients = append(clients, r.TLS.VerifiedChains[0][0].Subject.CommonName)
		mu.Unlock()
		w.Header().Set("Api-Version", "1.44")
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/version") {
			fmt.Fprint(w, `{"Version":"pki-test","ApiVersion":"1.44","MinAPIVersion":"1.24","Os":"linux","Arch":"amd64"}`)
			return
		}
		fmt.Fprint(w, "OK") // /_ping
	})
	l := listen(t)
	hs := &http.Server{Handler: mux, TLSConfig: cfg, ErrorLog: log.New(&serverLog, "", 0), ReadHeaderTimeout: 10 * time.Second}
	go hs.ServeTLS(l, "", "")
	t.Cleanup(func() { hs.Close() })
	port := l.Addr().String()[strings.LastIndex(l.Addr().String(), ":")+1:]

	docker := func(certs, host string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "docker",
			"--host", "tcp://"+host+":"+port, "--tlsverify",
			"--tlscacert", filepath.Join(certs, "ca.pem"),
			"--tlscert", filepath.Join(certs, "cert.pem"),
			"--tlskey", filepath.Join(certs, "key.pem"),
			"version", "--format", "{{.Server.Version}}")
		// Its own configuration directory: no context or credential of
		// this machine's user is read.
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "DOCKER_CONFIG=" + filepath.Join(dir, "docker-config")}
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}

	for _, tc := range []struct {
		name, certs, host string
		wantOut           string // in the CLI's output: the server's version, or its error
		// orOut is what the CLI may say instead: in TLS 1.3 the client's
		// handshake is over before the server judges its certificate,
		// and the server's alert may race its closing the connection.
		// The server's log says why either way.
		orOut   string
		wantLog string // in the server's error log
	}{
		{name: "Nuvla's pair, by IP address", certs: nuvla, host: "127.0.0.1", wantOut: "pki-test"},
		{
			name: "a client of another CA", certs: stranger, host: "127.0.0.1",
			wantOut: "remote error: tls: unknown certificate authority",
			orOut:   "connection reset by peer",
			wantLog: "tls: failed to verify certificate: x509: certificate signed by unknown authority",
		},
		{
			name: "trusting another CA", certs: wrongCA, host: "127.0.0.1",
			wantOut: "x509: certificate signed by unknown authority",
			wantLog: "remote error: tls: bad certificate",
		},
		{
			name: "a name not in the SANs", certs: nuvla, host: "localhost",
			wantOut: "x509: certificate is valid for docker.target-a.example, not localhost",
			wantLog: "remote error: tls: bad certificate",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(serverLog.String())
			out, err := docker(tc.certs, tc.host)
			var exit *exec.ExitError
			if err != nil && !errors.As(err, &exit) {
				t.Fatal(err)
			}
			said := strings.Contains(out, tc.wantOut) || tc.orOut != "" && strings.Contains(out, tc.orOut)
			if (err == nil) != (tc.wantLog == "") || !said {
				t.Errorf("docker version: %v, output:\n%s\nwant it to say %q", err, out, tc.wantOut)
			}
			// The server logs a refused handshake when its connection
			// closes, which may come after the CLI has exited.
			deadline := time.Now().Add(5 * time.Second)
			for tc.wantLog != "" && !strings.Contains(serverLog.String()[before:], tc.wantLog) && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if got := serverLog.String()[before:]; !strings.Contains(got, tc.wantLog) {
				t.Errorf("server log:\n%s\nwant it to say %q", got, tc.wantLog)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	for _, c := range clients {
		if c != "nuvla" {
			t.Errorf("the server answered a request of %q, want only Nuvla's", c)
		}
	}
	if len(clients) == 0 {
		t.Error("the server answered no request")
	}
}
