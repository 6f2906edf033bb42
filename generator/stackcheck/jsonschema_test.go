package stackcheck

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"

	composeschema "github.com/compose-spec/compose-go/v2/schema"
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

// TestEmbeddedSchemasAreValid validates, against their meta-schema, the
// schemas nuvlagen compiles with AddTrustedResource, which skips that
// validation at run time: compose-go's (as compose-go and
// ComposeSchemaError compile it) and every version of the docker CLI's.
// A document that breaks its meta-schema is refused by AddResource and
// compiles with AddTrustedResource: what the test proves is the
// validation the trusted path leaves out.
func TestEmbeddedSchemasAreValid(t *testing.T) {
	docs := map[string]string{"compose-go": composeschema.Schema}
	files, err := fs.Glob(dockerSchemas, "data/config_schema_v*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("the docker CLI's schemas: %v, %d files", err, len(files))
	}
	for _, f := range files {
		b, err := dockerSchemas.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs["docker CLI "+f] = string(b)
	}
	compile := func(body string, trusted bool) error {
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(body))
		if err != nil {
			return err
		}
		c := jsonschema.NewCompiler()
		for _, name := range []string{"ports", "duration"} {
			c.RegisterFormat(&jsonschema.Format{Name: name, Validate: func(any) error { return nil }})
		}
		add := c.AddResource
		if trusted {
			add = c.AddTrustedResource
		}
		if err := add("schema.json", doc); err != nil {
			return err
		}
		_, err = c.Compile("schema.json")
		return err
	}
	for name, body := range docs {
		if err := compile(body, false); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	const broken = `{"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "minProperties": "three"}`
	if err := compile(broken, false); err == nil {
		t.Error("a schema whose minProperties is a string compiles with AddResource: the meta-schema was not applied")
	}
	if err := compile(broken, true); err != nil {
		t.Errorf("AddTrustedResource validated the schema after all: %v", err)
	}
}
