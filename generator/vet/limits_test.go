package vet

import (
	"strings"
	"testing"
)

// TestLimits: a file nested MaxNesting levels is checked; one level more
// is refused at the level past the limit, also when an alias makes it so;
// and so is a command longer than MaxCommand.
func TestLimits(t *testing.T) {
	// The top-level mapping and x-nest's value are two levels.
	seq := func(n int) string { return "x-nest: " + strings.Repeat("[", n-1) + strings.Repeat("]", n-1) + "\n" }
	for _, tc := range []struct {
		name, data string
		want       string // "" when checked
	}{
		{"at the limit", seq(MaxNesting), ""},
		{"one deeper", seq(MaxNesting + 1), "deep.yml:1:108: nesting deeper than 100 levels; not checked"},
		{"block", "services:\n  web:\n    image: nginx:1.27.2\nx-nest:\n  " + strings.Repeat("- ", 100) + "x\n",
			"deep.yml:5:201: nesting deeper than 100 levels; not checked"},
		{"through an alias", "x-a: &a " + strings.Repeat("[", 60) + strings.Repeat("]", 60) + "\nx-b: " + strings.Repeat("[", 60) + "*a" + strings.Repeat("]", 60) + "\n",
			"deep.yml:2:66: nesting deeper than 100 levels (with alias *a expanded); not checked"},
		{"an alias cycle is the loaders' to refuse", "x-a: &a [*a]\n", ""},
		{"not YAML is the loaders' to report", "x: [", ""},
		{"a long command", "services:\n  web:\n    image: nginx:1.27.2\n    command: " + strings.Repeat("a", MaxCommand+1) + "\n",
			"deep.yml:4:14: a command of 16385 bytes, longer than the 16384 the loaders split into words in reasonable time; not checked"},
		{"a command at the limit", "services:\n  web:\n    image: nginx:1.27.2\n    command: " + strings.Repeat("a", MaxCommand) + "\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckLimits("deep.yml", []byte(tc.data))
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("CheckLimits: %q, want %q", got, tc.want)
			}
			// Called directly, vet reports it as a finding and stops.
			diags := File("deep.yml", []byte(tc.data), nil)
			if tc.want != "" && (len(diags) != 1 || diags[0].Rule != ruleYAML.ID || !strings.HasSuffix(diags[0].Message, "; not checked")) {
				t.Errorf("File: %+v", diags)
			}
		})
	}
}
