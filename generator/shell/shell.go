// Package shell is the one way nuvlagen writes bash. A script is fixed
// text, libraries of functions kept as real .sh files (shellchecked as
// sources), and values; a value reaches a script only through Quote (a
// word, mvdan.cc/sh's syntax.Quote), Comment (one escaped line) or Heredoc
// (a verbatim body under a quoted, checked delimiter). Fixed text has the
// unexported type text, which only constants convert to: code built by
// concatenating a value into a string does not compile.
package shell

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"mvdan.cc/sh/v3/syntax"
)

// text is fixed script text: an untyped string constant converts to it,
// a string variable does not.
type text string

//go:embed lib/*.sh
var libs embed.FS

// Libs are this package's libraries, for tests that shellcheck them.
func Libs() fs.FS { return libs }

// Script accumulates one bash script; the first error sticks.
type Script struct {
	b   strings.Builder
	err error
}

// New starts a script: the shebang, then header (artifact.Header's line,
// which prints the source escaped).
func New(header string) *Script {
	s := &Script{}
	s.b.WriteString("#!/usr/bin/env bash\n")
	if strings.Count(header, "\n") != 1 || !strings.HasPrefix(header, "# ") || !strings.HasSuffix(header, "\n") {
		s.fail(fmt.Errorf("header %q is not one comment line", header))
	}
	s.b.WriteString(header)
	return s
}

func (s *Script) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// Text writes fixed text as it is.
func (s *Script) Text(t text) { s.b.WriteString(string(t)) }

// Helpers writes the functions every script shares (lib/helpers.sh): die,
// usage_error, note, say, run and ask.
func (s *Script) Helpers() { s.Library(libs, "lib/helpers.sh") }

// Library writes a library file of fsys (a package's embedded lib/*.sh),
// without its opening comment block: the shellcheck directives and notes
// for readers of the library, up to the first blank line.
func (s *Script) Library(fsys fs.FS, name text) {
	b, err := fs.ReadFile(fsys, string(name))
	if err != nil {
		s.fail(err)
		return
	}
	body := string(b)
	if strings.HasPrefix(body, "#") {
		i := strings.Index(body, "\n\n")
		if i < 0 {
			s.fail(fmt.Errorf("library %s: no blank line after its opening comment", name))
			return
		}
		body = body[i+2:]
	}
	s.b.WriteString(body)
}

// Cmd writes one command: name, fixed words (a function or a command with
// its options), then args, each quoted as one word.
func (s *Script) Cmd(name text, args ...string) {
	s.b.WriteString(string(name))
	for _, a := range args {
		s.b.WriteByte(' ')
		s.b.WriteString(s.Quote(a))
	}
	s.b.WriteByte('\n')
}

// Assign writes name=value, value quoted. name is a fixed variable name.
func (s *Script) Assign(name text, value string) {
	s.b.WriteString(string(name) + "=" + s.Quote(value) + "\n")
}

// Array writes name=(values...), each value quoted.
func (s *Script) Array(name text, values ...string) {
	s.b.WriteString(string(name) + "=(")
	for i, v := range values {
		if i > 0 {
			s.b.WriteByte(' ')
		}
		s.b.WriteString(s.Quote(v))
	}
	s.b.WriteString(")\n")
}

// Map writes declare -A name=([key]=value ...), keys in sorted order,
// keys and values quoted.
func (s *Script) Map(name text, m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	s.b.WriteString("declare -A " + string(name) + "=(")
	for i, k := range keys {
		if i > 0 {
			s.b.WriteByte(' ')
		}
		// A subscript is always quoted: unquoted, a key such as --x
		// reads as arithmetic to anything but bash's declare -A.
		q := s.Quote(k)
		if q == k {
			q = "'" + k + "'"
		}
		s.b.WriteString("[" + q + "]=" + s.Quote(m[k]))
	}
	s.b.WriteString(")\n")
}

// AssignHeredoc writes name=$(cat <<'DELIM' ... DELIM), body verbatim: a
// variable holding a file's text (cat drops the last newline, as $(...)
// does).
func (s *Script) AssignHeredoc(name text, body string) {
	s.checkBody(body)
	s.b.WriteString(string(name) + "=$(\n\tcat <<'" + heredocDelim + "'\n")
	s.b.WriteString(body)
	s.b.WriteString(heredocDelim + "\n)\n")
}

// Quote quotes v as one bash word.
func (s *Script) Quote(v string) string {
	q, err := Quote(v)
	if err != nil {
		s.fail(err)
	}
	return q
}

// Comment writes comment lines: format is fixed text whose lines all
// start with "#", and each argument is printed by CommentValue, so none
// can end the comment.
func (s *Script) Comment(format text, args ...any) {
	for _, line := range strings.Split(strings.TrimSuffix(string(format), "\n"), "\n") {
		if !strings.HasPrefix(line, "#") {
			s.fail(fmt.Errorf("comment line %q does not start with #", line))
		}
	}
	vals := make([]any, len(args))
	for i, a := range args {
		vals[i] = CommentValue(fmt.Sprint(a))
	}
	fmt.Fprintf(&s.b, string(format), vals...)
}

// heredocDelim ends every here-document; it is quoted, so the body is
// never expanded.
const heredocDelim = "NUVLAGEN_EOF"

// Heredoc writes a command (fixed name, quoted args) whose standard input
// is body, verbatim. The body must end in a newline and must not hold the
// delimiter line.
func (s *Script) Heredoc(body string, name text, args ...string) {
	s.checkBody(body)
	s.b.WriteString(string(name))
	for _, a := range args {
		s.b.WriteByte(' ')
		s.b.WriteString(s.Quote(a))
	}
	s.b.WriteString(" <<'" + heredocDelim + "'\n")
	s.b.WriteString(body)
	s.b.WriteString(heredocDelim + "\n")
}

// checkBody refuses a here-document body that would end early or run on.
func (s *Script) checkBody(body string) {
	for _, line := range strings.Split(body, "\n") {
		if line == heredocDelim {
			s.fail(fmt.Errorf("here-document body holds its delimiter %s", heredocDelim))
		}
	}
	if !strings.HasSuffix(body, "\n") {
		s.fail(fmt.Errorf("here-document body does not end in a newline"))
	}
}

// Bytes returns the script, or the first error met writing it.
func (s *Script) Bytes() ([]byte, error) {
	if s.err != nil {
		return nil, s.err
	}
	return []byte(s.b.String()), nil
}

// Quote quotes v as one bash word (syntax.Quote: single quotes, or $'...'
// for control characters and invalid UTF-8; NUL, which bash cannot hold,
// is refused).
func Quote(v string) (string, error) {
	q, err := syntax.Quote(v, syntax.LangBash)
	if err != nil {
		return "", fmt.Errorf("cannot quote %q for bash: %w", v, err)
	}
	return q, nil
}

// CommentValue prints v for a "#" comment line: as it is when it is made
// of printable characters only, else Go-quoted (ASCII, escapes for the
// rest), so that no newline, carriage return or Unicode line separator
// can end the comment.
func CommentValue(v string) string {
	for _, r := range v {
		if !unicode.IsPrint(r) && r != ' ' || r == '\u2028' || r == '\u2029' || r == '\u0085' {
			return strconv.QuoteToASCII(v)
		}
	}
	return v
}
