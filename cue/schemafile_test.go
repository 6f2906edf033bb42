package nuvlacue

import "testing"

func TestIsSchemaFile(t *testing.T) {
	for _, f := range Schema() {
		if !IsSchemaFile(f.Name) {
			t.Errorf("%s is embedded, but no schema file", f.Name)
		}
	}
	for _, f := range Sites() {
		if IsSchemaFile(f.Name) {
			t.Errorf("example site %s is a schema file", f.Name)
		}
	}
	// Files of the user's are sites, wherever they are.
	for _, name := range []string{"cue/prod.cue", "cue/site.cue.bak", "site.cue", "other/cue/site.cue", "/abs/cue/site.cue", "cue/cue.mod/module.cue"} {
		if IsSchemaFile(name) {
			t.Errorf("%s is a schema file", name)
		}
	}
}
