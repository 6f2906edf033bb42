package scripts_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nuvla/nuvlagen/generator/secrets"
	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/generator/site/sitetest"
)

// fakeDocker is a docker CLI that keeps a Swarm's networks, node labels,
// secrets and stacks as files under $FAKE_STATE and logs every change to
// $FAKE_STATE/log; the services verify.sh lists and the answer of its
// one-off container are files there too. Its stack deploy fails, as the real one does, when a
// variable a compose file demands with ${NAME:?...} is unset.
const fakeDocker = `#!/usr/bin/env bash
set -euo pipefail
st=$FAKE_STATE
mkdir -p "$st/net" "$st/secret" "$st/stack" "$st/label"
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
	# teardown.sh asks for a removed stack's IDs, which are gone.
	if [[ -n $format ]]; then cat "$st/services" 2>/dev/null || true; fi ;;
"run --rm")
	# verify.sh's one-off container: curl's answer is $st/es-health.
	printf '%s\n' "$*" >>"$st/run.log"
	[[ -e $st/es-health ]] || { echo "curl: (6) Could not resolve host: es" >&2; exit 6; }
	cat "$st/es-health" ;;
"node inspect")
	key=$(sed -E 's/.*"([^"]*)".*/\1/' <<<"$format")
	if [[ -e $st/label/$last.$key ]]; then cat "$st/label/$last.$key"; else echo "<no value>"; fi ;;
"node update")
	[[ $3 == --label-add ]] || exit 98
	echo "${4#*=}" >"$st/label/$last.${4%%=*}"; log "$*" ;;
"secret inspect")
	[[ -e $st/secret/$last ]] || { echo "Error: no such secret: $last" >&2; exit 1; }
	case $format in *Labels*) cat "$st/secret/$last.label" 2>/dev/null || echo "<no value>" ;; esac ;;
"secret create")
	[[ $3 == --label && $4 == nuvlagen.sha256=* ]] || exit 98
	[[ ! -e $st/secret/$5 ]] || { echo "secret $5 exists" >&2; exit 1; }
	cp "$6" "$st/secret/$5"; echo "${4#*=}" >"$st/secret/$5.label"; log "secret create $5" ;;
"secret rm") rm "$st/secret/$last" "$st/secret/$last.label"; log "$*" ;;
"stack deploy")
	[[ $3 == --resolve-image && $5 == -c ]] || exit 98
	for v in $(grep -o '\${[A-Z_]*:?' "$6" | tr -d '${:?' | sort -u); do
		[[ -n ${!v:-} ]] || { echo "$6: variable $v is unset" >&2; exit 1; }
	done
	touch "$st/stack/$last"; log "stack deploy $last" ;;
"stack services")
	[[ -z ${FAKE_DAEMON_DOWN:-} ]] || { echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock" >&2; exit 1; }
	if [[ ${3:-} == -q ]]; then echo "${last}_svc"; else echo "${last}_svc 1/1"; fi ;;
"service inspect") shift 2; for id in "$@"; do echo "$id ${FAKE_UPDATE_STATE:-completed}"; done ;;
"stack ls") ls "$st/stack" ;;
"stack rm") rm "$st/stack/$last"; log "$*" ;;
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
			code, _, stderr := f.run("deploy.sh", "--secrets", secretsDir, "--timeout", "5")
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
				code, _, stderr := f.run("deploy.sh", "--secrets", secretsDir, "--timeout", "5")
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

			code, _, stderr = f.run("deploy.sh", "--secrets", secretsDir, "--timeout", "5")
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
			code, stdout, stderr := f.run("deploy.sh", "--secrets", secretsDir, "--timeout", "5")
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
			code, _, stderr = f.run("deploy.sh", "--secrets", secretsDir, "--timeout", "5")
			if code != 1 || !strings.Contains(stderr, "Swarm stopped updating "+s.Stacks[0].Name+"_svc (paused)") {
				t.Errorf("paused update: exit %d, stderr:\n%s", code, stderr)
			}
			f.env = []string{"FAKE_UPDATE_STATE=updating"}
			code, _, stderr = f.run("deploy.sh", "--secrets", secretsDir, "--timeout", "0")
			if code != 1 || !strings.Contains(stderr, "has not converged after 0s") {
				t.Errorf("update in progress: exit %d, stderr:\n%s", code, stderr)
			}
			// The daemon failing while deploy.sh waits: which stack, and why.
			f.env = []string{"FAKE_DAEMON_DOWN=1"}
			code, _, stderr = f.run("deploy.sh", "--secrets", secretsDir, "--timeout", "5")
			if code != 1 || !strings.Contains(stderr, "stack "+s.Stacks[0].Name+": cannot list its services: Cannot connect to the Docker daemon") {
				t.Errorf("daemon down: exit %d, stderr:\n%s", code, stderr)
			}
			f.env = nil

			// A secret file changed since its secret was created: the Swarm
			// keeps the old value, and deploy.sh says so.
			changed := filepath.Join(secretsDir, s.Secrets[0].Name)
			if err := os.WriteFile(changed, []byte("rotated-by-the-operator"), 0o600); err != nil {
				t.Fatal(err)
			}
			code, _, stderr = f.run("deploy.sh", "--secrets", secretsDir, "--timeout", "5")
			if code != 0 || !strings.Contains(stderr, "warning: secret "+s.Secrets[0].Name+" in the Swarm does not match "+changed) {
				t.Errorf("changed secret file: exit %d, stderr:\n%s", code, stderr)
			}
			if n := strings.Count(stderr, "does not match"); n != 1 {
				t.Errorf("changed secret file: %d warnings, want 1:\n%s", n, stderr)
			}
			f.takeLog()

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
