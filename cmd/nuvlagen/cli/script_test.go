package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/nuvla/nuvlagen/cmd/nuvlagen/internal/buildinfo"
	"github.com/nuvla/nuvlagen/internal/golden"
)

func TestMain(m *testing.M) {
	testscript.Main(ownCache{m}, map[string]func(){
		"nuvlagen": func() { os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr)) },
		// A release build: the test binary is a development build, whose
		// records name no build and which reuses nothing.
		"nuvlagen-release": func() {
			buildinfo.Version = "v1.0.0-script"
			os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
		},
	})
}

// ownCache runs the tests with the user's cache directory swapped for one
// of this run's own, removed afterwards: in-process generate and check
// keep the stat data of the sites they find intact there. (The commands
// testscript runs as processes of this binary inherit it.)
type ownCache struct{ m *testing.M }

func (o ownCache) Run() int {
	cache, err := os.MkdirTemp("", "nuvlagen-cli-test-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer os.RemoveAll(cache)
	if err := os.Setenv("XDG_CACHE_HOME", cache); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return o.m.Run()
}

// TestScripts runs the command-line scenarios in testdata/script.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: true,
		UpdateScripts:       golden.Update(),
		// The stamps of intact sites (generate, check) go to a cache of
		// the script's own, not the machine's.
		Setup: func(env *testscript.Env) error {
			env.Setenv("XDG_CACHE_HOME", filepath.Join(env.WorkDir, ".cache"))
			return nil
		},
	})
}

func TestExitCodes(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.WriteFile("a-file", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want int
	}{
		{nil, ExitUsage},
		{[]string{"--help"}, ExitOK},
		{[]string{"help"}, ExitOK},
		{[]string{"help", "generate"}, ExitOK},
		{[]string{"help", "nope"}, ExitUsage},
		{[]string{"version"}, ExitOK},
		{[]string{"--version"}, ExitOK},
		{[]string{"nope"}, ExitUsage},
		{[]string{"generate", "--bogus"}, ExitUsage},
		{[]string{"generate", "stray-argument"}, ExitUsage},
		{[]string{"generate", "--out", ""}, ExitUsage},
		{[]string{"generate", "--out", "a-file"}, ExitUsage},
		{[]string{"check", "--out", ""}, ExitUsage},
		{[]string{"generate", "--site", "missing.cue"}, ExitInvalid},
		{[]string{"check", "--bogus"}, ExitUsage},
		{[]string{"check", "--out", "nothing-here"}, ExitInvalid},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		if got := Main(tt.args, &out, &errOut); got != tt.want {
			t.Errorf("nuvlagen %q: exit %d, want %d\nstderr: %s", tt.args, got, tt.want, errOut.String())
		}
	}
	if _, err := os.Stat("out"); !os.IsNotExist(err) {
		t.Error("a failing command wrote out/")
	}
}
