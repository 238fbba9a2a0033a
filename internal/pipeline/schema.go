package pipeline

import (
	"context"
	"fmt"
	"os"

	"github.com/mlship/mlship/internal/spec"
)

// SchemaExportRequest is what `mlship schema export` asks for.
type SchemaExportRequest struct {
	// Definition is Model or Environments.
	Definition string
	// Out, when set, receives the schema instead of r's stdout.
	Out string
}

// SchemaExport writes the JSON Schema generated from the embedded CUE
// schema's definition to req.Out, or to r's stdout.
func SchemaExport(_ context.Context, r *Run, req SchemaExportRequest) error {
	l, err := spec.NewLoader()
	if err != nil {
		return err
	}
	data, err := l.JSONSchema(req.Definition)
	if err != nil {
		return err
	}
	if req.Out == "" {
		_, err = r.IO.Out.Write(data)
		return err
	}
	if err := os.WriteFile(req.Out, data, 0o644); err != nil {
		return fmt.Errorf("writing the JSON Schema to %s: %w", req.Out, err)
	}
	r.Logf("wrote %s\n", req.Out)
	return nil
}
