package pki

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// requireJVM turns the JVM tests' skips into failures where they must
// run (CI, which has a JDK).
const requireJVM = "NUVLAGEN_E2E_JVM"

// skipJVM skips t, or fails it when requireJVM is set.
func skipJVM(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv(requireJVM) != "" {
		t.Fatalf(format+" (and %s is set: this test must run here)", append(args, requireJVM)...)
	}
	t.Skipf(format+" (set %s=1 to make this a failure)", append(args, requireJVM)...)
}

// jvm runs the JDK's tools with an environment of their own: no
// JAVA_TOOL_OPTIONS or locale of the caller's changes what they print.
type jvm struct {
	home string
}

func requireJava(t *testing.T) jvm {
	t.Helper()
	// javac stands for the JDK's compiler module: `java Trust.java`
	// compiles the source in memory, which a bare JRE cannot.
	for _, tool := range []string{"java", "keytool", "javac"} {
		if _, err := exec.LookPath(tool); err != nil {
			skipJVM(t, "needs %s (apt-get install default-jdk-headless)", tool)
		}
	}
	return jvm{home: t.TempDir()}
}

// run runs a JDK tool and returns its combined output and exit status.
func (j jvm) run(t *testing.T, name string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + j.home, "LANG=C.UTF-8"}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	case err != nil:
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out), 0
}

// serveTLS serves cert on an ephemeral loopback port until t ends,
// writing a line to each client after the handshake.
func serveTLS(t *testing.T, cert tls.Certificate) int {
	t.Helper()
	l := listen(t)
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return // closed at the end of the test
			}
			go func(conn net.Conn) {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(30 * time.Second))
				s := tls.Server(conn, cfg)
				if s.Handshake() == nil {
					s.Write([]byte("hello\n"))
				}
			}(conn)
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

