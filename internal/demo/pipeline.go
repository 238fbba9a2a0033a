package demo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"

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
	ios := &iostreams.IOStreams{In: &bytes.Buffer{}, Out: log, ErrOut: log, Format: iostreams.Text, Getenv: noEnv}
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
