package registration

import (
	"slices"
)

// implied is Nuvla's rights hierarchy (auth/acl_resource.clj
// rights-hierarchy): each right with every right it implies.
var implied = map[string][]string{
	"edit-acl":  {"edit-data", "delete", "manage", "view-acl", "edit-meta", "view-data", "view-meta"},
	"edit-data": {"edit-meta", "view-data", "view-meta"},
	"edit-meta": {"view-meta"},
	"delete":    {"view-meta"},
	"view-acl":  {"view-data", "view-meta"},
	"view-data": {"view-meta"},
	"manage":    {},
	"view-meta": {},
}

// NormalizeACL returns an ACL as Nuvla stores it (auth/utils/acl.clj
// normalize-acl): every right listed with the rights it implies, owners
// left out of the rights, empty rights dropped, principals sorted and
// unique. Nuvla answers with the stored form, so comparing what a
// document wants with what Nuvla has goes through this on both sides.
// Values that are not lists of strings are kept as they are, for the
// server to refuse.
func NormalizeACL(acl map[string]any) map[string]any {
	owners, ok := stringList(acl["owners"])
	if !ok {
		return acl
	}
	rights := map[string][]string{}
	for right, v := range acl {
		if right == "owners" {
			continue
		}
		ps, ok := stringList(v)
		if !ok {
			return acl
		}
		ps = slices.DeleteFunc(slices.Clone(ps), func(p string) bool { return slices.Contains(owners, p) })
		if len(ps) == 0 {
			continue
		}
		for _, r := range append([]string{right}, implied[right]...) {
			rights[r] = append(rights[r], ps...)
		}
	}
	out := map[string]any{"owners": set(owners)}
	for r, ps := range rights {
		out[r] = set(ps)
	}
	return out
}

func stringList(v any) ([]string, bool) {
	switch l := v.(type) {
	case []string:
		return l, true
	case []any:
		out := make([]string, len(l))
		for i, e := range l {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out[i] = s
		}
		return out, true
	}
	return nil, false
}

// set sorts and dedups, as JSON values ([]any) so that a normalised ACL
// compares equal to one decoded from JSON.
func set(l []string) []any {
	l = slices.Clone(l)
	slices.Sort(l)
	l = slices.Compact(l)
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}
