package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/spec"
	"github.com/mlship/mlship/internal/train"
	"github.com/mlship/mlship/internal/train/gpu"
	"github.com/mlship/mlship/internal/train/lineage"
)

// TrainOptions are the inputs of `mlship train`.
type TrainOptions struct {
	F       *Factory
	SpecDir string
	// Params are name=value overrides (--param, repeatable; a value with
	// newlines holds one override per line, as a matrix entry's params).
	Params []string
	// Seed overrides train.seed when SeedSet.
	Seed    int64
	SeedSet bool
	Timeout time.Duration
	// Reuse skips training when the registry holds an artifact with the
	// same training input digest.
	Reuse bool
	// Repository overrides registry.repository for --reuse.
	Repository string
	RunFile    string
	// DigestOnly computes and prints the input digest without training.
	DigestOnly bool
	// Env is the training's base environment (nil: the process's).
	Env []string
	// Log receives the training's output (nil: stderr).
	Log io.Writer
}

// TrainOutput is what `mlship train --output json` prints.
type TrainOutput struct {
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
}

// NewCmdTrain builds `mlship train`.
func NewCmdTrain(f *Factory, runF func(*TrainOptions) error) *cobra.Command {
	opts := &TrainOptions{F: f}
	cmd := &cobra.Command{
		Use:   "train [SPEC_DIR]",
		Short: "Run the spec's training command and record its lineage",
		Long: `Train runs train.command of the spec in SPEC_DIR (default ".") and records
the run in run.json beside the model directory.

Before anything starts it hashes the inputs (train section, training
datasets, source files of the workdir, hyperparameters, seed) into the
training input digest, checks datasets against digests pinned in the spec,
and, when train.gpu.count > 0, asks nvidia-smi for the GPUs visible under
CUDA_VISIBLE_DEVICES: too few, of the wrong type or with too little memory
fails at once, naming what was required and what was found.

The command gets its hyperparameters as MLSHIP_PARAM_<NAME> variables and
as a JSON file named by MLSHIP_PARAMS_FILE, the seed as MLSHIP_SEED (and
PYTHONHASHSEED, PL_GLOBAL_SEED), and MLSHIP_OUTPUT_DIR, MLSHIP_METRICS_FILE.
It runs in its own process group: on timeout (train.timeout, --timeout) or
cancellation the whole group gets SIGTERM, then SIGKILL after
train.gracePeriod. Its exit status is passed through (124 after a timeout).

With --reuse, a registry that already holds an artifact with this input
digest (tag input-<first 12 hex digits>, annotation dev.mlship.input-digest)
makes training unnecessary: its digest is printed and nothing runs.`,
		Example: `  # train the iris example on this machine
  mlship train examples/iris

  # one run of a sweep, machine-readable
  mlship train examples/iris --param learning_rate=0.3 --output json

  # skip training when these exact inputs were trained and pushed before
  mlship train examples/iris --reuse

  # just the training input digest
  mlship train examples/iris --digest-only`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.SpecDir = "."
			if len(args) == 1 {
				opts.SpecDir = args[0]
			}
			opts.SeedSet = cmd.Flags().Changed("seed")
			if runF != nil {
				return runF(opts)
			}
			return runTrain(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&opts.Params, "param", "p", nil, "override a hyperparameter: name=value (repeatable)")
	fl.Int64Var(&opts.Seed, "seed", 0, "override train.seed")
	fl.DurationVar(&opts.Timeout, "timeout", 0, "override train.timeout (e.g. 2h)")
	fl.BoolVar(&opts.Reuse, "reuse", false, "skip training if the registry has an artifact with the same input digest")
	fl.StringVar(&opts.Repository, "repository", "", "registry repository for --reuse (default: registry.repository of the spec)")
	fl.StringVar(&opts.RunFile, "run-file", "", "where to write run.json (default: beside the model directory)")
	fl.BoolVar(&opts.DigestOnly, "digest-only", false, "print the training input digest and exit without training")
	return cmd
}

func runTrain(ctx context.Context, opts *TrainOptions) error {
	f := opts.F
	m, err := trainLoadSpec(ctx, f, opts.SpecDir)
	if err != nil {
		return err
	}
	overrides := map[string]any{}
	for _, p := range opts.Params {
		for _, line := range strings.Split(p, "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			k, v, err := train.ParseParam(line)
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			overrides[k] = v
		}
	}
	logw := opts.Log
	if logw == nil {
		logw = f.IO.ErrOut
	}
	topts := []train.Option{
		train.WithParams(overrides), train.WithLog(logw), train.WithVersion(f.Version),
	}
	if opts.Env != nil {
		topts = append(topts, train.WithEnv(opts.Env))
	}
	if opts.SeedSet {
		topts = append(topts, train.WithSeed(opts.Seed))
	}
	if opts.Timeout > 0 {
		topts = append(topts, train.WithTimeout(opts.Timeout))
	}
	if opts.RunFile != "" {
		topts = append(topts, train.WithRunFile(opts.RunFile))
	}
	if f.Actions.Active() {
		// Group markers go to the log's stream, so they stay in order with it.
		topts = append(topts, train.WithGroups(
			func(title string) { fmt.Fprintf(logw, "::group::%s\n", strings.ReplaceAll(title, "\n", " ")) },
			func() { fmt.Fprintln(logw, "::endgroup::") }))
	}
	if opts.Reuse {
		repo := opts.Repository
		if repo == "" {
			repo = m.Registry.Repository
		}
		topts = append(topts, train.WithReuse(train.Registry{Repository: repo, PlainHTTP: m.Registry.PlainHTTP}))
	}
	prep, err := train.Prepare(ctx, m, topts...)
	if err != nil {
		code := 1
		if errors.Is(err, train.ErrUndeclaredParam) {
			code = 2 // a usage error, like a malformed --param
		}
		return trainFail(f, m, err, code)
	}
	if opts.DigestOnly {
		_ = f.Actions.SetOutput("input-digest", prep.InputDigest())
		if f.IO.JSON() {
			return f.IO.PrintJSON(map[string]any{"model": m.Name, "inputDigest": prep.InputDigest(), "hyperparameters": prep.Params()})
		}
		f.IO.Printf("%s\n", prep.InputDigest())
		return nil
	}
	f.IO.Logf("mlship train: %s %s, input digest %s\n", m.Name, m.Version, prep.InputDigest())
	res, err := prep.Run(ctx)
	var ee *train.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && res != nil:
		// The training ran and failed: report what is known, pass its status on.
		out := trainOutput(m, prep, res, opts.SpecDir)
		out.Error = ee.Error()
		trainReport(f, out)
		if f.IO.JSON() {
			_ = f.IO.PrintJSON(out)
		}
		f.Actions.Annotate(gha.Annotation{Level: "error", Title: "mlship train", Message: ee.Error()})
		return &ExitError{Code: ee.Code, Err: err}
	default:
		return trainFail(f, m, err, 1)
	}
	out := trainOutput(m, prep, res, opts.SpecDir)
	if err := trainReport(f, out); err != nil {
		return err
	}
	if f.IO.JSON() {
		return f.IO.PrintJSON(out)
	}
	if out.Reused {
		f.IO.Printf("reused %s (trained from the same inputs before; nothing ran)\n", out.Artifact.Ref)
	} else {
		f.IO.Printf("trained %s %s in %.1fs: %s\n", m.Name, m.Version, out.DurationSeconds, trainMetricLine(out.Metrics))
		f.IO.Printf("model    %s\nrun      %s\n", trainRel(out.ModelDir), trainRel(out.RunPath))
	}
	f.IO.Printf("inputs   %s\n", out.InputDigest)
	return nil
}

