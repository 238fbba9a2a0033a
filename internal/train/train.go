package train

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mlship/mlship/internal/spec"
	"github.com/mlship/mlship/internal/train/gpu"
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
		o.env = os.Environ()
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

// Run runs the prepared training: reuse lookup, GPU check, the command,
// metrics, outputs check and run.json. A training command that fails
// returns the Result (with run.json written) and an *ExitError.
func (p *Prepared) Run(ctx context.Context) (*Result, error) {
	o, t, rec := p.o, p.m.Train, p.record
	runPath := o.runFile
	if runPath == "" {
		runPath = filepath.Join(filepath.Dir(p.model), "run.json")
	}
	res := &Result{InputDigest: rec.InputDigest, ModelDir: p.model, MetricsPath: p.metrics, RunPath: runPath, Record: rec}
	env := envMap(o.env)
	rec.Runner = runnerInfo(env, o.runnerLabels, t.Runner.Labels)
	rec.CI = ciInfo(env)
	rec.Git = lineage.GitState(ctx, p.m.Dir)

	if o.reuse != nil {
		art, err := FindTrained(ctx, *o.reuse, rec.InputDigest)
		if err != nil {
			return nil, fmt.Errorf("--reuse: %w", err)
		}
		if art != nil {
			now := time.Now().UTC()
			rec.Start, rec.End, rec.Status, rec.Reused = now, now, "reused", art
			res.Reused = art
			if err := rec.Write(runPath); err != nil {
				return nil, err
			}
			return res, nil
		}
	}

	// GPUs: checked before anything starts.
	req := gpu.Requirement{Count: t.GPU.Count, Type: t.GPU.Type, MinMemoryMiB: t.GPU.MinMemoryMiB}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	var selected []gpu.Device
	if req.Count > 0 || (!o.noGPUProbe && hasExecutable(o.nvidiaSMI, env["PATH"])) {
		dopts := []gpu.Option{gpu.WithLookupEnv(lookup), gpu.WithNvidiaSMI(o.nvidiaSMI)}
		if req.Count == 0 {
			// Only for the record: a wedged driver must not hold up a CPU training.
			dopts = append(dopts, gpu.WithTimeout(3*time.Second))
		}
		inv, err := gpu.Discover(ctx, dopts...)
		if err != nil {
			return nil, fmt.Errorf("GPU discovery: %w", err)
		}
		rec.GPU = inv
		if selected, err = gpu.Check(req, inv); err != nil {
			return nil, fmt.Errorf("%w; the training command was not started", err)
		}
	}
	rec.Toolchain = toolchain(ctx, env, o.version, rec.GPU)

	// Environment: process < seed defaults < spec env < mlship's own.
	tmp, err := os.MkdirTemp("", "mlship-train-")
	if err != nil {
		return nil, fmt.Errorf("creating a temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	pb, err := encodeParams(p.params)
	if err != nil {
		return nil, fmt.Errorf("encoding hyperparameters: %w", err)
	}
	paramsFile := filepath.Join(tmp, "params.json")
	if err := os.WriteFile(paramsFile, pb, 0o644); err != nil {
		return nil, fmt.Errorf("writing %s: %w", paramsFile, err)
	}
	seed := strconv.FormatInt(p.seed, 10)
	for k, v := range map[string]string{"PYTHONHASHSEED": seed, "PL_GLOBAL_SEED": seed, "TF_DETERMINISTIC_OPS": "1",
		"CUBLAS_WORKSPACE_CONFIG": ":4096:8", "PYTHONUNBUFFERED": "1"} {
		if _, ok := env[k]; !ok {
			env[k] = v
		}
	}
	for k, v := range t.Env {
		env[k] = v
	}
	if len(selected) > 0 {
		ids := make([]string, len(selected))
		for i, d := range selected {
			ids[i] = d.UUID
		}
		env["CUDA_VISIBLE_DEVICES"] = strings.Join(ids, ",")
	}
	for k := range env {
		if strings.HasPrefix(k, "MLSHIP_PARAM_") {
			delete(env, k)
		}
	}
	for _, kv := range ParamEnv(p.params) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	env["MLSHIP_SEED"] = seed
	env["MLSHIP_PARAMS_FILE"] = paramsFile
	env["MLSHIP_OUTPUT_DIR"] = p.model
	env["MLSHIP_METRICS_FILE"] = p.metrics
	env["MLSHIP_INPUT_DIGEST"] = rec.InputDigest

	timeout, err := duration(o.timeout, t.Timeout, "train.timeout")
	if err != nil {
		return nil, err
	}
	grace, err := duration(0, orDefault(t.GracePeriod, "30s"), "train.gracePeriod")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(p.metrics), 0o755); err != nil {
		return nil, fmt.Errorf("creating the metrics directory: %w", err)
	}
	// A metrics file left from an earlier run must not pass for this one's.
	if err := os.Remove(p.metrics); err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("removing the stale metrics file: %w", err)
	}

	if o.groupStart != nil {
		o.groupStart("Training " + p.m.Name + ": " + strings.Join(t.Command, " "))
	}
	proc, err := runGroup(ctx, command{Argv: t.Command, Dir: p.workdir, Env: envList(env), Timeout: timeout, Grace: grace, Log: o.log})
	if o.groupEnd != nil {
		o.groupEnd()
	}
	if err != nil {
		return nil, err
	}
	rec.Start, rec.End = proc.Start.UTC(), proc.End.UTC()
	rec.Duration = proc.End.Sub(proc.Start).Seconds()
	rec.ExitCode, rec.Signal = proc.ExitCode, proc.Signal

	var failure *ExitError
	switch {
	case proc.TimedOut:
		rec.Status = "timed-out"
		failure = &ExitError{Code: 124, Reason: fmt.Sprintf("training timed out after %s (train.timeout) and was stopped", timeout)}
	case proc.Cancelled:
		rec.Status = "cancelled"
		failure = &ExitError{Code: 130, Reason: "training was cancelled and stopped"}
	case proc.ExitCode != 0:
		rec.Status = "failed"
		code := proc.ExitCode
		reason := fmt.Sprintf("training command exited with status %d", code)
		if proc.Signal != "" {
			reason = "training command was killed by signal: " + proc.Signal
			code = 128 + signalNumber(proc.Signal)
		}
		failure = &ExitError{Code: code, Reason: reason}
	default:
		rec.Status = "succeeded"
	}
	if failure == nil {
		if files, err := modelFiles(p.model, proc.Start); err != nil {
			rec.Status, failure = "failed", &ExitError{Code: 1, Reason: err.Error()}
		} else {
			rec.Outputs.Files = files
		}
	}
	if failure == nil {
		m, err := ReadMetrics(p.metrics)
		if err != nil {
			rec.Status, failure = "failed", &ExitError{Code: 1, Reason: err.Error()}
		} else {
			rec.Metrics, res.Metrics = m, m
		}
	}
	if err := rec.Write(runPath); err != nil {
		return nil, err
	}
	if failure != nil {
		return res, failure
	}
	return res, nil
}

