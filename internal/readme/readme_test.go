package readme

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"mvdan.cc/sh/v3/syntax"

	"github.com/nuvla/nuvlagen/internal/golden"
)

// command says how the test runs one README command: by default it must
// exit 0. A command that cannot run here is skipped, with the reason
// (the reviewed list: each names where else it is tested).
type command struct {
	skip  string // why it does not run here
	setup string // shell run first, in the repository
	exit  int    // the exit status it must have
	want  string // a regular expression its output must match
}

// commands are the README's commands that are not plain "exit 0", by
// their text with continuation lines joined. Every entry must name a
// command of the README.
var commands = map[string]command{
	"make test":        {skip: "runs every test of the repository, this one among them; CI runs it (.ci/run)"},
	"nuvlagen version": {want: `^nuvlagen v0\.0\.0-[0-9]{14}-[0-9a-f]{12}(\+dirty)? \(rev [0-9a-f]{12}, [0-9TZ:-]+(, modified)?, go[0-9.]+\)\n$`},

	"scp out/example-host/prepare/host-worker-2.sh root@192.0.2.12: && ssh root@192.0.2.12 bash host-worker-2.sh": {
		skip: "copies a node's prepare script to it and runs it as root, over SSH; the scripts' steps run in internal/swarmtest, generator/firewall's namespaces and generator/scripts' docker-TLS test"},
	"scp -r $DIR/example-target/docker-tls/target-manager-1 root@203.0.113.10:docker-tls && scp out/example-target/prepare/target-manager-1.sh root@203.0.113.10: && ssh root@203.0.113.10 'bash target-manager-1.sh --docker-tls docker-tls && rm -r docker-tls'": {
		skip: "the same, with the manager's Docker API certificates"},
	"out/example-host/deploy.sh --secrets $DIR/example-host": {
		skip: "runs on a Swarm manager: internal/swarmtest and internal/runtimetest run deploy.sh on a real Swarm"},
	"out/example-target/deploy.sh --secrets $DIR/example-target": {
		skip: "runs on a Swarm manager: internal/runtimetest deploys a target with its deploy.sh"},
	"out/example-host/verify.sh --cacert $DIR/ca/ca.pem": {
		skip: "checks a deployed site: internal/runtimetest runs verify.sh against one"},
	"nuvlagen register --secrets $DIR --host example-host --endpoint https://nuvla.example.org --cacert $DIR/ca/ca.pem out/example-target/nuvla": {
		skip: "needs a running Nuvla: cmd/nuvlagen/cli's register test runs it against a recording Nuvla"},
	"nuvlagen configure --secrets $DIR --cacert $DIR/ca/ca.pem out/example-host/configure": {
		skip: "needs a running Nuvla and Elasticsearch: cmd/nuvlagen/cli's configure test runs it against recording ones"},

	"nuvlagen firewall query --from 198.51.100.5 --to target-manager-1 --port 2377/tcp": {exit: 1},
	"nuvlagen firewall query --from 198.51.100.0/24 --to 203.0.113.10 --port 22":        {exit: 1},

	// The upstream deployment's Minio file the README vets: a stand-in
	// of its shape (swarm/ is not in this repository), which must give
	// the README's findings exactly.
	"nuvlagen vet swarm/minio/docker-compose.yml": {exit: 1, setup: `mkdir -p swarm/minio && cat >swarm/minio/docker-compose.yml <<'EOF'
version: "3.7"
# The Nuvla deployment's Minio, as far as
# vet's findings go.

services:
 minio:
  # S3 over the NFS share.
  command: server /data
  image: minio/minio:latest
  networks:
   - traefik-public
  deploy:
   restart_policy:
    condition: on-failure
  environment:
   MINIO_SECRET_KEY: ${MINIO_SECRET_KEY:-admin_admin}

networks:
 traefik-public:
  external: true
EOF`},

	// Nothing differs: no output at all.
	"nuvlagen diff --base main":                   {want: `^$`},
	"nuvlagen diff --base main --format markdown": {want: `^$`},
	"nuvlagen diff old-out/ out/":                 {setup: "cp -r out old-out", want: `^$`},
	// A site file changed since the commit before: the exit status says so.
	"nuvlagen diff --base HEAD~1 --site prod.cue --exit-code": {exit: 1, want: `203\.0\.113\.13`,
		setup: `cp my-target.cue prod.cue && git add prod.cue && git commit -qm prod &&
sed -i 's/203\.0\.113\.11/203.0.113.13/' prod.cue && git commit -qam 'move a worker'`},
	"nuvlagen diff --base main --sites sites/": {want: `target-worker-9`,
		setup: `mkdir -p sites && cp my-host.cue my-target.cue sites/ && git add sites && git commit -qm sites &&
sed -i 's/target-worker-1/target-worker-9/' sites/my-target.cue`},
}

