package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/mlship/mlship/internal/attest"
	"github.com/mlship/mlship/internal/spec"
)

// ErrNoBaseline says the target environment has no model (yet) or the
// model carries no metrics: the comparison falls back to absolute bounds.
var ErrNoBaseline = errors.New("no baseline")

// BaselineSource finds the model currently in an environment and its
// metrics. Implementations return an error wrapping ErrNoBaseline when there
// is nothing to compare with; any other error stops the evaluation (a
// comparison that silently skipped the baseline would pass regressions).
type BaselineSource interface {
	Baseline(ctx context.Context, model *spec.Model, env string) (*Baseline, error)
}

// BaselineFunc adapts a function to BaselineSource.
type BaselineFunc func(ctx context.Context, model *spec.Model, env string) (*Baseline, error)

// Baseline calls f.
func (f BaselineFunc) Baseline(ctx context.Context, model *spec.Model, env string) (*Baseline, error) {
	return f(ctx, model, env)
}

// NoBaseline is a source with nothing in it: bounds only.
func NoBaseline() BaselineSource {
	return BaselineFunc(func(context.Context, *spec.Model, string) (*Baseline, error) {
		return nil, notFound{"none was asked for"}
	})
}

// FileBaseline reads the baseline from a JSON file: either an eval Result
// (the eval-result.json of an earlier run, or an eval attestation's
// predicate) or a plain metrics file in ParseMetrics's format.
type FileBaseline struct {
	Path string
}

// Baseline reads f.Path.
func (f FileBaseline) Baseline(_ context.Context, _ *spec.Model, env string) (*Baseline, error) {
	b, err := os.ReadFile(f.Path)
	if err != nil {
		return nil, fmt.Errorf("reading baseline file %s: %w", f.Path, err)
	}
	base, err := baselineFromJSON(b)
	if err != nil {
		return nil, fmt.Errorf("baseline file %s: %w", f.Path, err)
	}
	base.Source = "file"
	base.Ref = f.Path
	if base.Environment == "" {
		base.Environment = env
	}
	return base, nil
}

// baselineFromJSON accepts an eval Result or a metrics file.
func baselineFromJSON(b []byte) (*Baseline, error) {
	var probe struct {
		SchemaVersion string `json:"schemaVersion"`
	}
	if json.Unmarshal(b, &probe) == nil && probe.SchemaVersion != "" {
		r, err := ParseResult(b)
		if err != nil {
			return nil, err
		}
		return &Baseline{Digest: r.Model.Digest, Version: r.Model.Version, Metrics: r.Metrics}, nil
	}
	m, err := ParseMetrics(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return &Baseline{Metrics: m}, nil
}

// ParseResult decodes an eval Result (eval-result.json, or the predicate of
// an eval attestation) and checks its schema version.
func ParseResult(b []byte) (*Result, error) { return attest.ParseEvalResult(b) }

// ReadResultFile reads an eval result JSON file.
func ReadResultFile(path string) (*Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading eval result %s: %w (write it with `mlship eval --out`)", path, err)
	}
	r, err := ParseResult(b)
	if err != nil {
		return nil, fmt.Errorf("eval result %s: %w", path, err)
	}
	return r, nil
}
