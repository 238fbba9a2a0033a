package train

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mlship/mlship/internal/train/gpu"
	"github.com/mlship/mlship/internal/train/lineage"
)

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
	rec.Runner = runnerInfo(*o.run, o.runnerLabels, t.Runner.Labels)
	rec.CI = ciInfo(*o.run)
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

	selected, err := p.checkGPUs(ctx, env)
	if err != nil {
		return nil, err
	}
	rec.Toolchain = toolchain(ctx, env, o.version, rec.GPU)

	tmp, err := os.MkdirTemp("", "mlship-train-")
	if err != nil {
		return nil, fmt.Errorf("creating a temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := p.childEnv(env, selected, tmp); err != nil {
		return nil, err
	}

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
	failure := p.recordOutcome(proc, timeout, res)
	if err := rec.Write(runPath); err != nil {
		return nil, err
	}
	if failure != nil {
		return res, failure
	}
	return res, nil
}

// checkGPUs discovers the GPUs and checks the spec's requirement before
// anything starts; it returns the devices the training gets.
func (p *Prepared) checkGPUs(ctx context.Context, env map[string]string) ([]gpu.Device, error) {
	o, t := p.o, p.m.Train
	req := gpu.Requirement{Count: t.GPU.Count, Type: t.GPU.Type, MinMemoryMiB: t.GPU.MinMemoryMiB}
	if req.Count == 0 && (o.noGPUProbe || !hasExecutable(o.nvidiaSMI, env["PATH"])) {
		return nil, nil
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	dopts := []gpu.Option{gpu.WithLookupEnv(lookup), gpu.WithNvidiaSMI(o.nvidiaSMI)}
	if req.Count == 0 {
		// Only for the record: a wedged driver must not hold up a CPU training.
		dopts = append(dopts, gpu.WithTimeout(3*time.Second))
	}
	inv, err := gpu.Discover(ctx, dopts...)
	if err != nil {
		return nil, fmt.Errorf("GPU discovery: %w", err)
	}
	p.record.GPU = inv
	selected, err := gpu.Check(req, inv)
	if err != nil {
		return nil, fmt.Errorf("%w; the training command was not started", err)
	}
	return selected, nil
}

// childEnv builds the training's environment in env, in order of
// precedence: process < seed defaults < spec env < mlship's own. The
// hyperparameters file is written in tmp.
func (p *Prepared) childEnv(env map[string]string, selected []gpu.Device, tmp string) error {
	pb, err := encodeParams(p.params)
	if err != nil {
		return fmt.Errorf("encoding hyperparameters: %w", err)
	}
	paramsFile := filepath.Join(tmp, "params.json")
	if err := os.WriteFile(paramsFile, pb, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", paramsFile, err)
	}
	seed := strconv.FormatInt(p.seed, 10)
	for k, v := range map[string]string{"PYTHONHASHSEED": seed, "PL_GLOBAL_SEED": seed, "TF_DETERMINISTIC_OPS": "1",
		"CUBLAS_WORKSPACE_CONFIG": ":4096:8", "PYTHONUNBUFFERED": "1"} {
		if _, ok := env[k]; !ok {
			env[k] = v
		}
	}
	for k, v := range p.m.Train.Env {
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
	env["MLSHIP_INPUT_DIGEST"] = p.record.InputDigest
	return nil
}

// record_ fills run.json's outcome from the finished process, checks the
// outputs and reads the metrics; it returns the failure to report, if any.
func (p *Prepared) recordOutcome(proc *Process, timeout time.Duration, res *Result) *ExitError {
	rec := p.record
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
	return failure
}

func signalNumber(name string) int {
	for i := 1; i < 65; i++ {
		if sig := syscallSignal(i); sig == name {
			return i
		}
	}
	return 0
}
