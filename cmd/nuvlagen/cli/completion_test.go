package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nuvla/nuvlagen/internal/shellcheck"
)

// completionScript writes nuvlagen's completion script for shell into a
// directory that also holds a site file to complete.
func completionScript(t *testing.T, shell string) (dir, script string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"completion", shell}, &stdout, &stderr); code != ExitOK {
		t.Fatalf("completion %s: exit %d: %s", shell, code, stderr.String())
	}
	dir = t.TempDir()
	script = filepath.Join(dir, "nuvlagen."+shell)
	for name, data := range map[string][]byte{script: stdout.Bytes(), filepath.Join(dir, "prod-site.cue"): nil} {
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, script
}

func needShell(t *testing.T, shell string) string {
	t.Helper()
	p, err := exec.LookPath(shell)
	if err != nil {
		t.Skipf("%s is not installed (apt-get install %s): its completion script is not loaded", shell, shell)
	}
	return p
}

// completionCases are command lines being completed (the last word is
// the one under the cursor) and a candidate each must offer.
var completionCases = []struct{ line, want string }{
	{"nuvlagen gen", "generate"},
	{"nuvlagen comp", "completion"},
	{"nuvlagen --ver", "--version"},
	{"nuvlagen firewall q", "query"},
	{"nuvlagen firewall query --fr", "--from"},
	{"nuvlagen secrets ch", "check"},
	{"nuvlagen completion fi", "fish"},
	{"nuvlagen help fire", "firewall"},
	{"nuvlagen generate --pr", "--prune"},
	{"nuvlagen vet --str", "--strict"},
	{"nuvlagen diff --ba", "--base"},
	{"nuvlagen generate --site prod", "prod-site.cue"},
	{"nuvlagen vet prod", "prod-site.cue"},
}

// TestCompletionBash loads the bash script and runs its function on each
// command line, as bash's programmable completion would; and shellchecks it.
func TestCompletionBash(t *testing.T) {
	bash := needShell(t, "bash")
	dir, script := completionScript(t, "bash")
	shellcheck.Files(t, script)
	for _, tc := range completionCases {
		words := strings.Fields(tc.line)
		if strings.HasSuffix(tc.line, " ") {
			words = append(words, "")
		}
		cmd := exec.Command(bash, "--norc", "--noprofile", "-c", `source "$1" && complete -p nuvlagen >/dev/null && shift &&
COMP_WORDS=("$@") && COMP_CWORD=$(($# - 1)) && _nuvlagen && printf '%s\n' "${COMPREPLY[@]}"`, "bash", script)
		cmd.Args = append(cmd.Args, words...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v\n%s", tc.line, err, out)
		}
		if !hasLine(string(out), tc.want) {
			t.Errorf("bash completes %q with\n%s\nwant %q among them", tc.line, out, tc.want)
		}
	}
}

// TestCompletionFish loads the fish script and asks fish to complete
// each command line (complete -C, what fish runs on Tab).
func TestCompletionFish(t *testing.T) {
	fish := needShell(t, "fish")
	dir, script := completionScript(t, "fish")
	for _, tc := range completionCases {
		cmd := exec.Command(fish, "--no-config", "-c", `source $argv[1]; and complete -C"$argv[2]"`, script, tc.line)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_DATA_HOME="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v\n%s", tc.line, err, out)
		}
		var got []string
		for _, l := range strings.Split(string(out), "\n") {
			got = append(got, strings.SplitN(l, "\t", 2)[0])
		}
		if !hasLine(strings.Join(got, "\n"), tc.want) {
			t.Errorf("fish completes %q with\n%s\nwant %q among them", tc.line, out, tc.want)
		}
	}
}

// TestCompletionZsh loads the zsh script under compinit and checks it
// registered its function for nuvlagen, and that the function parses.
// (zsh completes only inside its line editor, which a test has not.)
func TestCompletionZsh(t *testing.T) {
	zsh := needShell(t, "zsh")
	dir, script := completionScript(t, "zsh")
	if out, err := exec.Command(zsh, "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("zsh -n: %v\n%s", err, out)
	}
	cmd := exec.Command(zsh, "-f", "-c", `autoload -Uz compinit && compinit -u -D && source "$1" && print -r -- "$_comps[nuvlagen]" && whence -w _nuvlagen`, "zsh", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "ZDOTDIR="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("loading: %v\n%s", err, out)
	}
	if want := "_nuvlagen\n_nuvlagen: function\n"; string(out) != want {
		t.Errorf("zsh after sourcing the script:\n%s\nwant:\n%s", out, want)
	}
}

func TestCompletionUsage(t *testing.T) {
	for _, args := range [][]string{{"completion"}, {"completion", "tcsh"}, {"completion", "bash", "zsh"}} {
		var stdout, stderr bytes.Buffer
		if code := Main(args, &stdout, &stderr); code != ExitUsage || stdout.Len() > 0 {
			t.Errorf("nuvlagen %q: exit %d, stdout %q", args, code, stdout.String())
		}
	}
}

func hasLine(out, want string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.TrimSpace(l) == want {
			return true
		}
	}
	return false
}

// TestCompletionWords: the subcommands completion offers are those each
// command's usage names.
func TestCompletionWords(t *testing.T) {
	for name, ws := range words {
		usage, _, _ := strings.Cut(help(name), "\n\n")
		for _, w := range ws {
			if !strings.Contains(usage, w) {
				t.Errorf("completion offers %q after %s, which its usage does not name:\n%s", w, name, usage)
			}
		}
	}
}
