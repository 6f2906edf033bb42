package artifact

import (
	"strings"
	"testing"
)

func TestSource(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"cue/sites/example-host.cue", "cue/sites/example-host.cue"},
		{"my site.cue", "my site.cue"},
		{"a\nrm -rf /.cue", `"a\x0arm\x20-rf\x20/.cue"`},
		{"x-->y.cue", `"x--\x3ey.cue"`},
		{"$(id).cue", `"\x24\x28id\x29.cue"`},
		{"\u2028.cue", `"\u{2028}.cue"`},
		{"bad\xff.cue", `"bad\xff.cue"`},
		{"", `""`},
	} {
		if got := Source(tc.in); got != tc.want {
			t.Errorf("Source(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestHeaderOneLine: whatever the file is called, a header is one line of
// printable ASCII that ends no comment.
func TestHeaderOneLine(t *testing.T) {
	for _, name := range []string{"a\nb", "a\rb", "a\x00b", "a\u2028b", "a\u0085b", "-->", "*/", "'\"`;\\"} {
		for _, h := range []string{Header(name), MarkdownHeader(name)} {
			body := strings.TrimRight(h, "\n")
			if strings.ContainsAny(body, "\n\r") {
				t.Errorf("header for %q spans lines: %q", name, h)
			}
			for _, r := range body {
				if r < 0x20 || r > 0x7e {
					t.Errorf("header for %q holds %U", name, r)
				}
			}
			if strings.Count(h, "-->") > 1 || (strings.Contains(body[:len(body)-3], "-->") && strings.HasPrefix(h, "<!--")) {
				t.Errorf("header for %q ends its comment early: %q", name, h)
			}
		}
	}
}
