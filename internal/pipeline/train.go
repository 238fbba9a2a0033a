package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/spec"
	"github.com/mlship/mlship/internal/train"
	"github.com/mlship/mlship/internal/train/gpu"
	"github.com/mlship/mlship/internal/train/lineage"
)

// TrainRequest is what `mlship train` (and the demo) asks for.
type TrainRequest struct {
	SpecDir string
	// Params are name=value overrides; a value with newlines holds one
	// override per line, as a matrix entry's params.
	Params []string
	// Seed overrides train.seed when SeedSet.
	Seed    int64
	SeedSet bool
	Timeout time.Duration
	// Reuse skips training when the registry holds an artifact with the
	// same training input digest; Repository overrides the spec's.
	Reuse      bool
	Repository string
	RunFile    string
	// DigestOnly computes the input digest without training.
	DigestOnly bool
	// Env is the training's base environment (nil: the process's, with the
	// run context recorded from r.Env).
	Env []string
	// Log receives the training's output (nil: r's stderr).
	Log io.Writer
	// Version is the mlship version recorded in run.json.
	Version string
	// NoGPUProbe skips the nvidia-smi inventory when no GPU is needed.
	NoGPUProbe bool
}

// TrainResult is what a training did; `mlship train --output json` prints it.
type TrainResult struct {
	Model           string             `json:"model"`
	Version         string             `json:"version"`
	InputDigest     string             `json:"inputDigest"`
	ModelDir        string             `json:"modelDir"`
	MetricsPath     string             `json:"metricsPath"`
	RunPath         string             `json:"runPath,omitempty"`
	Metrics         map[string]float64 `json:"metrics"`
	Hyperparameters map[string]any     `json:"hyperparameters"`
	Status          string             `json:"status"`
	ExitCode        int                `json:"exitCode"`
	DurationSeconds float64            `json:"durationSeconds"`
	Reused          bool               `json:"reused"`
	Artifact        *lineage.Artifact  `json:"artifact,omitempty"`
	Error           string             `json:"error,omitempty"`
	// DigestOnly says only the input digest was computed.
	DigestOnly bool `json:"-"`
}

// TrainStatusNotStarted is the Status of a training stopped before its
// command ran (a bad parameter, an unmet GPU requirement, ...).
const TrainStatusNotStarted = "not-started"

// Train trains the spec's model (or finds it trained before, with
// Reuse), writes run.json, and sets the step outputs and job summary.
// A training that ran and failed returns its result and a *train.ExitError
// carrying its exit status; one stopped before it ran returns a result
// with Status TrainStatusNotStarted and the error (a UsageError for an
// undeclared or malformed parameter).
func Train(ctx context.Context, r *Run, req TrainRequest) (*TrainResult, error) {
	m, err := LoadSpec(ctx, r, req.SpecDir)
	if err != nil {
		return nil, err
	}
	topts, err := r.trainOptions(m, req)
	if err != nil {
		return nil, err
	}
	prep, err := train.Prepare(ctx, m, topts...)
	if err != nil {
		if errors.Is(err, train.ErrUndeclaredParam) {
			err = usage(err) // like a malformed --param
		}
		return r.trainFail(m, err)
	}
	if req.DigestOnly {
		_ = r.Actions.SetOutput("input-digest", prep.InputDigest())
		return &TrainResult{Model: m.Name, Version: m.Version, InputDigest: prep.InputDigest(), Hyperparameters: prep.Params(), DigestOnly: true}, nil
	}
	r.Logf("mlship train: %s %s, input digest %s\n", m.Name, m.Version, prep.InputDigest())
	res, err := prep.Run(ctx)
	var ee *train.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && res != nil:
		// The training ran and failed: report what is known, pass its status on.
		out := trainResult(m, prep, res)
		out.Error = ee.Error()
		_ = r.trainReport(out)
		r.Annotate(gha.Annotation{Level: "error", Title: "mlship train", Message: ee.Error()})
		return out, err
	default:
		return r.trainFail(m, err)
	}
	out := trainResult(m, prep, res)
	if err := r.trainReport(out); err != nil {
		return out, err
	}
	return out, nil
}

// LoadSpec loads the spec in dir, annotating every problem at its position.
func LoadSpec(ctx context.Context, r *Run, dir string) (*spec.Model, error) {
	m, err := spec.Load(ctx, dir)
	if err == nil {
		return m, nil
	}
	var list spec.ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			r.Annotate(gha.Annotation{Level: "error", File: e.File, Line: e.Line, Col: e.Col, Title: "mlship: invalid spec", Message: e.Message})
		}
	}
	return nil, err
}

