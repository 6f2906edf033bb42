// Package configfile renders the configuration files of a stack (Traefik's
// static and dynamic configuration, Prometheus' scrape configuration,
// Grafana's provisioning, ksqlDB's statements) from the site's data.
package configfile

import (
	"fmt"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nuvla/nuvlagen/generator/artifact"
	"github.com/nuvla/nuvlagen/generator/site"
)

// Render prints one file with header, by the file's extension: YAML
// (.yaml, .yml), which the model gives as data and the loader encodes, or
// SQL (.sql, ksqlDB's statements), which the model gives as text. Each
// starts with the header of its comment syntax, naming source, the site
// file.
func Render(source string, f site.File) ([]byte, error) {
	switch path.Ext(f.Name) {
	case ".yaml", ".yml":
		if f.Text {
			return nil, fmt.Errorf("config file %s: a YAML file is data in the model, not a string", f.Name)
		}
		return append([]byte(artifact.Header(source)), f.Data...), nil
	case ".sql":
		if !f.Text {
			return nil, fmt.Errorf("config file %s: a SQL file is a string in the model", f.Name)
		}
		if err := plainText(f.Data); err != nil {
			return nil, fmt.Errorf("config file %s: %w", f.Name, err)
		}
		return append([]byte("-- "+artifact.Notice(source)+"\n"), f.Data...), nil
	default:
		return nil, fmt.Errorf("config file %s: only .yaml, .yml and .sql files can be rendered", f.Name)
	}
}

// plainText refuses what a text file printed as it is could not hold
// safely: bytes that are not UTF-8, control characters other than tab and
// newline (a carriage return or an escape sequence hides text from a
// reviewer's terminal), Unicode line and paragraph separators, and a last
// line without its newline (the header's comment must stay one line, and
// so must every line appended after the file).
func plainText(b []byte) error {
	if !utf8.Valid(b) {
		return fmt.Errorf("not UTF-8")
	}
	s := string(b)
	if s != "" && !strings.HasSuffix(s, "\n") {
		return fmt.Errorf("the last line has no newline")
	}
	for i, r := range s {
		if r == '\n' || r == '\t' {
			continue
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			line := strings.Count(s[:i], "\n") + 1
			return fmt.Errorf("line %d: control character %U", line, r)
		}
	}
	return nil
}
