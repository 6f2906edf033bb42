package diag

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"
)

func pos(file string, line, col int) token.Pos {
	f := token.NewFile(file, -1, 1000)
	lines := make([]int, 0, 50)
	for i := 0; i < 50; i++ {
		lines = append(lines, i*20)
	}
	f.SetLines(lines)
	return f.Pos(lines[line-1]+col-1, token.NoRelPos)
}

func TestLines(t *testing.T) {
	site := pos("site.cue", 3, 5)
	rule := pos("cue/site.cue", 10, 2)
	tests := []struct {
		name string
		err  error
		want []string
	}{
		{"plain error", errors.New("boom"), []string{"boom"}},
		{"site position first", cueerrors.Append(cueerrors.Newf(rule, "x"), nil), []string{"cue/site.cue:10:2: x"}},
		{"sites/ files are sites", cueerrors.Newf(pos("cue/sites/a.cue", 2, 3), "bad"), []string{"cue/sites/a.cue:2:3: bad"}},
		{"absolute path made relative", cueerrors.Newf(pos("/work/x/site.cue", 1, 1), "bad"), []string{"x/site.cue:1:1: bad"}},
		{"incomplete reworded", cueerrors.Newf(site, "incomplete value %v", "string"), []string{"site.cue:3:5: no value set; it must be string"}},
		{
			"disjunction merged",
			cueerrors.Append(cueerrors.Newf(site, "conflicting values %s and %s", `"host"`, `"edge"`), cueerrors.Newf(site, "conflicting values %s and %s", `"target"`, `"edge"`)),
			[]string{`site.cue:3:5: "edge" is not allowed; want one of "host", "target"`},
		},
		{
			"the broken rule beats the default's conflict",
			cueerrors.Append(withPath(cueerrors.Newf(site, "conflicting values %s and %s", `"a"`, `"b c"`), "x"), withPath(cueerrors.Newf(site, "invalid value %v (out of bound %s)", `"b c"`, `=~"^\w+$"`), "x")),
			[]string{`site.cue:3:5: x: invalid value "b c" (out of bound =~"^\w+$")`},
		},
		{
			"checks without a path stay distinct",
			cueerrors.Append(cueerrors.Newf(site, "first"), cueerrors.Newf(site, "second")),
			[]string{"site.cue:3:5: first", "site.cue:3:5: second"},
		},
		{
			"a worded constraint hides the raw bound",
			cueerrors.Append(withPath(cueerrors.Newf(pos("site.cue", 3, 9), "invalid value %v (out of bound %s)", `"x y"`, `=~"^\w+$"`), "x"), withPath(cueerrors.Newf(site, "%s", "x: use letters"), "x")),
			[]string{`site.cue:3:5: x: x: use letters`},
		},
		{
			"a consequence of an error is not reported again",
			cueerrors.Append(withPath(cueerrors.Newf(site, "conflicting values %s and %s", `"a"`, `"b"`), "edge"), withPath(cueerrors.Newf(pos("site.cue", 4, 1), "%s", `invalid left-hand value to '=~' (type _|_): edge: conflicting values "a" and "b"`), "edge")),
			[]string{`site.cue:3:5: edge: conflicting values "a" and "b"`},
		},
		{"wrapping context kept", fmt.Errorf("site h, stack db: %w", cueerrors.Newf(site, "bad")), []string{"site.cue:3:5: site h, stack db: bad"}},
		{"summary dropped", cueerrors.Append(cueerrors.Newf(site, "%d errors in empty disjunction:", 2), cueerrors.Newf(site, "real")), []string{"site.cue:3:5: real"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, Lines(tt.err, "/work")); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	if Lines(nil, "") != nil {
		t.Error("Lines(nil) is not nil")
	}
}

// pathErr gives an error the field path CUE's evaluation errors carry.
type pathErr struct {
	e    cueerrors.Error
	path []string
}

func (p *pathErr) Path() []string              { return p.path }
func (p *pathErr) Position() token.Pos         { return p.e.Position() }
func (p *pathErr) InputPositions() []token.Pos { return p.e.InputPositions() }
func (p *pathErr) Error() string               { return p.e.Error() }
func (p *pathErr) Msg() (string, []any)        { return p.e.Msg() }

func withPath(e cueerrors.Error, path ...string) cueerrors.Error { return &pathErr{e, path} }
