package spec

import (
	"bytes"
	"encoding/json"
	"fmt"

	"cuelang.org/go/cue"
	"cuelang.org/go/encoding/jsonschema"
)

// JSONSchema generates a JSON Schema (draft 2020-12) for the definition
// ("Model" or "Environments") from the embedded CUE schema, so there is one
// source of truth for editors and for mlship itself.
func (l *Loader) JSONSchema(definition string) ([]byte, error) {
	switch definition {
	case "Model", "Environments":
	default:
		return nil, fmt.Errorf("unknown schema definition %q: use Model or Environments", definition)
	}
	def := l.schema.LookupPath(cue.ParsePath("#" + definition))
	expr, err := jsonschema.Generate(def, &jsonschema.GenerateConfig{})
	if err != nil {
		return nil, fmt.Errorf("generating the JSON Schema for #%s: %w", definition, err)
	}
	v := l.ctx.BuildExpr(expr)
	if err := v.Err(); err != nil {
		return nil, fmt.Errorf("building the JSON Schema for #%s: %w", definition, err)
	}
	raw, err := v.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encoding the JSON Schema for #%s: %w", definition, err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}
