package yamldepth

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

func TestFind(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		line, col  int    // of the node found; 0 when none
		alias      string // the alias on the way, if any
	}{
		{"within", "a: [[1]]\n", 0, 0, ""},
		{"at the limit", "a: [[[1]]]\n", 0, 0, ""}, // 4 levels: the mapping and three lists
		{"one deeper", "a: [[[[1]]]]\n", 1, 7, ""},
		{"the deepest path", "a: [1]\nb: {c: [[[1]]]}\n", 2, 10, ""},
		{"through an alias", "a: &x [[1]]\nb: [[*x]]\n", 1, 8, "x"},
		{"an alias cycle", "a: &x [*x]\n", 0, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(tc.data), &doc); err != nil {
				t.Fatal(err)
			}
			at, alias := Find(&doc, 4)
			line, col, name := 0, 0, ""
			if at != nil {
				line, col = at.Line, at.Column
			}
			if alias != nil {
				name = alias.Value
			}
			if line != tc.line || col != tc.col || name != tc.alias {
				t.Errorf("Find: %d:%d alias %q, want %d:%d alias %q", line, col, name, tc.line, tc.col, tc.alias)
			}
		})
	}
	// go-yaml's parser goes to 10,000 levels; Find measures them.
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(strings.Repeat("[", 9000)+strings.Repeat("]", 9000)), &doc); err != nil {
		t.Fatal(err)
	}
	if at, _ := Find(&doc, Max); at == nil || at.Column != Max+1 {
		t.Errorf("9,000 levels: found %v", at)
	}
}
