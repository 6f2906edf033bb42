package exports

import (
	"bytes"
	"path/filepath"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/nuvla/nuvlagen/internal/golden"
)

// TestGolden reads each testdata/*.txtar: its "exports" section is parsed,
// and the canonical printing, the findings (or the parse error) are
// compared with the archive's other sections. UPDATE_GOLDEN=1 rewrites them.
func TestGolden(t *testing.T) {
	golden.Run(t, filepath.Join("testdata", "*.txtar"), golden.Names("error", "canonical", "findings"), func(t *testing.T, c *golden.Case) []txtar.File {
		in := c.Inputs()
		if len(in) != 1 || in[0].Name != "exports" {
			t.Fatalf("want one input section, exports; have %d", len(in))
		}
		list, err := Parse(string(in[0].Data))
		if err != nil {
			return []txtar.File{{Name: "error", Data: []byte(err.Error() + "\n")}}
		}
		canonical := Print(list)
		var b bytes.Buffer
		for _, f := range Check(list) {
			b.WriteString(f.String() + "\n")
		}
		// The canonical form reads back as the same exports.
		back, err := Parse(string(canonical))
		if err != nil || !equal(back, list) {
			t.Errorf("canonical form does not read back: %v", err)
		}
		return []txtar.File{{Name: "canonical", Data: canonical}, {Name: "findings", Data: b.Bytes()}}
	})
}
