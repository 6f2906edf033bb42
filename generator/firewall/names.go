package firewall

import (
	"regexp"
	"unicode"
	"unicode/utf8"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/token"

	"github.com/nuvla/nuvlagen/generator/site"
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

// keyPos is where firewall.<field>.<name> is written: in the site file
// if it is there, else where the model defines it.
func keyPos(s *site.Site, field, name string) token.Pos {
	return fieldPos(s, s.Value.LookupPath(cue.MakePath(cue.Str("firewall"), cue.Str(field), cue.Str(name))), "firewall", field, name)
}
