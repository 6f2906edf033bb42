package stackcheck

import (
	"errors"
	"strings"
	"sync"
	"time"

	composeschema "github.com/compose-spec/compose-go/v2/schema"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// compose-go reports the most specific schema violation, but breaks ties
// in map order: the same file gives different messages from run to run.
// ComposeSchemaError picks the same way with a stable tie-break, with
// compose-go's own schema.

var composeCompiled = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(composeschema.Schema))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	// Embedded, and proven valid against its meta-schema (2020-12) by
	// TestEmbeddedSchemasAreValid: not validated again at every start.
	if err := c.AddTrustedResource("compose-spec.json", doc); err != nil {
		return nil, err
	}
	c.RegisterFormat(&jsonschema.Format{Name: "duration", Validate: func(v any) error {
		s, ok := v.(string)
		if !ok {
			return errors.New("expected string")
		}
		_, err := time.ParseDuration(s)
		return err
	}})
	return c.Compile("compose-spec.json")
})

// PrepareSchemaError compiles, in the background, the schema
// ComposeSchemaError validates with (about 15 ms of CPU, the largest of
// the schemas), so that a command checking files has it compile while it
// parses and loads its first ones; the first ComposeSchemaError waits for
// it if need be.
func PrepareSchemaError() {
	go composeCompiled()
}

// ComposeSchemaError validates an interpolated file (see
// StackInterpolate) against the Compose specification's schema and
// returns the most specific violation, as compose-go does: the deepest,
// an unknown property counting one level deeper; ties go to the first
// message in sort order. It returns nil when the file is valid.
func ComposeSchemaError(cfg map[string]any) (*SchemaError, error) {
	s, err := composeCompiled()
	if err != nil {
		return nil, err
	}
	// compose-go gives the schema library a JSON round trip of the file,
	// to shed derived types; the loaders' maps hold none (yaml.v3 decodes
	// timestamps into strings, not time.Time), and the library reads them
	// without changing them: they are validated as they are.
	err = s.Validate(cfg)
	if err == nil {
		return nil, nil
	}
	verr, ok := errors.AsType[*jsonschema.ValidationError](err)
	if !ok {
		return nil, err
	}
	best := composeMostSpecific(verr)
	return &SchemaError{Path: best.InstanceLocation, Message: describe(best)}, nil
}

func composeSpecificity(e *jsonschema.ValidationError) int {
	// The specification forbids some keys in some conditional branches
	// with a bare "false" schema, a reason that explains nothing.
	if _, ok := e.ErrorKind.(*kind.FalseSchema); ok {
		return -1
	}
	if _, ok := e.ErrorKind.(*kind.AdditionalProperties); ok {
		return len(e.InstanceLocation) + 1
	}
	return len(e.InstanceLocation)
}

func composeMostSpecific(e *jsonschema.ValidationError) *jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		return e
	}
	var best *jsonschema.ValidationError
	bestMsg := ""
	for _, c := range e.Causes {
		c = composeMostSpecific(c)
		msg := SchemaError{c.InstanceLocation, describe(c)}.Error()
		switch {
		case best == nil, composeSpecificity(c) > composeSpecificity(best):
		case composeSpecificity(c) == composeSpecificity(best) && msg < bestMsg:
		default:
			continue
		}
		best, bestMsg = c, msg
	}
	return best
}
