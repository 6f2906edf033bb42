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
		documented[c.name] = true
		want, _, _ := strings.Cut(help(c.name), "\nExamples:\n")
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
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		var stdout, stderr bytes.Buffer
		Main(args, &stdout, &stderr)
		if stdout.String() != top {
			t.Errorf("nuvlagen %q does not print help/nuvlagen.txt", args)
		}
	}
}

// TestHelpLayout: every command's help, and nuvlagen's, has the same
// sections in the same order: Usage first, then the description, Flags
// (with -h), Examples, each once.
func TestHelpLayout(t *testing.T) {
	cases := [][]string{{"--help"}}
	for _, c := range commands {
		cases = append(cases, []string{c.name, "--help"})
	}
	cases = append(cases, []string{"help", "help"}, []string{"firewall", "query", "--help"}, []string{"secrets", "init", "--help"})
	for _, args := range cases {
		var stdout, stderr bytes.Buffer
		if code := Main(args, &stdout, &stderr); code != ExitOK {
			t.Errorf("nuvlagen %q: exit %d: %s", args, code, stderr.String())
			continue
		}
		out := stdout.String()
		if !strings.HasPrefix(out, "Usage: nuvlagen ") {
			t.Errorf("nuvlagen %q: help does not start with \"Usage: nuvlagen \":\n%s", args, out)
		}
		at := 0
		for _, section := range []string{"\nFlags:\n", "\nExamples:\n"} {
			i := strings.Index(out, section)
			if i < at || strings.Count(out, section) != 1 {
				t.Errorf("nuvlagen %q: want one %q, after the sections before it:\n%s", args, section, out)
				break
			}
			at = i
		}
		if !strings.Contains(out, "-h, --help") {
			t.Errorf("nuvlagen %q: Flags lacks -h, --help:\n%s", args, out)
		}
	}
}

// TestHelpHelp: "help help" is help's own help; "help nope" a usage error.
func TestHelpHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"help", "help"}, &stdout, &stderr); code != ExitOK || !strings.HasPrefix(stdout.String(), "Usage: nuvlagen help [COMMAND]") {
		t.Errorf("help help: exit %d:\n%s%s", code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	if code := Main([]string{"help", "nope"}, &stdout, &stderr); code != ExitUsage || !strings.Contains(stderr.String(), `unknown command "nope"`) {
		t.Errorf("help nope: exit %d:\n%s%s", code, stdout.String(), stderr.String())
	}
}