// modelFiles checks that the model directory exists and holds at least
// one file written since the run started, and returns the digest of each
// file in it.
func modelFiles(dir string, since time.Time) (map[string]string, error) {
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("the training did not create its model directory %s (train.outputs.model)", dir)
	}
	files := map[string]string{}
	fresh := 0
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil && !fi.ModTime().Before(since.Add(-2*time.Second)) {
				fresh++
			}
			dg, err := lineage.FileDigest(path)
			if err != nil {
				return err
			}
			r, _ := filepath.Rel(dir, path)
			files[filepath.ToSlash(r)] = dg
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the model directory %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("the model directory %s is empty: the training wrote no model (train.outputs.model)", dir)
	}
	if fresh == 0 {
		return nil, fmt.Errorf("the training wrote nothing to its model directory %s: every file there is from before this run (train.outputs.model)", dir)
	}
	return files, nil
}

// datasetDigests hashes the training datasets and checks pinned digests.
// Every local dataset is verified; only role "train" ones enter the input
// digest. A URL is recorded by its pinned digest, or as "uri:<url>".
func datasetDigests(m *spec.Model, dir string) (map[string]string, error) {
	out := map[string]string{}
	names := make([]string, 0, len(m.Datasets))
	for n := range m.Datasets {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ds := m.Datasets[n]
		var d string
		if isURL(ds.URI) {
			d = ds.Digest
			if d == "" {
				d = "uri:" + ds.URI
			}
		} else {
			path := filepath.Join(dir, filepath.FromSlash(ds.URI))
			got, err := lineage.PathDigest(path)
			if err != nil {
				return nil, fmt.Errorf("dataset %s (%s): %w", n, ds.URI, err)
			}
			if ds.Digest != "" && ds.Digest != got {
				return nil, fmt.Errorf("dataset %s (%s) has digest %s but the spec pins %s: the data changed; update datasets.%s.digest if the change is intended", n, ds.URI, got, ds.Digest, n)
			}
			d = got
		}
		if ds.Role == "train" {
			out[n] = d
		}
	}
	return out, nil
}

func isURL(s string) bool {
	i := strings.Index(s, "://")
	return i > 0 && !strings.ContainsAny(s[:i], "/.")
}

