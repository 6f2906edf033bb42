package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nuvla/nuvlagen/generator/swarmimport/enginetest"
	"github.com/nuvla/nuvlagen/internal/golden"
)

// TestImport runs nuvlagen import against a fake engine answering with
// recorded JSON, then generates the site file it wrote: an imported
// site loads as it is. Standard output stays empty with --out; the
// report goes to standard error.
func TestImport(t *testing.T) {
	host := enginetest.Serve(t, filepath.Join(golden.Root(t), "generator", "swarmimport", "testdata", "guide-host"))
	dir := t.TempDir()
	file := filepath.Join(dir, "prod-host.cue")
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"import", "--host", host, "--out", file, "--site-name", "prod-host"}, &stdout, &stderr); code != ExitOK {
		t.Fatalf("import: exit %d\n%s", code, stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("import --out printed on standard output:\n%s", stdout.String())
	}
	for _, want := range []string{"groups.management: guessed", "service prometheus_elasticsearch_exporter: left behind", "images.traefik: traefik:v3.3"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, stderr.String())
		}
	}
	stdout.Reset()
	stderr.Reset()
	if code := Main([]string{"generate", "-q", "--site", file, "--out", filepath.Join(dir, "out")}, &stdout, &stderr); code != ExitOK {
		t.Fatalf("generate --site <imported>: exit %d\n%s", code, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "prod-host", "deploy.sh")); err != nil {
		t.Errorf("generate wrote no deploy.sh for the imported site: %v", err)
	}
}

// TestImportUsage: arguments are refused, and an engine that does not
// answer is an error that names it.
func TestImportUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"import", "extra"}, ExitUsage, "want no arguments"},
		{[]string{"import", "--host", "unix://" + filepath.Join(t.TempDir(), "none.sock")}, ExitUsage, "listing the Swarm's nodes"},
		{[]string{"import", "--host", "::bad"}, ExitUsage, "--host"},
	} {
		var stdout, stderr bytes.Buffer
		if code := Main(tc.args, &stdout, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("nuvlagen %q: exit %d, want %d with %q:\n%s", tc.args, code, tc.code, tc.want, stderr.String())
		}
	}
}
