package diff

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// findRenames finds the networks a site's compose files stopped declaring
// and the ones they started to, and pairs them as renames: one of each,
// or, when several changed, the ones the same services attach to.
func findRenames(old, new map[string][]byte) []Rename {
	var out []Rename
	for _, pr := range pairBySignature(networkUse(old), networkUse(new)) {
		x, y := pr[0], pr[1]
		r := Rename{Old: x, New: y}
		r.Files = []string{}
		for _, rel := range unionKeys(old, nil) {
			if n := countToken(string(old[rel]), x); n > 0 {
				r.Places += n
				r.Files = append(r.Files, rel)
			}
		}
		for _, rel := range unionKeys(new, nil) {
			if countToken(string(new[rel]), x) > 0 {
				r.Remaining = append(r.Remaining, rel)
			}
		}
		out = append(out, r)
	}
	return out
}

// pairBySignature pairs the names only on the old side with those only
// on the new (each map holds a name's signature): one of each, or, when
// several changed, those whose signatures match one another alone. The
// pairs come in the old names' order.
func pairBySignature(old, new map[string]string) [][2]string {
	var removed, added []string
	for n := range old {
		if _, ok := new[n]; !ok {
			removed = append(removed, n)
		}
	}
	for n := range new {
		if _, ok := old[n]; !ok {
			added = append(added, n)
		}
	}
	slices.Sort(removed)
	slices.Sort(added)
	if len(removed) == 1 && len(added) == 1 {
		return [][2]string{{removed[0], added[0]}}
	}
	var out [][2]string
	for _, x := range removed {
		var match []string
		for _, y := range added {
			if old[x] == new[y] {
				match = append(match, y)
			}
		}
		if len(match) == 1 {
			out = append(out, [2]string{x, match[0]})
		}
	}
	return out
}

// networkUse maps every network the compose files declare to the services
// that attach to it ("stack/service", sorted, joined), its signature.
func networkUse(files map[string][]byte) map[string]string {
	use := map[string][]string{}
	for rel, b := range files {
		if !isCompose(rel) {
			continue
		}
		p, err := safeProject(rel, b)
		if err != nil {
			continue // shown as text by the compose differ
		}
		for n := range p.Networks {
			if _, ok := use[n]; !ok {
				use[n] = nil
			}
		}
		for name, s := range p.Services {
			for n := range s.Networks {
				use[n] = append(use[n], stackOf(rel)+"/"+name)
			}
		}
	}
	out := map[string]string{}
	for n, svcs := range use {
		sort.Strings(svcs)
		out[n] = strings.Join(svcs, " ")
	}
	return out
}

// safeProject loads a compose file; malformed input is an error, never a
// panic.
func safeProject(rel string, b []byte) (p *types.Project, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("%s: %v", rel, r)
		}
	}()
	return loadCompose(rel, b)
}

// applyRenames rewrites the old tree as if the renames had been all there
// was to the change, so the details show only what they do not explain.
func applyRenames(files map[string][]byte, renames []Rename) map[string][]byte {
	out := make(map[string][]byte, len(files))
	for rel, b := range files {
		s := string(b)
		for _, r := range renames {
			s = replaceToken(s, r.Old, r.New)
		}
		out[rel] = []byte(s)
	}
	return out
}

// nameByte reports whether c may be part of a network name, so that a
// token is only counted where it is not part of a longer name.
func nameByte(c byte) bool {
	return c == '_' || c == '.' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// tokenAt returns the indices of the whole-name occurrences of tok in s.
func tokenAt(s, tok string) []int {
	var out []int
	if tok == "" {
		return nil
	}
	for i := 0; ; {
		j := strings.Index(s[i:], tok)
		if j < 0 {
			return out
		}
		start, end := i+j, i+j+len(tok)
		if (start == 0 || !nameByte(s[start-1])) && (end == len(s) || !nameByte(s[end])) {
			out = append(out, start)
		}
		i = start + 1
	}
}

func countToken(s, tok string) int { return len(tokenAt(s, tok)) }

func replaceToken(s, old, new string) string {
	at := tokenAt(s, old)
	if len(at) == 0 {
		return s
	}
	var b strings.Builder
	prev := 0
	for _, i := range at {
		b.WriteString(s[prev:i])
		b.WriteString(new)
		prev = i + len(old)
	}
	b.WriteString(s[prev:])
	return b.String()
}
