package diff

import (
	"strings"

	picture "github.com/nuvla/nuvlagen/generator/topology"
)

// pictureDiffer explains a site's picture (its topology, a host's
// deployment) by the graph it was drawn from: the items of the .dot
// beside it, added and removed ("node tgt-wrk-4 (203.0.113.44,
// worker)"), never the SVG's text; the .dot is then not listed again.
var pictureDiffer = differ{
	Kind:  "picture",
	Match: func(rel string) bool { return rel == picture.File || rel == picture.DeploymentFile },
	Data:  func(rel string) string { return strings.TrimSuffix(rel, ".svg") + ".dot" },
	Diff: func(_ string, old, new []byte) ([]Change, error) {
		items := func(b []byte) ([]string, error) {
			if b == nil {
				return nil, nil
			}
			return picture.ParseItems(b)
		}
		oi, err := items(old)
		if err != nil {
			return nil, err
		}
		ni, err := items(new)
		if err != nil {
			return nil, err
		}
		var out []Change
		for _, c := range picture.Fold(picture.Compare(oi, ni)) {
			op := OpRemove
			if c.Added {
				op = OpAdd
			}
			out = append(out, Change{Op: op, Text: c.Item})
		}
		return out, nil
	},
}
