package diff

import (
	"fmt"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// findRenames finds the networks a site's compose files stopped declaring
// and the ones they started to, and pairs them as renames: one of each,
// or, when several changed, the ones the same services attach to.
func findRenames(old, new map[string][]byte) []Rename {
	on, nn := networkUse(old), networkUse(new)
	var removed, added []string
	for n := range on {
		if _, ok := nn[n]; !ok {
			removed = append(removed, n)
		}
	}
	for n := range nn {
		if _, ok := on[n]; !ok {
			added = append(added, n)
		}
	}
	sort.Strings(removed)
	sort.Strings(added)
	pairs := map[string]string{}
	if len(removed) == 1 && len(added) == 1 {
		pairs[removed[0]] = added[0]
	} else {
		for _, x := range removed {
			var match []string
			for _, y := range added {
				if on[x] == nn[y] {
					match = append(match, y)
				}
			}
			if len(match) == 1 {
				pairs[x] = match[0]
			}
		}
	}
	var out []Rename
	for _, x := range removed {
		y, ok := pairs[x]
		if !ok {
			continue
		}
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
