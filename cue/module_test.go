package nuvlacue

import (
	"path/filepath"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/load"
)

// TestModule loads this directory as the cue command does (`cue vet ./...`,
// `cue export ./sites`): as a CUE module from disk, through cue/load, so
// the model stays usable without nuvlagen.
func TestModule(t *testing.T) {
	insts := load.Instances([]string{"./..."}, &load.Config{Dir: "."})
	if len(insts) < 2 {
		t.Fatalf("want the model and the sites packages, got %d instances", len(insts))
	}
	ctx := cuecontext.New()
	for _, inst := range insts {
		if inst.Err != nil {
			t.Fatalf("%s: %v", inst.ImportPath, inst.Err)
		}
		v := ctx.BuildInstance(inst)
		if err := v.Validate(); err != nil {
			t.Fatalf("%s: %v", inst.ImportPath, err)
		}
		sites := v.LookupPath(cue.ParsePath("sites"))
		if filepath.Base(inst.Dir) != "sites" {
			continue
		}
		// The examples export completely: every stack is concrete data.
		if err := sites.Validate(cue.Concrete(true)); err != nil {
			t.Errorf("%s: sites are not concrete: %v", inst.ImportPath, err)
		}
		img, err := sites.LookupPath(cue.ParsePath(`"example-host".stacks.nuvla.compose.services.api.image`)).String()
		if err != nil || img == "" {
			t.Errorf("example-host's api image: %q, %v", img, err)
		}
	}
}
