package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestCheck(t *testing.T) {
	t.Setenv(Env, "")
	p := filepath.Join(t.TempDir(), "case.txtar")
	ar := "comment\n-- in.cue --\nx: 1\n-- out/a --\nA\n-- out/b --\nB\n"
	if err := os.WriteFile(p, []byte(ar), 0o644); err != nil {
		t.Fatal(err)
	}
	c := Open(t, p, Prefix("out/"))
	if in := c.Inputs(); len(in) != 1 || in[0].Name != "in.cue" {
		t.Fatalf("inputs: %+v", in)
	}
	for _, tc := range []struct {
		name string
		got  []txtar.File
		want []string // a word of each failure
	}{
		{"equal", []txtar.File{{Name: "out/a", Data: []byte("A\n")}, {Name: "out/b", Data: []byte("B\n")}}, nil},
		{"different", []txtar.File{{Name: "out/a", Data: []byte("A2\n")}, {Name: "out/b", Data: []byte("B\n")}}, []string{"-want +got"}},
		{"missing", []txtar.File{{Name: "out/a", Data: []byte("A\n")}}, []string{"out/b is in the archive, but not produced"}},
		{"extra", []txtar.File{{Name: "out/a", Data: []byte("A\n")}, {Name: "out/b", Data: []byte("B\n")}, {Name: "out/c"}}, []string{"out/c is produced, but not in the archive"}},
	} {
		r := &recorder{TB: t}
		c.Check(r, tc.got)
		if len(r.errs) != len(tc.want) {
			t.Errorf("%s: failures %q, want %d", tc.name, r.errs, len(tc.want))
			continue
		}
		for i, w := range tc.want {
			if !strings.Contains(r.errs[i], w) {
				t.Errorf("%s: failure %q does not say %q", tc.name, r.errs[i], w)
			}
		}
	}

	t.Setenv(Env, "1")
	c.Check(t, []txtar.File{{Name: "out/z", Data: []byte("Z\n")}})
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := "comment\n-- in.cue --\nx: 1\n-- out/z --\nZ\n"; string(b) != want {
		t.Errorf("rewritten archive:\n%s\nwant:\n%s", b, want)
	}
}

func TestCheckFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "g.txt")
	t.Setenv(Env, "1")
	CheckFile(t, p, []byte("one\n"))
	t.Setenv(Env, "")
	CheckFile(t, p, []byte("one\n"))
	r := &recorder{TB: t}
	CheckFile(r, p, []byte("two\n"))
	if len(r.errs) != 1 || !strings.Contains(r.errs[0], "-want +got") {
		t.Errorf("failures %q", r.errs)
	}
}
