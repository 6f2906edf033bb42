// Package shellcheck runs bash -n and shellcheck on script files, for
// tests: generated scripts and the libraries they are written from.
package shellcheck

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"mvdan.cc/sh/v3/syntax"
)

// Files checks each file with bash -n, then with shellcheck at style
// severity as bash (libraries have no shebang). Without shellcheck the
// test goes on after bash -n and says so.
func Files(t *testing.T, paths ...string) {
	t.Helper()
	if len(paths) == 0 {
		t.Fatal("no script to check")
	}
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Log("shellcheck is not installed (apt-get install shellcheck): checking with bash -n only")
	}
	for _, p := range paths {
		if out, err := exec.Command("bash", "-n", p).CombinedOutput(); err != nil {
			t.Errorf("%s: bash -n: %v\n%s", p, err, out)
		}
		if sc == "" {
			continue
		}
		// --norc keeps a user's ~/.shellcheckrc out.
		cmd := exec.Command(sc, "--norc", "--severity=style", "--shell=bash", filepath.Base(p))
		cmd.Dir = filepath.Dir(p)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: shellcheck: %v\n%s", p, err, out)
		}
	}
}

// Glob checks the files matching pattern, of which there must be one.
func Glob(t *testing.T, pattern string) {
	t.Helper()
	paths, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no file matches %s", pattern)
	}
	Files(t, paths...)
}

// Structure prints a bash script's syntax tree with every literal word
// (plain, single- or double-quoted text without expansions) as one
// placeholder, but for the name of each command, and each here-document body as its line count: two scripts
// that differ only in the values they quote print alike, and a value that
// became code, or added a line to a file a script writes, does not.
// Comments are not part of the tree.
func Structure(src []byte) (string, error) {
	f, err := syntax.NewParser().Parse(strings.NewReader(string(src)), "")
	if err != nil {
		return "", err
	}
	var b strings.Builder
	syntax.Walk(f, func(n syntax.Node) bool {
		switch n := n.(type) {
		case nil:
			return true
		case *syntax.Stmt:
			b.WriteString("\n")
		case *syntax.Redirect:
			if n.Hdoc != nil {
				fmt.Fprintf(&b, "Heredoc(%d lines) ", strings.Count(hdocText(n.Hdoc), "\n"))
				return false
			}
		case *syntax.CallExpr:
			// The command a call runs is part of the structure: only
			// its arguments are values.
			if len(n.Args) > 0 && n.Args[0].Lit() != "" {
				fmt.Fprintf(&b, "CallExpr(%s) ", n.Args[0].Lit())
				return true
			}
		case *syntax.Word:
			if literal(n) {
				b.WriteString("W ")
				return false
			}
		}
		b.WriteString(strings.TrimPrefix(fmt.Sprintf("%T", n), "*syntax.") + " ")
		return true
	})
	return b.String(), nil
}

func hdocText(w *syntax.Word) string {
	var b strings.Builder
	for _, p := range w.Parts {
		if l, ok := p.(*syntax.Lit); ok {
			b.WriteString(l.Value)
		} else {
			b.WriteString("$x")
		}
	}
	return b.String()
}

// literal reports whether a word is only quoted or plain text.
func literal(w *syntax.Word) bool {
	for _, p := range w.Parts {
		switch p := p.(type) {
		case *syntax.Lit, *syntax.SglQuoted:
		case *syntax.DblQuoted:
			for _, q := range p.Parts {
				if _, ok := q.(*syntax.Lit); !ok {
					return false
				}
			}
		default:
			return false
		}
	}
	return true
}
