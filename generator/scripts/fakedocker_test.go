package scripts_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nuvla/nuvlagen/generator/secrets"
	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/generator/site/sitetest"
	"github.com/nuvla/nuvlagen/internal/golden"
)

// fakeDocker is a docker CLI that keeps a Swarm's networks, node labels,
// secrets and stacks as files under $FAKE_STATE and logs every change to
// $FAKE_STATE/log; the services verify.sh lists and the answer of its
// one-off container are files there too. Its stack deploy fails, as the real one does, when a
// variable a compose file demands with ${NAME:?...} is unset.
const fakeDocker = `#!/usr/bin/env bash
set -euo pipefail
st=$FAKE_STATE
mkdir -p "$st/net" "$st/secret" "$st/stack" "$st/label" "$st/svc"
log() { printf '%s\n' "$*" >>"$st/log"; }
format=
args=()
while (($#)); do
	case $1 in
	--format) format=$2; shift ;;
	*) args+=("$1") ;;
	esac
	shift
done
set -- "${args[@]}"
last=${!#}
case "${1:-} ${2:-}" in
"info ") echo "active true" ;;
"network inspect")
	[[ -e $st/net/$last ]] || { echo "Error: no such network: $last" >&2; exit 1; }
	case $format in *Driver*) echo "overlay swarm" ;; *) echo "$last" ;; esac ;;
"network create")
	[[ ! -e $st/net/$last ]] || { echo "network $last exists" >&2; exit 1; }
	echo "$*" >"$st/net/$last"; log "$*" ;;
"network rm") rm "$st/net/$last"; log "$*" ;;
"network ls") ;;
"service ls")
	[[ -z ${FAKE_DAEMON_DOWN:-} ]] || { echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock" >&2; exit 1; }
	# verify.sh lists every service with its replicas ($st/services);
	# deploy.sh and teardown.sh ask for IDs, of a stack or of all.
	ns=$(printf '%s\n' "$@" | sed -n 's/^label=com.docker.stack.namespace=//p')
	if [[ -n $ns ]]; then [[ ! -e $st/svc/$ns ]] || echo "$ns"
	elif [[ -n $format ]]; then cat "$st/services" 2>/dev/null || true
	else ls "$st/svc" 2>/dev/null || true; fi ;;
"run --rm")
	# verify.sh's one-off container: curl's answer is $st/es-health.
	printf '%s\n' "$*" >>"$st/run.log"
	[[ -e $st/es-health ]] || { echo "curl: (6) Could not resolve host: es" >&2; exit 6; }
	cat "$st/es-health" ;;
"node ls") ls "$st/node" 2>/dev/null || true ;;
"node inspect")
	key=$(sed -E 's/.*"([^"]*)".*/\1/' <<<"$format")
	if [[ -e $st/label/$last.$key ]]; then cat "$st/label/$last.$key"; else echo "<no value>"; fi ;;
"node update")
	case $3 in
	--label-add) echo "${4#*=}" >"$st/label/$last.${4%%=*}" ;;
	--label-rm) rm "$st/label/$last.$4" ;;
	*) exit 98 ;;
	esac
	log "$*" ;;
"secret inspect")
	[[ -e $st/secret/$last ]] || { echo "Error: no such secret: $last" >&2; exit 1; }
	case $format in *Labels*) cat "$st/secret/$last.label" 2>/dev/null || echo "<no value>" ;; *) echo "$last" ;; esac ;;
"secret ls")
	[[ $3 == --filter && $4 == label=nuvlagen.secret=* ]] || exit 98
	grep -lxF "${4#label=nuvlagen.secret=}" "$st"/secret/*.of 2>/dev/null | sed 's|.*/||; s|\.of$||' || true ;;
"secret create")
	[[ $3 == --label && $4 == nuvlagen.secret=* && $5 == --label && $6 == nuvlagen.sha256=* ]] || exit 98
	[[ ! -e $st/secret/$7 ]] || { echo "secret $7 exists" >&2; exit 1; }
	cp "$8" "$st/secret/$7"; echo "${6#*=}" >"$st/secret/$7.label"; echo "${4#*=}" >"$st/secret/$7.of"
	log "secret create $7" ;;
"secret rm")
	[[ -e $st/secret/$last ]] || { echo "Error: no such secret: $last" >&2; exit 1; }
	grep -qxF "$last" "$st"/svc/* 2>/dev/null && { echo "Error: secret $last is in use" >&2; exit 1; }
	rm -f "$st/secret/$last" "$st/secret/$last.label" "$st/secret/$last.of"; log "$*" ;;
"stack deploy")
	[[ $3 == --resolve-image && $5 == -c ]] || exit 98
	for v in $(grep -o '\${[A-Z_]*:?' "$6" | tr -d '${:?' | sort -u); do
		[[ -n ${!v:-} ]] || { echo "$6: variable $v is unset" >&2; exit 1; }
	done
	touch "$st/stack/$last"; log "stack deploy $last"
	# Its services use the secrets it names: NAME_SECRET, as exported.
	for v in $(grep -o '\${[A-Z_]*_SECRET:?' "$6" | tr -d '${:?' | sort -u); do echo "${!v}"; done >"$st/svc/$last" ;;
"stack services")
	[[ -z ${FAKE_DAEMON_DOWN:-} ]] || { echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock" >&2; exit 1; }
	if [[ ${3:-} == -q ]]; then echo "${last}_svc"; else echo "${last}_svc 1/1"; fi ;;
"service inspect")
	shift 2
	case $format in
	*Secrets*) for id in "$@"; do cat "$st/svc/$id" 2>/dev/null || true; done ;;
	*Env*) [[ -e $st/env/$last ]] || { echo "Error: no such service: $last" >&2; exit 1; }; cat "$st/env/$last" ;;
	*) for id in "$@"; do echo "$id ${FAKE_UPDATE_STATE:-completed}"; done ;;
	esac ;;
"stack ps")
	# Its running task; with FAKE_TASKS_EXIT set, a new one at each look,
	# as Swarm replaces a task that exits.
	n=0
	# With FAKE_TASKS_GONE, the first look finds no task desired running
	# (the one that ran exited, its replacement not yet made), which the
	# CLI reports as an error.
	if [[ -n ${FAKE_TASKS_GONE:-} && ! -e $st/gone ]]; then
		touch "$st/gone"; echo "nothing found in stack: $last" >&2; exit 1
	fi
	if [[ -n ${FAKE_TASKS_EXIT:-} ]]; then n=$(($(cat "$st/looks" 2>/dev/null || echo 0) + 1)); echo "$n" >"$st/looks"; fi
	echo "${last}_task$n Running 1 second ago" ;;
"stack ls") ls "$st/stack" ;;
"stack rm") rm -f "$st/stack/$last" "$st/svc/$last"; log "$*" ;;
*) echo "fake docker: unexpected: $*" >&2; exit 99 ;;
esac
`

