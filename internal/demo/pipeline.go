package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/mlship/mlship/internal/drift"
	"github.com/mlship/mlship/internal/eval"
	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/iostreams"
	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/pipeline"
	"github.com/mlship/mlship/internal/spec"
)

// noEnv is the demo's environment: empty, so nothing of the process's
// (tokens, Actions files) leaks into a run that contacts nothing.
func noEnv(string) string { return "" }

// pipelineRun is the run context the demo hands the same pipeline use
// cases the cli calls: stage output goes to the log, Actions is inert.
func (r *run) pipelineRun() *pipeline.Run {
	log := r.o.Log
	if log == nil {
		log = io.Discard
	}
	ios := &iostreams.IOStreams{In: &bytes.Buffer{}, Out: log, ErrOut: log, Format: iostreams.Text, Env: noEnv}
	return &pipeline.Run{Env: gha.Parse(noEnv), IO: ios, Actions: gha.New(io.Discard, noEnv)}
}

// evaluate runs pipeline.Eval against prod's model in the registry.
func (r *run) evaluate(ctx context.Context, m *spec.Model, out string) (*eval.Result, error) {
	return pipeline.Eval(ctx, r.pipelineRun(), pipeline.EvalRequest{
		SpecDir: m.Dir, Repository: r.repoRef, PlainHTTP: true,
		Environment: "prod", EnvironmentSet: true,
		BaselineExamplesFile: filepath.Join(r.o.Dir, "baseline-examples.jsonl"),
		Out:                  out,
	})
}

// push packages and pushes the spec's model with pipeline.Push, which
// stamps the training run's lineage only when the files are its outputs.
func (r *run) push(ctx context.Context, m *spec.Model, inputDigest, version string) (*pipeline.PushResult, error) {
	res, err := pipeline.Push(ctx, r.pipelineRun(), pipeline.PushRequest{
		Source: m.Dir, Ref: r.repoRef + ":" + version, Registry: []oci.Option{oci.WithPlainHTTP(true)},
		Annotations: []string{"org.opencontainers.image.version=" + version},
		InputDigest: inputDigest, NoCache: true,
	})
	if err != nil {
		return nil, fmt.Errorf("pushing %s: %w", version, err)
	}
	return res, nil
}

// validate checks the spec (and its environments file) with
// pipeline.Validate, as mlship validate does, and returns the model.
func (r *run) validate(ctx context.Context) (*spec.Model, error) {
	res, err := pipeline.Validate(ctx, r.pipelineRun(), pipeline.ValidateRequest{Paths: []string{r.repo}})
	if err != nil {
		if res != nil && len(res.Specs) > 0 {
			return nil, fmt.Errorf("%w: %w", err, errors.Join(specErrors(res.Specs[0].Errors)...))
		}
		return nil, err
	}
	return res.Specs[0].Model, nil
}

func specErrors(list []spec.Error) []error {
	errs := make([]error, len(list))
	for i := range list {
		errs[i] = list[i]
	}
	return errs
}

// train trains the spec's model with pipeline.Train, as mlship train
// does, with name=value overrides.
func (r *run) train(ctx context.Context, params ...string) (*pipeline.TrainResult, error) {
	return pipeline.Train(ctx, r.pipelineRun(), pipeline.TrainRequest{SpecDir: r.repo, Params: params, Log: r.o.Log, NoGPUProbe: true})
}

// drift compares the spec's current data with its reference with
// pipeline.Drift, as mlship drift does, writing the result to out.
func (r *run) drift(ctx context.Context, out string) (*drift.Result, error) {
	return pipeline.Drift(ctx, r.pipelineRun(), pipeline.DriftRequest{SpecDir: r.repo, Out: out})
}
