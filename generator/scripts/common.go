// Package scripts renders the shell scripts of a site: deploy.sh and
// teardown.sh, run on a Swarm manager, and prepare/<node>.sh, run as root
// on a node before the first deployment. Every value a script carries is
// quoted with mvdan.cc/sh's syntax.Quote; the fixed parts are shell
// functions written once here.
package scripts

import (
	"fmt"
	"strings"

	"mvdan.cc/sh/v3/syntax"

	"github.com/nuvla/nuvlagen/generator/compose"
)

// script accumulates one script; the first quoting error sticks.
type script struct {
	b   strings.Builder
	err error
}

func newScript(source string) *script {
	s := &script{}
	s.b.WriteString("#!/usr/bin/env bash\n")
	s.b.WriteString(compose.Header(source))
	return s
}

// raw writes fixed text.
func (s *script) raw(text string) { s.b.WriteString(text) }

// rawf writes fixed text with values that are not shell words (comments).
func (s *script) rawf(format string, args ...any) { fmt.Fprintf(&s.b, format, args...) }

// cmd writes one command line: name (a fixed word) and quoted arguments.
func (s *script) cmd(name string, args ...string) {
	s.b.WriteString(name)
	for _, a := range args {
		s.b.WriteByte(' ')
		s.b.WriteString(s.quote(a))
	}
	s.b.WriteByte('\n')
}

func (s *script) quote(v string) string {
	q, err := syntax.Quote(v, syntax.LangBash)
	if err != nil && s.err == nil {
		s.err = fmt.Errorf("cannot quote %q for bash: %w", v, err)
	}
	return q
}

// heredoc writes a command whose standard input is text, verbatim.
func (s *script) heredoc(text string, name string, args ...string) {
	const delim = "NUVLAGEN_EOF"
	for _, line := range strings.Split(text, "\n") {
		if line == delim && s.err == nil {
			s.err = fmt.Errorf("file content holds the here-document delimiter %s", delim)
		}
	}
	if !strings.HasSuffix(text, "\n") && s.err == nil {
		s.err = fmt.Errorf("file content does not end in a newline")
	}
	s.b.WriteString(name)
	for _, a := range args {
		s.b.WriteByte(' ')
		s.b.WriteString(s.quote(a))
	}
	s.b.WriteString(" <<'" + delim + "'\n")
	s.b.WriteString(text)
	s.b.WriteString(delim + "\n")
}

func (s *script) bytes() ([]byte, error) {
	if s.err != nil {
		return nil, s.err
	}
	return []byte(s.b.String()), nil
}

// helpers are the functions every script shares. say prints a command as
// one would type it; run prints and runs a command that changes state
// (only prints it under --dry-run); ask runs one that only reads state, and
// under --dry-run prints it and answers $dry_exists instead: deploy.sh
// plans against an empty Swarm, teardown.sh against a complete one. All
// output goes to fd 3, standard output, so ask's own output can be
// captured without capturing the trace.
const helpers = `exec 3>&1

die() {
	printf '%s: %s\n' "$prog" "$*" >&2
	exit 1
}

usage_error() {
	printf '%s: %s\n' "$prog" "$*" >&2
	usage >&2
	exit 2
}

note() {
	printf '# %s\n' "$*" >&3
}

say() {
	local line=$1 word q="'\\''"
	shift
	for word in "$@"; do
		if [[ $word =~ ^[A-Za-z0-9_./:=,+@%-]+$ ]]; then
			line+=" $word"
		else
			line+=" '${word//\'/$q}'"
		fi
	done
	printf '%s\n' "$line" >&3
}

run() {
	say + "$@"
	if ! "$dry_run"; then
		"$@"
	fi
}

ask() {
	if "$dry_run"; then
		say '?' "$@"
		"$dry_exists"
		return
	fi
	"$@"
}
`

// dryRunDoc explains the dry-run trace, in every script's header.
const dryRunDoc = `#
# Every command that changes something is printed with "+ " before it runs.
# --dry-run prints the plan and runs nothing: the commands that would only
# read state are printed with "? " and answered as described above.
`
