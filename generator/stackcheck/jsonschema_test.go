package stackcheck

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestJSONSchemaDrafts proves the copy of the JSON Schema library in
// third_party/jsonschema, which compiles a draft's meta-schemas on first
// use instead of in init, still checks schemas against them: for every
// draft, from goroutines racing to be first, a schema that breaks its
// meta-schema is refused and a good one validates.
func TestJSONSchemaDrafts(t *testing.T) {
	drafts := []string{
		"http://json-schema.org/draft-04/schema#",
		"http://json-schema.org/draft-06/schema#",
		"http://json-schema.org/draft-07/schema#",
		"https://json-schema.org/draft/2019-09/schema",
		"https://json-schema.org/draft/2020-12/schema",
	}
	compile := func(draft, body string) (*jsonschema.Schema, error) {
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(`{"$schema": "` + draft + `", ` + body + `}`))
		if err != nil {
			return nil, err
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource("s.json", doc); err != nil {
			return nil, err
		}
		return c.Compile("s.json")
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4*len(drafts))
	for range 4 {
		for _, d := range drafts {
			wg.Go(func() {
				_, err := compile(d, `"type": 5`)
				if _, ok := errors.AsType[*jsonschema.SchemaValidationError](err); !ok {
					errs <- fmt.Errorf("%s: a type of 5 gives %v, want its meta-schema's refusal", d, err)
					return
				}
				s, err := compile(d, `"type": "object", "properties": {"a": {"type": "integer", "minimum": 1}}`)
				if err != nil {
					errs <- fmt.Errorf("%s: %v", d, err)
					return
				}
				if err := s.Validate(map[string]any{"a": 2}); err != nil {
					errs <- fmt.Errorf("%s: {a: 2}: %v", d, err)
				}
				if s.Validate(map[string]any{"a": 0}) == nil {
					errs <- fmt.Errorf("%s: {a: 0} accepted", d)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
