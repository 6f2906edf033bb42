package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// vetFiles is a small tree the vet command tests run in.
var vetFiles = map[string]string{
	"clean/docker-compose.yml": "services:\n  web:\n    image: nginx:1.27.2\n",
	"warn/docker-compose.yml":  "services:\n  web:\n    image: nginx:latest\n",
	"err/stack.compose.yaml":   "services:\n  web:\n    image: nginx:1.27.2\n    mem_limit: 1g\n",
	"err/notes.yml":            "not: [a compose file\n",
	"empty/README.md":          "nothing to see\n",
	"site.cue": `sites: test: {
	kind:   "host"
	domain: "t.example.org"
	nodes: {
		"m1": {address: "192.0.2.10", role: "manager", labels: type: "frontend"}
		"w1": {address: "192.0.2.11", role: "worker", labels: type: "worker-job"}
		"w2": {address: "192.0.2.12", role: "worker", labels: type: "worker-db"}
	}
	groups: management: ["198.51.100.0/28"]
}
`,
	"placed/docker-compose.yml": "services:\n  web:\n    image: nginx:1.27.2\n    deploy:\n      placement:\n        constraints: [node.labels.type == backend]\n",
}

func TestVet(t *testing.T) {
	dir := t.TempDir()
	for name, content := range vetFiles {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string // substring
		stderr string // substring
	}{
		{"clean", []string{"clean"}, ExitOK, "", ""},
		{"warnings pass", []string{"warn"}, ExitOK, "warn/docker-compose.yml:3:12: warning: service \"web\": image nginx uses the latest tag [image-tag]", ""},
		{"strict fails on warnings", []string{"--strict", "warn"}, ExitInvalid, "[image-tag]", ""},
		{"disable", []string{"--strict", "--disable", "image-tag", "warn"}, ExitOK, "", ""},
		{"errors", []string{"err"}, ExitInvalid, "err/stack.compose.yaml:4:5: error: service \"web\": mem_limit is forbidden", ""},
		{"directory skips non-compose names", []string{"--format", "json", "err"}, ExitInvalid, `"file": "err/stack.compose.yaml"`, ""},
		{"a file named is checked", []string{"err/notes.yml"}, ExitInvalid, "[yaml-syntax]", ""},
		{"github", []string{"--format", "github", "err"}, ExitInvalid, "::error file=err/stack.compose.yaml,line=4,col=5,title=swarm-forbidden::", ""},
		{"sarif", []string{"--format", "sarif", "warn"}, ExitOK, `"version": "2.1.0"`, ""},
		{"json clean", []string{"--format", "json", "clean"}, ExitOK, "[]\n", ""},
		{"site", []string{"--site", "site.cue", "placed"}, ExitInvalid, "no node of site test satisfies node.labels.type == backend [site-placement]", ""},
		{"invalid site", []string{"--site", "clean/docker-compose.yml", "clean"}, ExitUsage, "", "clean/docker-compose.yml"},
		{"no site, no topology", []string{"placed"}, ExitOK, "", ""},
		{"missing file", []string{"nope.yml"}, ExitUsage, "", "nope.yml: no such file or directory"},
		{"no compose file in a directory", []string{"empty"}, ExitUsage, "", "no *compose*.yml or *compose*.yaml file under empty"},
		{"no path", nil, ExitUsage, "", "no file or directory to check"},
		{"unknown rule", []string{"--disable", "nope", "clean"}, ExitUsage, "", `unknown rule "nope"`},
		{"unknown format", []string{"--format", "xml", "clean"}, ExitUsage, "", `unknown format "xml"`},
		{"help", []string{"--help"}, ExitOK, "Usage: nuvlagen vet", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(append([]string{"vet"}, tc.args...), &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout.String(), stderr.String())
			}
			if tc.stdout == "" && stdout.Len() > 0 {
				t.Errorf("want no output, got:\n%s", stdout.String())
			}
			if !strings.Contains(stdout.String(), tc.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdout, stdout.String())
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, stderr.String())
			}
		})
	}
}