// TestREADME runs every command of README.md's shell blocks in a copy of
// the repository (its files as they are, committed on a branch main),
// with nothing installed but Go, make and git: the README's own
// "go install" puts nuvlagen on PATH. A cue block that starts with
// "// FILE.cue" is written to FILE.cue first; one without is quoted from
// an example of cue/sites and must be in one. A comment line right
// after a command is its output ("..." for any text), and the lines
// after a "$ command" line in a plain block are its output exactly.
func TestREADME(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and installs nuvlagen in a copy of the repository")
	}
	for _, tool := range []string{"git", "make", "bash", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	root := golden.Root(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	repo := filepath.Join(tmp, "nuvlagen")
	copyRepo(t, root, repo)
	env := environ(t, tmp)
	used := map[string]bool{}
	for _, b := range blocks(string(readme)) {
		switch {
		case b.lang == "cue":
			checkCue(t, root, repo, b)
		case b.lang == "sh":
			for _, c := range shCommands(t, b) {
				env = run(t, repo, env, c, used)
			}
		case b.lang == "" && strings.HasPrefix(b.text, "$ "):
			for _, c := range transcript(b) {
				env = run(t, repo, env, c, used)
			}
		}
	}
	for k := range commands {
		if !used[k] {
			t.Errorf("the README has no command %q any more: remove it from commands", k)
		}
	}
}

type block struct {
	lang, text string
	line       int // of the opening fence
}

var fence = regexp.MustCompile("(?m)^```([a-z]*)\n((?s:.*?))^```\n")

func blocks(readme string) []block {
	var out []block
	for _, m := range fence.FindAllStringSubmatchIndex(readme, -1) {
		out = append(out, block{lang: readme[m[2]:m[3]], text: readme[m[4]:m[5]], line: strings.Count(readme[:m[0]], "\n") + 1})
	}
	return out
}

// readmeCommand is one command and what its output must be.
type readmeCommand struct {
	text   string // continuation lines joined
	line   int
	assign []string // the names it assigns, which the next commands see
	output string   // a pattern, "..." for any text ("" for none)
	exact  []string // or the lines it prints, exactly
}

// shCommands parses a shell block into its commands: each statement,
// without the comments at the end of its lines, and the comment line
// after it.
func shCommands(t *testing.T, b block) []readmeCommand {
	f, err := syntax.NewParser(syntax.KeepComments(true)).Parse(strings.NewReader(b.text), "README.md")
	if err != nil {
		t.Fatalf("README.md:%d: a shell block that does not parse: %v", b.line, err)
	}
	lines := strings.Split(b.text, "\n")
	code := slices.Clone(lines)
	cut := func(c *syntax.Comment) {
		if l, col := c.Pos().Line(), int(c.Pos().Col()); col > 1 {
			code[l-1] = strings.TrimRight(code[l-1][:col-1], " \t")
		}
	}
	syntax.Walk(f, func(n syntax.Node) bool {
		if c, ok := n.(*syntax.Comment); ok {
			cut(c)
		}
		return true
	})
	for i := range f.Last {
		cut(&f.Last[i])
	}
	var out []readmeCommand
	for _, st := range f.Stmts {
		start, end := int(st.Pos().Line()), int(st.End().Line())
		c := readmeCommand{text: join(strings.Join(code[start-1:end], "\n")), line: b.line + start}
		if call, ok := st.Cmd.(*syntax.CallExpr); ok && len(call.Args) == 0 {
			for _, a := range call.Assigns {
				c.assign = append(c.assign, a.Name.Value)
			}
		}
		if end < len(lines) {
			if next := strings.TrimSpace(lines[end]); strings.HasPrefix(next, "# ") {
				c.output = strings.TrimPrefix(next, "# ")
			}
		}
		out = append(out, c)
	}
	return out
}

// join makes a command one line: continuations and the indentation of
// the lines continued.
func join(s string) string {
	s = strings.ReplaceAll(s, "\\\n", " ")
	return strings.Join(strings.Fields(s), " ")
}

// transcript reads a block of "$ command" lines, each followed by its
// output.
func transcript(b block) []readmeCommand {
	var out []readmeCommand
	for i, l := range strings.Split(strings.TrimRight(b.text, "\n"), "\n") {
		if c, ok := strings.CutPrefix(l, "$ "); ok {
			out = append(out, readmeCommand{text: join(c), line: b.line + 1 + i, exact: []string{}})
			continue
		}
		if len(out) > 0 {
			out[len(out)-1].exact = append(out[len(out)-1].exact, l)
		}
	}
	return out
}

var fileHeader = regexp.MustCompile(`^// ([A-Za-z0-9_.-]+\.cue)\n`)

// checkCue writes a block headed "// FILE.cue" into the repository copy;
// any other must be quoted from an example site.
func checkCue(t *testing.T, root, repo string, b block) {
	if m := fileHeader.FindStringSubmatch(b.text); m != nil {
		if err := os.WriteFile(filepath.Join(repo, m[1]), []byte(b.text), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	examples, _ := filepath.Glob(filepath.Join(root, "cue", "sites", "*.cue"))
	for _, e := range examples {
		if data, err := os.ReadFile(e); err == nil && strings.Contains(uncommented(string(data)), uncommented(b.text)) {
			return
		}
	}
	t.Errorf("README.md:%d: a cue block that is neither a file (// FILE.cue first) nor quoted from cue/sites", b.line)
}

// run runs one README command as its entry in commands says, and
// returns the environment of the commands after it.
// uncommented is CUE source without its end-of-line comments (after two
// spaces), its indentation or its blank lines: a quote may annotate.
func uncommented(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if i := strings.Index(l, "  //"); i >= 0 {
			l = l[:i]
		}
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func run(t *testing.T, repo string, env []string, c readmeCommand, used map[string]bool) []string {
	t.Helper()
	spec, listed := commands[c.text]
	used[c.text] = used[c.text] || listed
	if spec.skip != "" {
		t.Logf("README.md:%d: not run: %s: %s", c.line, c.text, spec.skip)
		return env
	}
	if spec.setup != "" {
		sh(t, repo, env, spec.setup, c)
	}
	script := c.text
	for _, name := range c.assign {
		script += `; printf '%s=%s\n' ` + name + ` "$` + name + `"`
	}
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = repo
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code != spec.exit {
		t.Errorf("README.md:%d: %s: exit status %d, want %d:\n%s", c.line, c.text, code, spec.exit, out)
		return env
	}
	t.Logf("README.md:%d: ran %s (exit %d)", c.line, c.text, code)
	if len(c.assign) > 0 {
		// An assignment's value, as bash expanded it (~ and all).
		return append(env, strings.Split(strings.TrimSpace(string(out)), "\n")...)
	}
	if spec.want != "" && !regexp.MustCompile(spec.want).Match(out) {
		t.Errorf("README.md:%d: %s: output does not match %s:\n%s", c.line, c.text, spec.want, out)
	}
	if c.output != "" {
		parts := strings.Split(c.output, "...")
		for i := range parts {
			parts[i] = regexp.QuoteMeta(strings.TrimSpace(parts[i]))
		}
		if !regexp.MustCompile("(?s)" + strings.Join(parts, ".*")).Match(out) {
			t.Errorf("README.md:%d: %s: the README says it prints %q; it prints:\n%s", c.line, c.text, c.output, out)
		}
	}
	if c.exact != nil && strings.TrimRight(string(out), "\n") != strings.Join(c.exact, "\n") {
		t.Errorf("README.md:%d: %s: the README says it prints\n%s\nit prints\n%s", c.line, c.text, strings.Join(c.exact, "\n"), out)
	}
	return env
}

func sh(t *testing.T, dir string, env []string, script string, c readmeCommand) {
	t.Helper()
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = dir
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("README.md:%d: setting up for %s: %v\n%s", c.line, c.text, err, out)
	}
}

// copyRepo copies the repository's files (git ls-files, as they are in
// the work tree) to dir and commits them there on a branch main: a fresh
// clone, with none of the work tree's build products or ignored files.
func copyRepo(t *testing.T, root, dir string) {
	t.Helper()
	out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(root, name)
		info, err := os.Lstat(src)
		if os.IsNotExist(err) {
			continue // deleted in the work tree
		} else if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	git := func(args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	git("init", "-q", "-b", "main")
	git("add", "-A")
	git("-c", "user.name=README", "-c", "user.email=readme@example.org", "commit", "-qm", "the repository as the README test found it")
}

// environ is a new user's: a home of its own, GOBIN on PATH (empty until
// the README's go install), Go's caches and the Go toolchain of the
// test, no network for modules; and -buildvcs=true, whatever GOFLAGS the
// machine sets, as make install has (-trimpath lets the copy share the
// build cache across runs).
func environ(t *testing.T, tmp string) []string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	goEnv := func(name string) string {
		out, err := exec.Command("go", "env", name).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", name, err)
		}
		return strings.TrimSpace(string(out))
	}
	home, bin := filepath.Join(tmp, "home"), filepath.Join(tmp, "bin")
	for _, d := range []string{home, bin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return []string{
		"HOME=" + home, "GOBIN=" + bin,
		"PATH=" + bin + ":" + filepath.Dir(goBin) + ":/usr/local/bin:/usr/bin:/bin",
		"GOCACHE=" + goEnv("GOCACHE"), "GOMODCACHE=" + goEnv("GOMODCACHE"), "GOPATH=" + filepath.Join(tmp, "gopath"),
		"GOPROXY=off", "GOTOOLCHAIN=local", "GOFLAGS=-buildvcs=true -trimpath",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=README", "GIT_AUTHOR_EMAIL=readme@example.org", "GIT_COMMITTER_NAME=README", "GIT_COMMITTER_EMAIL=readme@example.org",
		"NO_COLOR=1", "TERM=dumb", "LANG=C.UTF-8",
	}
}
