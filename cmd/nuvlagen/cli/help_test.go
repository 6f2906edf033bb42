package cli

import (
	"bytes"
	"io/fs"
	"strings"
	"testing"
)

// TestHelpFiles: every command's --help, and "help <command>", prints its
// help/<command>.txt; the top-level help is help/nuvlagen.txt and lists
// every command; and every help file belongs to a command.
func TestHelpFiles(t *testing.T) {
	top := help("nuvlagen")
	files, err := fs.Glob(helpFiles, "help/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{"nuvlagen": true}
	for _, c := range commands {
		if !strings.Contains(top, "\n  "+c.name+" ") {
			t.Errorf("nuvlagen --help does not list %s", c.name)
		}
		if c.name == "help" || c.name == "version" {
			continue
		}
		documented[c.name] = true
		want := help(c.name)
		for _, args := range [][]string{{c.name, "--help"}, {c.name, "-h"}, {"help", c.name}} {
			var stdout, stderr bytes.Buffer
			if code := Main(args, &stdout, &stderr); code != ExitOK {
				t.Errorf("nuvlagen %q: exit %d: %s", args, code, stderr.String())
			}
			if !strings.HasPrefix(stdout.String(), want) {
				t.Errorf("nuvlagen %q does not print help/%s.txt:\n%s", args, c.name, stdout.String())
			}
		}
	}
	for _, f := range files {
		if name := strings.TrimSuffix(strings.TrimPrefix(f, "help/"), ".txt"); !documented[name] {
			t.Errorf("%s is no command's help", f)
		}
	}
	for _, args := range [][]string{{"--help"}, {"help"}} {
		var stdout, stderr bytes.Buffer
		Main(args, &stdout, &stderr)
		if stdout.String() != top {
			t.Errorf("nuvlagen %q does not print help/nuvlagen.txt", args)
		}
	}
}
