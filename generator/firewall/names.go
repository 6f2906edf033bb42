package firewall

import (
	"regexp"
	"unicode"
	"unicode/utf8"
)

// nameMax is the longest rule or port name: an iptables chain name's
// length (see #firewallName in cue/firewall.cue).
const nameMax = 28

var nameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,27}$`)

// validName reports whether s may name a rule or a port.
func validName(s string) bool { return nameRE.MatchString(s) }

// validText reports whether s is one line of at most max characters
// without control or invisible format characters.
func validText(s string, max int) bool {
	if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return false
	}
	for _, r := range s {
		if unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) {
			return false
		}
	}
	return true
}