func (r *Run) trainOptions(m *spec.Model, req TrainRequest) ([]train.Option, error) {
	overrides := map[string]any{}
	for _, p := range req.Params {
		for _, line := range strings.Split(p, "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			k, v, err := train.ParseParam(line)
			if err != nil {
				return nil, usage(err)
			}
			overrides[k] = v
		}
	}
	logw := req.Log
	if logw == nil {
		logw = r.IO.ErrOut
	}
	topts := []train.Option{train.WithParams(overrides), train.WithLog(logw), train.WithVersion(req.Version)}
	if req.Env != nil {
		topts = append(topts, train.WithEnv(req.Env))
	} else {
		topts = append(topts, train.WithRunContext(r.Env))
	}
	if req.NoGPUProbe {
		topts = append(topts, train.WithoutGPUProbe())
	}
	if req.SeedSet {
		topts = append(topts, train.WithSeed(req.Seed))
	}
	if req.Timeout > 0 {
		topts = append(topts, train.WithTimeout(req.Timeout))
	}
	if req.RunFile != "" {
		topts = append(topts, train.WithRunFile(req.RunFile))
	}
	if r.Actions.Active() {
		// Group markers go to the log's stream, so they stay in order with it.
		topts = append(topts, train.WithGroups(
			func(title string) { fmt.Fprintf(logw, "::group::%s\n", strings.ReplaceAll(title, "\n", " ")) },
			func() { fmt.Fprintln(logw, "::endgroup::") }))
	}
	if req.Reuse {
		repo := req.Repository
		if repo == "" {
			repo = m.Registry.Repository
		}
		topts = append(topts, train.WithReuse(train.Registry{Repository: repo, PlainHTTP: m.Registry.PlainHTTP, Client: registry(r, false)}))
	}
	return topts, nil
}

// trainFail reports an error that stopped the run before the command ran.
func (r *Run) trainFail(m *spec.Model, err error) (*TrainResult, error) {
	title := "mlship train"
	if errors.Is(err, gpu.ErrUnmet) {
		title = "GPU requirement not met"
	}
	file := ""
	if len(m.Files) > 0 {
		file = m.Files[0]
	}
	r.Annotate(gha.Annotation{Level: "error", File: file, Title: title, Message: err.Error()})
	_ = r.Summary(fmt.Sprintf("### mlship train: `%s` not trained\n\n%s\n", m.Name, err))
	return &TrainResult{Model: m.Name, Status: TrainStatusNotStarted, Error: err.Error()}, err
}

func trainResult(m *spec.Model, prep *train.Prepared, res *train.Result) *TrainResult {
	rec := res.Record
	out := &TrainResult{
		Model: m.Name, Version: m.Version, InputDigest: res.InputDigest,
		ModelDir: res.ModelDir, MetricsPath: res.MetricsPath, RunPath: res.RunPath,
		Metrics: map[string]float64{}, Hyperparameters: prep.Params(),
		Status: rec.Status, ExitCode: rec.ExitCode, DurationSeconds: rec.Duration,
	}
	if res.Metrics != nil {
		out.Metrics = res.Metrics.Final
	}
	if res.Reused != nil {
		out.Reused, out.Artifact = true, res.Reused
	}
	return out
}

// trainReport sets the step outputs and appends the job summary.
func (r *Run) trainReport(out *TrainResult) error {
	outputs := map[string]string{
		"input-digest": out.InputDigest, "model-dir": out.ModelDir, "metrics-path": out.MetricsPath,
		"run-path": out.RunPath, "reused": fmt.Sprint(out.Reused), "status": out.Status,
	}
	if out.Artifact != nil {
		outputs["digest"], outputs["ref"] = out.Artifact.Digest, out.Artifact.Ref
	}
	for _, k := range sortedKeys(outputs) {
		if err := r.Actions.SetOutput(k, outputs[k]); err != nil {
			return err
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### mlship train: `%s` %s\n\n", out.Model, out.Version)
	switch {
	case out.Reused:
		fmt.Fprintf(&b, "♻️ Reused `%s`: trained before from the same inputs.\n\n", out.Artifact.Ref)
	case out.Status == "succeeded":
		fmt.Fprintf(&b, "✅ Trained in %.1fs.\n\n", out.DurationSeconds)
	default:
		fmt.Fprintf(&b, "❌ %s (exit status %d): %s\n\n", out.Status, out.ExitCode, out.Error)
	}
	fmt.Fprintf(&b, "- input digest: `%s`\n", out.InputDigest)
	if len(out.Hyperparameters) > 0 {
		var ps []string
		for _, k := range sortedKeys(out.Hyperparameters) {
			ps = append(ps, train.FormatParam(k, out.Hyperparameters[k]))
		}
		fmt.Fprintf(&b, "- hyperparameters: `%s`\n", strings.Join(ps, "`, `"))
	}
	if len(out.Metrics) > 0 {
		b.WriteString("\n| metric | value |\n| --- | --- |\n")
		for _, k := range sortedKeys(out.Metrics) {
			fmt.Fprintf(&b, "| %s | %.6g |\n", k, out.Metrics[k])
		}
	}
	return r.Summary(b.String())
}

// MetricLine is metrics as name=value pairs, sorted by name.
func MetricLine(m map[string]float64) string {
	if len(m) == 0 {
		return "no metrics"
	}
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s=%.4g", k, m[k]))
	}
	return strings.Join(parts, " ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
