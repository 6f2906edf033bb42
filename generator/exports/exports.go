// Package exports reads, writes and checks /etc/exports files (exports(5)),
// and renders the export of a target site's NFS share.
package exports

import (
	"fmt"
	"strings"
)

// Export is one line of an exports file: a directory and who may mount it.
type Export struct {
	Path string
	// Defaults are the options of a "-opts" word after the path, which
	// apply to every client of the line; nil when there is none.
	Defaults []string
	Clients  []Client
	// Line is where the export starts in the parsed text (1-based); 0 for
	// exports built in Go. Print ignores it.
	Line int
}

// Client is one machine specification and its options.
type Client struct {
	// Host is an address, a prefix, a host name, a wildcard or a
	// @netgroup. Empty means the world: "(opts)" with no host before it.
	Host string
	// Options are the words between the parentheses; nil when the client
	// has none (exportfs then applies its defaults).
	Options []string
}

// Parse reads an exports file: comments (#), blank lines, lines continued
// with a backslash, double-quoted paths, "-opts" defaults and clients with
// or without options.
func Parse(text string) ([]Export, error) {
	var out []Export
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		start := i + 1
		line := stripComment(lines[i])
		// A trailing backslash joins the next physical line.
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, `\`) + " " + stripComment(lines[i])
		}
		if strings.HasSuffix(line, `\`) {
			return nil, fmt.Errorf("line %d: backslash continues the last line of the file", start)
		}
		words, err := split(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", start, err)
		}
		if len(words) == 0 {
			continue
		}
		e := Export{Path: words[0], Line: start}
		if !strings.HasPrefix(e.Path, "/") {
			return nil, fmt.Errorf("line %d: export path %q is not absolute", start, e.Path)
		}
		rest := words[1:]
		if len(rest) > 0 && strings.HasPrefix(rest[0], "-") {
			e.Defaults = splitOptions(rest[0][1:])
			rest = rest[1:]
		}
		if len(rest) == 0 {
			return nil, fmt.Errorf("line %d: export %s names no client", start, e.Path)
		}
		for _, w := range rest {
			c, err := parseClient(w)
			if err != nil {
				return nil, fmt.Errorf("line %d: %v", start, err)
			}
			e.Clients = append(e.Clients, c)
		}
		out = append(out, e)
	}
	return out, nil
}

func stripComment(line string) string {
	// A # inside a quoted path is part of the path.
	inQuote := false
	for i, r := range line {
		switch {
		case r == '"':
			inQuote = !inQuote
		case r == '#' && !inQuote:
			return strings.TrimRight(line[:i], " \t")
		}
	}
	return strings.TrimRight(line, " \t")
}

// split cuts a logical line into words at blanks outside double quotes.
func split(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inQuote, inWord := false, false
	for _, r := range line {
		switch {
		case r == '"':
			inQuote = !inQuote
			inWord = true
		case (r == ' ' || r == '\t') && !inQuote:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inQuote {
		return nil, fmt.Errorf("unterminated quote")
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

func parseClient(w string) (Client, error) {
	if w == "" {
		// A quoted empty word: exportfs would read no client there.
		return Client{}, fmt.Errorf("an empty client (\"\")")
	}
	open := strings.IndexByte(w, '(')
	if open < 0 {
		if strings.ContainsRune(w, ')') {
			return Client{}, fmt.Errorf("client %q: ')' without '('", w)
		}
		return Client{Host: w}, nil
	}
	if !strings.HasSuffix(w, ")") || strings.Count(w, "(") != 1 || strings.Count(w, ")") != 1 {
		return Client{}, fmt.Errorf("client %q: options must be one (...) group at the end", w)
	}
	opts := w[open+1 : len(w)-1]
	c := Client{Host: w[:open], Options: splitOptions(opts)}
	return c, nil
}

func splitOptions(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// Print writes exports in the canonical form Parse reads back: one export
// per logical line, one client per continued physical line.
func Print(list []Export) []byte {
	var b strings.Builder
	for _, e := range list {
		b.WriteString(quotePath(e.Path))
		if e.Defaults != nil {
			b.WriteString(" -")
			b.WriteString(strings.Join(e.Defaults, ","))
		}
		for _, c := range e.Clients {
			b.WriteString(" \\\n\t")
			b.WriteString(c.Host)
			if c.Options != nil {
				b.WriteString("(" + strings.Join(c.Options, ",") + ")")
			}
		}
		b.WriteString("\n")
	}
	return []byte(b.String())
}

func quotePath(p string) string {
	if strings.ContainsAny(p, " \t#") {
		return `"` + p + `"`
	}
	return p
}