// trainLoadSpec loads the spec, annotating every problem at its position.
func trainLoadSpec(ctx context.Context, f *Factory, dir string) (*spec.Model, error) {
	m, err := spec.Load(ctx, dir)
	if err == nil {
		return m, nil
	}
	var list spec.ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			f.Actions.Annotate(gha.Annotation{Level: "error", File: e.File, Line: e.Line, Col: e.Col, Title: "mlship: invalid spec", Message: e.Message})
		}
	}
	return nil, &ExitError{Code: 1, Err: err}
}

// trainFail reports an error that stopped the run before the command ran.
func trainFail(f *Factory, m *spec.Model, err error, code int) error {
	title := "mlship train"
	if errors.Is(err, gpu.ErrUnmet) {
		title = "GPU requirement not met"
	}
	f.Actions.Annotate(gha.Annotation{Level: "error", File: trainSpecFile(m), Title: title, Message: err.Error()})
	_ = f.Actions.AddStepSummary(fmt.Sprintf("### mlship train: `%s` not trained\n\n%s\n", m.Name, err))
	if f.IO.JSON() {
		_ = f.IO.PrintJSON(map[string]any{"model": m.Name, "status": "not-started", "error": err.Error()})
	}
	return &ExitError{Code: code, Err: err}
}

func trainSpecFile(m *spec.Model) string {
	if len(m.Files) == 0 {
		return ""
	}
	return m.Files[0]
}

func trainOutput(m *spec.Model, prep *train.Prepared, res *train.Result, specDir string) TrainOutput {
	rec := res.Record
	out := TrainOutput{
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

func trainReport(f *Factory, out TrainOutput) error {
	outputs := map[string]string{
		"input-digest": out.InputDigest, "model-dir": out.ModelDir, "metrics-path": out.MetricsPath,
		"run-path": out.RunPath, "reused": fmt.Sprint(out.Reused), "status": out.Status,
	}
	if out.Artifact != nil {
		outputs["digest"], outputs["ref"] = out.Artifact.Digest, out.Artifact.Ref
	}
	keys := make([]string, 0, len(outputs))
	for k := range outputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := f.Actions.SetOutput(k, outputs[k]); err != nil {
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
		for _, k := range sortedParamKeys(out.Hyperparameters) {
			ps = append(ps, train.FormatParam(k, out.Hyperparameters[k]))
		}
		fmt.Fprintf(&b, "- hyperparameters: `%s`\n", strings.Join(ps, "`, `"))
	}
	if len(out.Metrics) > 0 {
		b.WriteString("\n| metric | value |\n| --- | --- |\n")
		for _, k := range sortedParamKeys(out.Metrics) {
			fmt.Fprintf(&b, "| %s | %.6g |\n", k, out.Metrics[k])
		}
	}
	return f.Actions.AddStepSummary(b.String())
}

func sortedParamKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func trainMetricLine(m map[string]float64) string {
	if len(m) == 0 {
		return "no metrics"
	}
	var parts []string
	for _, k := range sortedParamKeys(m) {
		parts = append(parts, fmt.Sprintf("%s=%.4g", k, m[k]))
	}
	return strings.Join(parts, " ")
}

// trainRel shows path relative to the working directory when it is below it.
func trainRel(path string) string {
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	if r, err := filepath.Rel(wd, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}
