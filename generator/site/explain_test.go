package site

import "testing"

// TestNearest: "did you mean" names the allowed name one slip away (an
// edit in three letters, at least one), and nothing for a name that is
// not close to any.
func TestNearest(t *testing.T) {
	fields := []string{"address", "labels", "name", "nfsServer", "role"}
	for _, tc := range []struct{ in, want string }{
		{"adress", "address"},
		{"addres", "address"},
		{"adderss", "address"}, // a transposition is one edit
		{"rol", "role"},
		{"nfsserver", "nfsServer"},
		{"lables", "labels"},
		{"ip", ""},
		{"hostname", ""},
		{"name", ""}, // the name itself is no suggestion
	} {
		if got := nearest(tc.in, fields); got != tc.want {
			t.Errorf("nearest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := nearest("node", []string{"name", "nodes", "kind"}); got != "nodes" {
		t.Errorf("nearest(node) = %q, want nodes", got)
	}
	if got := nearest("managment", []string{"management", "nuvla", "users"}); got != "management" {
		t.Errorf("nearest(managment) = %q, want management", got)
	}
}