type fakeSwarm struct {
	// env is added to the fake's environment (FAKE_UPDATE_STATE: what
	// every service's UpdateStatus.State reads).
	env   []string
	t     *testing.T
	dir   string // the site's scripts
	bin   string
	state string
}

func (f *fakeSwarm) run(script string, args ...string) (code int, stdout, stderr string) {
	f.t.Helper()
	cmd := exec.Command(filepath.Join(f.dir, script), args...)
	cmd.Dir = f.t.TempDir()
	cmd.Env = append([]string{"PATH=" + f.bin + ":/usr/bin:/bin", "FAKE_STATE=" + f.state, "LC_ALL=C"}, f.env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		f.t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

// takeLog returns the changes logged since the last call.
func (f *fakeSwarm) takeLog() []string {
	p := filepath.Join(f.state, "log")
	b, _ := os.ReadFile(p)
	os.Remove(p)
	return strings.Fields(strings.ReplaceAll(strings.TrimSpace(string(b)), " ", "_"))
}

// TestDeployAgainstFakeSwarm runs deploy.sh for real against a fake docker
// with a secrets directory from the secrets generator: the first run
// creates everything, a second changes nothing but re-deploys the stacks
// (a no-op for Swarm), teardown.sh removes what was asked.
func TestDeployAgainstFakeSwarm(t *testing.T) {
	sites := sitetest.Embedded(t)
	all := rendered(t)
	for _, s := range sites {
		t.Run(s.Name, func(t *testing.T) {
			f := &fakeSwarm{t: t, dir: t.TempDir(), bin: t.TempDir(), state: t.TempDir()}
			writeSite(t, f.dir, all[s.Name])
			if err := os.WriteFile(filepath.Join(f.bin, "docker"), []byte(fakeDocker), 0o755); err != nil {
				t.Fatal(err)
			}
			secretsDir := t.TempDir()
			files, err := secrets.Generate(s, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			for _, sf := range files {
				if err := os.WriteFile(filepath.Join(secretsDir, sf.Name), sf.Content, 0o600); err != nil {
					t.Fatal(err)
				}
			}

			// A missing file stops deploy.sh before it changes anything.
			// A variable's file where the site has variables, else a secret's.
			victimName := s.Secrets[0].Name
			if len(s.Variables) > 0 {
				victimName = s.Variables[0].Name
			}
			victim := filepath.Join(secretsDir, victimName)
			saved, _ := os.ReadFile(victim)
			os.Remove(victim)
			code, _, stderr := f.run("deploy.sh", "--secrets", secretsDir, "--timeout", "5", "--settle", "0")
			if code != 1 || !strings.Contains(stderr, victim) {
				t.Errorf("missing %s: exit %d, stderr:\n%s", victim, code, stderr)
			}
			if changes := f.takeLog(); len(changes) > 0 {
				t.Errorf("deploy.sh changed the Swarm despite a missing file: %v", changes)
			}
			os.WriteFile(victim, saved, 0o600)

			// Placeholders left as secrets init wrote them stop it too:
			// Swarm would keep them for good. The operator fills them in.
			var unfilled []string
			for _, sec := range s.Secrets {
				if sec.Kind == "placeholder" {
					unfilled = append(unfilled, filepath.Join(secretsDir, sec.Name))
				}
			}
			if len(unfilled) > 0 {
				code, _, stderr := f.run("deploy.sh", "--secrets", secretsDir, "--timeout", "5", "--settle", "0")
				if code != 1 || !strings.Contains(stderr, "still the placeholder") || !strings.Contains(stderr, unfilled[0]) {
					t.Errorf("placeholders: exit %d, stderr:\n%s", code, stderr)
				}
				if changes := f.takeLog(); len(changes) > 0 {
					t.Errorf("deploy.sh changed the Swarm with placeholder secrets: %v", changes)
				}
				for _, u := range unfilled {
					os.WriteFile(u, []byte("filled-in-by-the-operator"), 0o600)
				}
			}

			code, _, stderr = f.run("deploy.sh", "--secrets", secretsDir, "--timeout", "5", "--settle", "0")
			if code != 0 {
				t.Fatalf("deploy.sh: exit %d:\n%s", code, stderr)
			}
			first := f.takeLog()
			labels := 0
			for _, n := range s.Nodes {
				labels += len(n.Labels)
			}
			var stackDeploys []string
			for _, st := range s.Stacks {
				stackDeploys = append(stackDeploys, "stack_deploy_"+st.Name)
			}
			nets := 1
			if s.Kind == site.KindHost {
				nets = 2
			}
			if want := nets + labels + len(s.Secrets) + len(s.Stacks); len(first) != want {
				t.Errorf("first run: %d changes, want %d:\n%s", len(first), want, strings.Join(first, "\n"))
			}
			if got := strings.Join(first[len(first)-len(s.Stacks):], " "); got != strings.Join(stackDeploys, " ") {
				t.Errorf("stacks deployed as %s, want %s", got, strings.Join(stackDeploys, " "))
			}

			// Idempotent: the second run only re-applies the stacks.
			code, stdout, stderr := f.run("deploy.sh", "--secrets", secretsDir, "--timeout", "5", "--settle", "0", "--allow-placeholders")
			if code != 0 {
				t.Fatalf("deploy.sh again: exit %d:\n%s", code, stderr)
			}
			if second := f.takeLog(); strings.Join(second, " ") != strings.Join(stackDeploys, " ") {
				t.Errorf("second run changed:\n%s", strings.Join(second, "\n"))
			}
			for _, line := range strings.Split(stdout, "\n") {
				if strings.HasPrefix(line, "+ ") && !strings.HasPrefix(line, "+ docker stack deploy ") {
					t.Errorf("second run: %s", line)
				}
			}

			// A re-deploy whose update Swarm paused (a new task keeps
			// failing) is a failure, not convergence; one still updating
			// has not converged.
			f.env = []string{"FAKE_UPDATE_STATE=paused"}
			code, _, stderr = f.run("deploy.sh", "--secrets", secretsDir, "--timeout", "5", "--settle", "0")
			if code != 1 || !strings.Contains(stderr, "Swarm stopped updating "+s.Stacks[0].Name+"_svc (paused)") {
				t.Errorf("paused update: exit %d, stderr:\n%s", code, stderr)
			}
			f.env = []string{"FAKE_UPDATE_STATE=updating"}
			code, _, stderr = f.run("deploy.sh", "--secrets", secretsDir, "--timeout", "0")
			if code != 1 || !strings.Contains(stderr, "has not converged after 0s") {
				t.Errorf("update in progress: exit %d, stderr:\n%s", code, stderr)
			}
			// A task that exits as soon as it starts is replaced by another:
			// its service shows its replicas at each look, but never the
			// same task twice, which is no convergence.
			f.env = []string{"FAKE_TASKS_EXIT=1"}
			code, _, stderr = f.run("deploy.sh", "--secrets", secretsDir, "--timeout", "2", "--settle", "1")
			if code != 1 || !strings.Contains(stderr, "has not converged after 2s: its tasks did not keep running for 1s") {
				t.Errorf("tasks that exit: exit %d, stderr:\n%s", code, stderr)
			}
			// A look that finds no task desired running (one exited, its
			// replacement not yet made; the CLI fails with "nothing found
			// in stack") is a stack still starting, not an error.
			f.env = []string{"FAKE_TASKS_GONE=1"}
			code, _, stderr = f.run("deploy.sh", "--secrets", secretsDir, "--timeout", "20", "--settle", "0")
			if _, err := os.Stat(filepath.Join(f.state, "gone")); code != 0 || err != nil {
				t.Errorf("no task running at one look: exit %d (the look made: %v), stderr:\n%s", code, err == nil, stderr)
			}
			os.Remove(filepath.Join(f.state, "gone"))
			// The daemon failing while deploy.sh waits: which stack, and why.
			f.env = []string{"FAKE_DAEMON_DOWN=1"}
			code, _, stderr = f.run("deploy.sh", "--secrets", secretsDir, "--timeout", "5", "--settle", "0")
			if code != 1 || !strings.Contains(stderr, "stack "+s.Stacks[0].Name+": cannot list its services: Cannot connect to the Docker daemon") {
				t.Errorf("daemon down: exit %d, stderr:\n%s", code, stderr)
			}
			f.env = nil

			// A secret file changed: its new version is created, rolled
			// out by the stacks that use it, and the old one, no longer in
			// use, removed.
			f.takeLog()
			rotated := s.Secrets[0].Name
			if err := os.WriteFile(filepath.Join(secretsDir, rotated), []byte("rotated-by-the-operator"), 0o600); err != nil {
				t.Fatal(err)
			}
			oldVersions, _ := filepath.Glob(filepath.Join(f.state, "secret", rotated+"_????????????"))
			code, _, stderr = f.run("deploy.sh", "--secrets", secretsDir, "--timeout", "5", "--settle", "0")
			if code != 0 {
				t.Fatalf("changed secret file: exit %d:\n%s", code, stderr)
			}
			sum := sha256.Sum256([]byte("rotated-by-the-operator"))
			newVersion := rotated + "_" + hex.EncodeToString(sum[:])[:12]
			if len(oldVersions) != 1 {
				t.Fatalf("versions of %s before the change: %v", rotated, oldVersions)
			}
			want := append([]string{"secret_create_" + newVersion}, stackDeploys...)
			want = append(want, "secret_rm_"+filepath.Base(oldVersions[0]))
			if got := f.takeLog(); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("rotation changed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}

			// A fixed variable (CREDENTIAL_ENCRYPTION_KEY) other than the
			// running service's stops deploy.sh before any change.
			for _, v := range s.Variables {
				if !v.Fixed {
					continue
				}
				svc := filepath.Join(f.state, "env", "nuvla_api")
				os.MkdirAll(filepath.Dir(svc), 0o755)
				os.WriteFile(svc, []byte("JSON_LOGGING=true\n"+v.Name+"=the-deployed-key-of-32-characters-\n"), 0o644)
				code, _, stderr = f.run("deploy.sh", "--secrets", secretsDir, "--timeout", "5", "--settle", "0")
				if code != 1 || !strings.Contains(stderr, "refusing to change a value") || !strings.Contains(stderr, v.Name+" (service nuvla_api runs with another value)") {
					t.Errorf("changed %s: exit %d, stderr:\n%s", v.Name, code, stderr)
				}
				if strings.Contains(stderr, "the-deployed-key") {
					t.Errorf("changed %s: the value reached stderr:\n%s", v.Name, stderr)
				}
				if changes := f.takeLog(); len(changes) > 0 {
					t.Errorf("deploy.sh changed the Swarm despite a changed %s: %v", v.Name, changes)
				}
				// The same value as deployed passes.
				file, _ := os.ReadFile(filepath.Join(secretsDir, v.Name))
				os.WriteFile(svc, []byte(v.Name+"="+string(file)+"\n"), 0o644)
				if code, _, stderr = f.run("deploy.sh", "--secrets", secretsDir, "--timeout", "5", "--settle", "0"); code != 0 {
					t.Errorf("unchanged %s: exit %d, stderr:\n%s", v.Name, code, stderr)
				}
				f.takeLog()
			}

			code, _, stderr = f.run("teardown.sh", "--remove-secrets", "--remove-networks", "--timeout", "5")
			if code != 0 {
				t.Fatalf("teardown.sh: exit %d:\n%s", code, stderr)
			}
			if gone := f.takeLog(); len(gone) != nets+len(s.Secrets)+len(s.Stacks) ||
				gone[0] != "stack_rm_"+s.Stacks[len(s.Stacks)-1].Name {
				t.Errorf("teardown removed:\n%s", strings.Join(gone, "\n"))
			}
			for _, kind := range []string{"net", "secret", "stack"} {
				if left, _ := os.ReadDir(filepath.Join(f.state, kind)); len(left) > 0 {
					t.Errorf("teardown left %s objects: %d", kind, len(left))
				}
			}
		})
	}
}

// TestDeployMovesLabels runs deploy.sh on a Swarm where the edge label
// is on another node than the site's (the edge moved), a node the site no
// longer lists still has its labels, and one has a type it lost: deploy.sh
// removes each before it labels, and touches no label it does not own.
// The node commands it runs are in testdata/labels/moved-edge.txtar.
func TestDeployMovesLabels(t *testing.T) {
	var s *site.Site
	for _, e := range sitetest.Embedded(t) {
		if e.Name == "example-host" {
			s = e
		}
	}
	f := &fakeSwarm{t: t, dir: t.TempDir(), bin: t.TempDir(), state: t.TempDir()}
	writeSite(t, f.dir, rendered(t)[s.Name])
	if err := os.WriteFile(filepath.Join(f.bin, "docker"), []byte(fakeDocker), 0o755); err != nil {
		t.Fatal(err)
	}
	secretsDir := t.TempDir()
	files, err := secrets.Generate(s, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, sf := range files {
		if err := os.WriteFile(filepath.Join(secretsDir, sf.Name), sf.Content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range []struct{ node, key, value string }{
		{"host-manager-1", "type", "frontend"},
		{"host-worker-1", "edge", "true"},       // where the edge was
		{"host-worker-1", "type", "worker-job"}, // unchanged
		{"host-worker-1", "zone", "b"},          // not the site's: kept
		{"old-manager", "edge", "true"},         // a node the site dropped
		{"old-manager", "type", "frontend"},
	} {
		os.MkdirAll(filepath.Join(f.state, "node"), 0o755)
		os.MkdirAll(filepath.Join(f.state, "label"), 0o755)
		os.WriteFile(filepath.Join(f.state, "node", l.node), nil, 0o644)
		os.WriteFile(filepath.Join(f.state, "label", l.node+"."+l.key), []byte(l.value+"\n"), 0o644)
	}
	for _, n := range s.Nodes {
		os.WriteFile(filepath.Join(f.state, "node", n.Name), nil, 0o644)
	}
	code, stdout, stderr := f.run("deploy.sh", "--secrets", secretsDir, "--timeout", "5", "--settle", "0", "--allow-placeholders")
	if code != 0 {
		t.Fatalf("deploy.sh: exit %d:\n%s", code, stderr)
	}
	var trace strings.Builder
	for _, line := range strings.SplitAfter(stdout, "\n") {
		if strings.HasPrefix(line, "+ docker node ") {
			trace.WriteString(line)
		}
	}
	left, _ := os.ReadDir(filepath.Join(f.state, "label"))
	var labels strings.Builder
	for _, e := range left {
		b, _ := os.ReadFile(filepath.Join(f.state, "label", e.Name()))
		fmt.Fprintf(&labels, "%s=%s", e.Name(), b)
	}
	c := golden.Open(t, filepath.Join("testdata", "labels", "moved-edge.txtar"), golden.All)
	c.Check(t, golden.Sorted("", map[string][]byte{"node-commands": []byte(trace.String()), "labels-after": []byte(labels.String())}))
}