// codeDigest hashes the source files of the workdir, leaving out the spec
// files (the train section is digested on its own), the environments file
// (promotion state), the datasets and the outputs.
func codeDigest(ctx context.Context, m *spec.Model, dir string, p *Prepared) (string, error) {
	skip := map[string]bool{}
	for _, f := range m.Files {
		abs := f
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(dir, f)
			if _, err := os.Stat(abs); err != nil {
				abs, _ = filepath.Abs(f)
			}
		}
		skip[abs] = true
	}
	for _, ds := range m.Datasets {
		if !isURL(ds.URI) {
			skip[filepath.Join(dir, filepath.FromSlash(ds.URI))] = true
		}
	}
	// The environments file changes with every promotion, never the model.
	for _, name := range spec.EnvironmentsFiles {
		skip[filepath.Join(dir, filepath.FromSlash(name))] = true
	}
	prefixes := []string{p.model + string(filepath.Separator)}
	skip[p.metrics] = true
	skip[p.model] = true
	files, err := lineage.SourceFiles(ctx, p.workdir, func(r string) bool {
		abs := filepath.Join(p.workdir, filepath.FromSlash(r))
		if skip[abs] || filepath.Base(abs) == "run.json" {
			return true
		}
		for _, pre := range prefixes {
			if strings.HasPrefix(abs, pre) {
				return true
			}
		}
		for s := range skip {
			if strings.HasPrefix(abs, s+string(filepath.Separator)) {
				return true
			}
		}
		return false
	})
	if err != nil {
		return "", err
	}
	d, err := lineage.TreeDigest(p.workdir, files)
	if err != nil {
		return "", fmt.Errorf("code digest of %s: %w", p.workdir, err)
	}
	return d, nil
}

// trainSectionDigest digests what of the train section changes the
// computation: command, workdir, env, outputs.
func trainSectionDigest(t *spec.Train) (string, error) {
	v := struct {
		Command []string          `json:"command"`
		Workdir string            `json:"workdir"`
		Env     map[string]string `json:"env"`
		Outputs spec.Outputs      `json:"outputs"`
	}{t.Command, orDefault(t.Workdir, "."), t.Env, t.Outputs}
	if v.Env == nil {
		v.Env = map[string]string{}
	}
	return lineage.DigestOf(v)
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

func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			m[k] = v
		}
	}
	return m
}

func envList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func runnerInfo(env map[string]string, labels, specLabels []string) lineage.Runner {
	r := lineage.Runner{Name: env["RUNNER_NAME"], OS: runtime.GOOS, Arch: runtime.GOARCH, Environment: env["RUNNER_ENVIRONMENT"]}
	if len(labels) == 0 {
		if l := env["MLSHIP_RUNNER_LABELS"]; l != "" {
			labels = strings.Split(l, ",")
		} else {
			labels = specLabels
		}
	}
	r.Labels = labels
	r.Hostname, _ = os.Hostname()
	return r
}

func ciInfo(env map[string]string) map[string]string {
	out := map[string]string{}
	for _, k := range []string{"GITHUB_REPOSITORY", "GITHUB_SHA", "GITHUB_REF", "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT", "GITHUB_WORKFLOW_REF", "GITHUB_JOB", "GITHUB_SERVER_URL"} {
		if v := env[k]; v != "" {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func toolchain(ctx context.Context, env map[string]string, version string, inv *gpu.Inventory) map[string]string {
	tc := map[string]string{"mlship-go": runtime.Version()}
	if version != "" {
		tc["mlship"] = version
	}
	probe := func(name string, args ...string) string {
		path := findExecutable(name, env["PATH"])
		if path == "" {
			return ""
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, path, args...)
		cmd.Env = envList(env)
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		if cmd.Run() != nil {
			return ""
		}
		l, _, _ := strings.Cut(strings.TrimSpace(buf.String()), "\n")
		return l
	}
	if v := probe("go", "env", "GOVERSION"); v != "" {
		tc["go"] = v
	}
	if v := probe("python3", "--version"); v != "" {
		tc["python"] = strings.TrimPrefix(v, "Python ")
	}
	if inv != nil {
		if inv.Driver != "" {
			tc["nvidia-driver"] = inv.Driver
		}
		if inv.CUDA != "" {
			tc["cuda"] = inv.CUDA
		}
	}
	return tc
}

func hasExecutable(name, pathVar string) bool { return findExecutable(name, pathVar) != "" }

func findExecutable(name, pathVar string) string {
	if strings.Contains(name, "/") {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		return ""
	}
	for _, d := range strings.Split(pathVar, ":") {
		if d == "" {
			continue
		}
		if p, err := exec.LookPath(filepath.Join(d, name)); err == nil {
			return p
		}
	}
	return ""
}

func signalNumber(name string) int {
	for i := 1; i < 65; i++ {
		if sig := syscallSignal(i); sig == name {
			return i
		}
	}
	return 0
}
