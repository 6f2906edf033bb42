package firewall

import (
	"fmt"
	"strings"
	"unicode"
)

// The model refuses names and texts that could turn into code in a
// generated file (see validName, validText, cue/firewall.cue); the
// printers quote every value anyway, each as its own parser reads it, so
// that a value the model let through can change what a comment says but
// never what a file does.

// commentMax bounds a comment's text: nftables takes 128 bytes, iptables
// 256, and a name is 28 characters (see nameMax).
const commentMax = 64

// commentText is s as comment text every backend takes as it is: ASCII
// letters, digits and -_.:/+=@, anything else as %XX (its UTF-8 bytes),
// cut to commentMax bytes. The rule names the model allows print
// unchanged.
func commentText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < commentMax; i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("-_.:/+=@", c) >= 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	out := b.String()
	if len(out) > commentMax {
		out = out[:commentMax]
	}
	return out
}

// nftString prints s as an nftables quoted string. nft's strings have no
// escapes and end at the next '"', so what could end or break one is
// encoded (see commentText).
func nftString(s string) string { return `"` + commentText(s) + `"` }

// nftConst prints one of this package's constants (an interface name or
// pattern) as an nftables quoted string, as it is.
func nftConst(s string) string {
	if strings.ContainsAny(s, "\"\\") || oneLine(s) != s {
		panic(fmt.Sprintf("nftables constant %q cannot be quoted", s))
	}
	return `"` + s + `"`
}

// iptString prints s as one argument for iptables-restore, which splits
// its lines at blanks except inside double quotes, where a backslash
// escapes the next character. iptables-restore reads a line at a time, so
// line breaks (and everything else odd) are encoded (see commentText).
func iptString(s string) string {
	return `"` + iptEscaper.Replace(commentText(s)) + `"`
}

// iptEscaper is built once: a Replacer compiles its table on first use,
// which cost more than the printing, per argument.
var iptEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// oneLine makes s safe inside a one-line comment of any generated file:
// control and format characters become '?'.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar {
			return '?'
		}
		return r
	}, s)
}

// commentHeader makes every line of header a "#" comment line.
func commentHeader(header string) string {
	if header == "" {
		return ""
	}
	lines := strings.Split(strings.TrimSuffix(header, "\n"), "\n")
	for i, l := range lines {
		l = oneLine(l)
		if !strings.HasPrefix(l, "#") {
			l = "# " + l
		}
		lines[i] = l
	}
	return strings.Join(lines, "\n") + "\n"
}

// mdCell makes s one cell of a Markdown table row, for Markdown and for
// simpler readers (generator/diff splits rows at every "|", escaped or
// not): a "|" becomes "¦".
func mdCell(s string) string { return strings.ReplaceAll(oneLine(s), "|", "¦") }
