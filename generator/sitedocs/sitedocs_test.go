package sitedocs_test

import (
	"testing"

	"github.com/nuvla/nuvlagen/generator/diag"
	"github.com/nuvla/nuvlagen/generator/site"
	"github.com/nuvla/nuvlagen/generator/sitedocs"
	"github.com/nuvla/nuvlagen/internal/golden"
)

// docsFile is the site reference, generated from the model's fields and
// their doc comments.
const docsFile = "../../docs/site.md"

// TestSiteDoc fails when a field of #SiteInput has no doc comment or no
// example, when an example does not validate in a site of its kind, and
// when docs/site.md is not what the model says (UPDATE_GOLDEN=1 writes it).
func TestSiteDoc(t *testing.T) {
	l, err := site.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	fields, err := sitedocs.Fields(l.Schema())
	for _, line := range diag.Lines(err, "") {
		t.Error(line)
	}
	if err != nil {
		t.FailNow()
	}
	golden.CheckFile(t, docsFile, sitedocs.Markdown(fields, sitedocs.Types(l.Schema(), fields)))
}
