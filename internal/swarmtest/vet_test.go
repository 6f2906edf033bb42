package swarmtest

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/tools/txtar"

	"github.com/nuvla/nuvlagen/generator/vet"
	"github.com/nuvla/nuvlagen/internal/dockercli"
	"github.com/nuvla/nuvlagen/internal/poll"
)

// vetStack is the stack every case of TestVetAgreesWithEngine deploys
// as, one after the other.
const vetStack = "nuvlagen-vet"

// TestVetAgreesWithEngine deploys, for each of vet's rules that mirror
// the docker CLI or the engine (those with Sources), small stacks that
// break it and one that does not (testdata/vet-engine.txtar): docker
// stack deploy must refuse each bad stack with the message of the code
// the rule names, and vet must report the rule; both must accept the
// good one.
func TestVetAgreesWithEngine(t *testing.T) {
	d := requireEngine(t)
	ar, err := txtar.ParseFile(filepath.Join("testdata", "vet-engine.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]txtar.File{}
	for _, f := range ar.Files {
		rule := path.Dir(f.Name)
		cases[rule] = append(cases[rule], f)
	}
	for _, r := range vet.Rules() {
		if len(r.Sources) == 0 {
			continue
		}
		files := cases[r.ID]
		delete(cases, r.ID)
		t.Run(r.ID, func(t *testing.T) {
			dir := t.TempDir()
			good, bad := 0, 0
			for _, f := range files {
				if err := os.WriteFile(filepath.Join(dir, path.Base(f.Name)), f.Data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for _, f := range files {
				name := path.Base(f.Name)
				if path.Ext(name) != ".yml" {
					continue
				}
				first, _, _ := strings.Cut(string(f.Data), "\n")
				refused, isRefused := strings.CutPrefix(first, "# refused: ")
				switch {
				case strings.HasPrefix(name, "good"):
					good++
				case isRefused || first == "# accepted":
					bad++
				default:
					t.Fatalf("%s: neither good*.yml nor a first line # refused: or # accepted", f.Name)
				}
				t.Run(strings.TrimSuffix(name, ".yml"), func(t *testing.T) {
					diags := vet.File(name, f.Data, nil)
					stderr, err := deployVetCase(t, d, dir, name)
					switch {
					case isRefused:
						if err == nil {
							t.Errorf("docker stack deploy accepted %s; want it refused with %q", f.Name, refused)
						} else if !strings.Contains(strings.ToLower(stderr), strings.ToLower(refused)) {
							t.Errorf("docker stack deploy refused %s with\n%s\nwant a message with %q", f.Name, stderr, refused)
						}
						if !reports(diags, r.ID, r.Severity) {
							t.Errorf("vet does not report %s (%s) on %s; findings:\n%s", r.ID, r.Severity, f.Name, describe(diags))
						}
					case strings.HasPrefix(name, "good"):
						if err != nil {
							t.Errorf("docker stack deploy refused %s: %v", f.Name, err)
						}
						if n, _, _ := vet.Count(diags); n > 0 || reports(diags, r.ID, vet.Warning) {
							t.Errorf("vet reports on %s, which the engine accepts:\n%s", f.Name, describe(diags))
						}
					default: // # accepted
						if err != nil {
							t.Errorf("docker stack deploy refused %s: %v", f.Name, err)
						}
						if !reports(diags, r.ID, r.Severity) {
							t.Errorf("vet does not report %s on %s; findings:\n%s", r.ID, f.Name, describe(diags))
						}
					}
				})
			}
			if good == 0 || bad == 0 {
				t.Errorf("testdata/vet-engine.txtar needs a good and a bad stack for %s (has %d, %d)", r.ID, good, bad)
			}
		})
	}
	for rule := range cases {
		t.Errorf("testdata/vet-engine.txtar: %s is not a rule with sources", rule)
	}
}

// deployVetCase deploys file from dir as vetStack, removes the stack
// again whatever happened, and returns what docker printed on stderr.
func deployVetCase(t *testing.T, d *dockercli.CLI, dir, file string) (string, error) {
	t.Helper()
	record(engine.stacks, vetStack)
	defer removeVetStack(t, d)
	var stderr strings.Builder
	_, err := d.Exec(dockercli.Opts{Dir: dir, Stderr: &stderr},
		"stack", "deploy", "--resolve-image", "never", "--detach=true", "-c", file, vetStack)
	return stderr.String(), err
}

// removeVetStack removes vetStack and waits until its services, networks,
// secrets and configs are gone, so that the next case starts from
// nothing. The stack's network stays in use until the tasks of its
// removed services have stopped: the removal is repeated until it is.
func removeVetStack(t *testing.T, d *dockercli.CLI) {
	t.Helper()
	var last error
	err := poll.Until(60*time.Second, func() (bool, error) {
		for _, kind := range []string{"service", "network", "secret", "config"} {
			l, err := d.Lines(kind, "ls", "--filter", "label="+namespaceLabel+"="+vetStack, "-q")
			if err != nil {
				return false, err
			}
			if len(l) > 0 {
				if _, last = d.Run("stack", "rm", vetStack); last != nil && strings.Contains(last.Error(), "Nothing found in stack") {
					last = nil
				}
				return false, last
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("stack %s is not gone: %v", vetStack, err)
	}
}

// reports says whether diags hold a finding of rule with severity sev.
func reports(diags []vet.Diagnostic, rule string, sev vet.Severity) bool {
	return slices.ContainsFunc(diags, func(d vet.Diagnostic) bool { return d.Rule == rule && d.Severity == sev })
}

func describe(diags []vet.Diagnostic) string {
	var b strings.Builder
	for _, d := range diags {
		fmt.Fprintf(&b, "\t%s:%d:%d: %s: %s [%s]\n", d.File, d.Line, d.Column, d.Severity, d.Message, d.Rule)
	}
	if b.Len() == 0 {
		return "\t(none)\n"
	}
	return b.String()
}
