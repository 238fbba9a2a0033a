package train

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/spec"
	"github.com/mlship/mlship/internal/train/lineage"
)

// Result is what a training run produced.
type Result struct {
	// InputDigest is the training input digest (sha256:...).
	InputDigest string `json:"inputDigest"`
	// ModelDir and MetricsPath are absolute paths of the outputs.
	ModelDir    string `json:"modelDir"`
	MetricsPath string `json:"metricsPath"`
	// RunPath is where run.json was written.
	RunPath string           `json:"runPath"`
	Metrics *lineage.Metrics `json:"metrics,omitempty"`
	// Reused is the artifact found instead of training, with --reuse.
	Reused *lineage.Artifact `json:"reused,omitempty"`
	Record *lineage.Record   `json:"-"`
}

// ExitError is returned when the training command failed; Code is the
// exit status to pass on (124 after a timeout, 130 after cancellation,
// 128+n after signal n).
type ExitError struct {
	Code   int
	Reason string
}

func (e *ExitError) Error() string { return e.Reason }

// Prepared is a training run whose inputs have been digested but which
// has not run yet.
type Prepared struct {
	m       *spec.Model
	o       options
	params  map[string]any
	seed    int64
	workdir string
	model   string
	metrics string
	record  *lineage.Record
}

// InputDigest is the training input digest of the prepared run.
func (p *Prepared) InputDigest() string { return p.record.InputDigest }

// Params are the effective hyperparameters.
func (p *Prepared) Params() map[string]any { return p.params }

// Run prepares and runs the training of m; see Prepare and Prepared.Run.
func Run(ctx context.Context, m *spec.Model, opts ...Option) (*Result, error) {
	p, err := Prepare(ctx, m, opts...)
	if err != nil {
		return nil, err
	}
	return p.Run(ctx)
}

// Prepare resolves the run's inputs: effective hyperparameters and seed,
// dataset digests (checked against digests pinned in the spec), the code
// digest and from them the training input digest. Nothing runs yet.
func Prepare(ctx context.Context, m *spec.Model, opts ...Option) (*Prepared, error) {
	if m == nil || m.Train == nil {
		return nil, errors.New("the spec has no train section: add train: {command: [...]} to train this model")
	}
	o := options{nvidiaSMI: "nvidia-smi"}
	for _, opt := range opts {
		opt(&o)
	}
	if o.env == nil {
		// The training command inherits the process environment, as any
		// child process does; the run context is read by gha (below).
		o.env = os.Environ()
	}
	if o.run == nil {
		env := envMap(o.env)
		run := gha.Parse(func(k string) string { return env[k] })
		o.run = &run
	}
	t := m.Train
	if len(t.Command) == 0 {
		return nil, errors.New("train.command is empty: give the training command as an argv list")
	}
	params, err := EffectiveParams(t.Hyperparameters, o.overrides)
	if err != nil {
		return nil, err
	}
	seed := t.Seed
	if o.seed != nil {
		seed = *o.seed
	}
	dir, err := filepath.Abs(m.Dir)
	if err != nil {
		return nil, fmt.Errorf("spec directory %s: %w", m.Dir, err)
	}
	p := &Prepared{m: m, o: o, params: params, seed: seed,
		workdir: filepath.Join(dir, filepath.FromSlash(orDefault(t.Workdir, "."))),
		model:   filepath.Join(dir, filepath.FromSlash(orDefault(t.Outputs.Model, "model"))),
		metrics: filepath.Join(dir, filepath.FromSlash(orDefault(t.Outputs.Metrics, "metrics.json"))),
	}
	if fi, err := os.Stat(p.workdir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("train.workdir %s is not a directory in %s", t.Workdir, dir)
	}
	datasets, err := datasetDigests(m, dir)
	if err != nil {
		return nil, err
	}
	code, err := codeDigest(ctx, m, dir, p)
	if err != nil {
		return nil, err
	}
	trainDigest, err := trainSectionDigest(t)
	if err != nil {
		return nil, err
	}
	in := lineage.Inputs{Train: trainDigest, Datasets: datasets, Code: code, Hyperparameters: params, Seed: seed}
	digest, err := in.Digest()
	if err != nil {
		return nil, err
	}
	p.record = &lineage.Record{
		SchemaVersion: lineage.SchemaVersion,
		InputDigest:   digest,
		Inputs:        in,
		Model:         m.Name,
		Version:       m.Version,
		SpecDigest:    m.Digest,
		Command:       append([]string(nil), t.Command...),
		Workdir:       orDefault(t.Workdir, "."),
		Outputs:       lineage.Outputs{ModelDir: rel(dir, p.model), Metrics: rel(dir, p.metrics)},
	}
	return p, nil
}

func duration(override time.Duration, s, field string) (time.Duration, error) {
	if override > 0 {
		return override, nil
	}
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s %q: %w", field, s, err)
	}
	return d, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func rel(base, path string) string {
	r, err := filepath.Rel(base, path)
	if err != nil {
		return path
	}
	return filepath.ToSlash(r)
}