func writeTrustStore(t *testing.T, path string, certs []*x509.Certificate) {
	t.Helper()
	b, err := TrustStore(certs, TrustStorePassword)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// keytoolEntry is a line of `keytool -list`: "ALIAS, Dec 2, 2026,
// trustedCertEntry, " (an alias may hold commas; the date does).
var keytoolEntry = regexp.MustCompile(`^(.*), [^,]+, [^,]+, (\w+Entry),\s*$`)

// TestJVMTrustStore proves the truststore with the JVM that will read it:
// keytool lists every certificate, each as a trusted one under its alias,
// and JSSE, verifying host names as the AWS SDK does, connects to a
// server of the CA by name and by address when the truststore is the
// JVM's, and refuses a name the certificate lacks, or the server, when
// the truststore is another CA's.
func TestJVMTrustStore(t *testing.T) {
	j := requireJava(t)
	version, _ := j.run(t, "java", "-version")
	t.Logf("java -version:\n%s", strings.TrimSpace(version))

	roots, bundle, err := SystemRoots()
	if err != nil {
		skipJVM(t, "needs the system CA bundle: %v", err)
	}
	start := time.Now() // Java checks validity against the clock
	ca, other := newCA(t, "Nuvla deployment CA test", start), newCA(t, "Nuvla deployment CA test", start)
	srv, err := ca.Server("s3.target-a.example", []string{"s3.target-a.example"}, []netip.Addr{netip.MustParseAddr("127.0.0.1")}, start)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	deployment, foreign := filepath.Join(dir, "truststore.p12"), filepath.Join(dir, "other.p12")
	trusted := append([]*x509.Certificate{ca.Cert}, roots...)
	writeTrustStore(t, deployment, trusted)
	writeTrustStore(t, foreign, []*x509.Certificate{other.Cert})

	t.Run("keytool", func(t *testing.T) {
		out, code := j.run(t, "keytool", "-J-Duser.language=en", "-list", "-keystore", deployment, "-storetype", "PKCS12", "-storepass", TrustStorePassword)
		if code != 0 {
			t.Fatalf("keytool -list: exit %d\n%s", code, out)
		}
		// What keytool must list: each certificate once, by its alias.
		want := map[string]string{}
		taken := map[string]bool{}
		for _, c := range trusted {
			sum := sha256.Sum256(c.Raw)
			fp := strings.ToUpper(strings.ReplaceAll(fmt.Sprintf("% x", sum), " ", ":"))
			if _, dup := want[fp]; !dup {
				want[fp] = alias(c, taken)
			}
		}
		got := map[string]string{}
		var alias, kind string
		count := -1
		sc := bufio.NewScanner(strings.NewReader(out))
		for sc.Scan() {
			line := sc.Text()
			if n, ok := strings.CutPrefix(line, "Your keystore contains "); ok {
				count, _ = strconv.Atoi(strings.Fields(n)[0])
			}
			if m := keytoolEntry.FindStringSubmatch(line); m != nil {
				alias, kind = m[1], m[2]
			}
			if fp, ok := strings.CutPrefix(line, "Certificate fingerprint (SHA-256): "); ok {
				if kind != "trustedCertEntry" {
					t.Errorf("%s: a %s, want a trustedCertEntry", alias, kind)
				}
				got[fp] = alias
			}
		}
		if count != len(want) {
			t.Errorf("keytool counts %d entries, want %d (the CA and %d roots of %s, each once)", count, len(want), len(roots), bundle)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("keytool -list: fingerprint → alias (-want +got):\n%s\n%s", diff, out)
		}
		t.Logf("keytool lists %d trusted certificates: the CA and %s", count, bundle)
	})

	port := strconv.Itoa(serveTLS(t, pair(t, srv)))
	trustJava := filepath.Join("testdata", "Trust.java")
	connect := func(t *testing.T, truststore string, names ...string) map[string]string {
		t.Helper()
		args := []string{
			"-Djavax.net.ssl.trustStore=" + truststore,
			"-Djavax.net.ssl.trustStorePassword=" + TrustStorePassword,
			"-Djavax.net.ssl.trustStoreType=PKCS12",
			trustJava, port,
		}
		out, code := j.run(t, "java", append(args, names...)...)
		got := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if f := strings.SplitN(line, " ", 3); len(f) == 3 && (f[0] == "OK" || f[0] == "FAIL") {
				got[f[1]] = f[0] + " " + f[2]
			}
		}
		if len(got) != len(names) {
			t.Fatalf("java Trust.java: exit %d, want a line per name:\n%s", code, out)
		}
		failed := false
		for _, g := range got {
			failed = failed || strings.HasPrefix(g, "FAIL ")
		}
		if failed != (code != 0) {
			t.Errorf("java Trust.java: exit %d, and failures %v:\n%s", code, failed, out)
		}
		return got
	}
	ok := func(got string) bool { return strings.HasPrefix(got, "OK TLSv1.") }

	t.Run("deployment truststore", func(t *testing.T) {
		got := connect(t, deployment, "s3.target-a.example", "127.0.0.1", "s3.target-b.example")
		for _, name := range []string{"s3.target-a.example", "127.0.0.1"} {
			if !ok(got[name]) {
				t.Errorf("%s: %s, want OK", name, got[name])
			}
		}
		t.Logf("JSSE: s3.target-a.example: %s", got["s3.target-a.example"])
		// A name the certificate lacks: JSSE's host name check.
		if g := got["s3.target-b.example"]; !strings.Contains(g, "javax.net.ssl.SSLHandshakeException") || !strings.Contains(g, "No subject alternative DNS name matching s3.target-b.example") {
			t.Errorf("s3.target-b.example: %s, want an SSLHandshakeException for the name", g)
		}
	})
	// The other CA has the same name, as a CA made anew would: JSSE
	// finds it as the issuer, and refuses the signature ("PKIX path
	// validation failed"; a CA of another name would be "PKIX path
	// building failed").
	t.Run("another CA's truststore", func(t *testing.T) {
		got := connect(t, foreign, "s3.target-a.example")
		g := got["s3.target-a.example"]
		if !strings.Contains(g, "FAIL javax.net.ssl.SSLHandshakeException: PKIX path") {
			t.Errorf("s3.target-a.example: %s, want an SSLHandshakeException: PKIX path …", g)
		}
		t.Logf("JSSE with another CA: %s", g)
	})
}
