package eval

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/mlship/mlship/internal/spec"
)

// Run evaluates model: it runs the spec's eval command in the spec
// directory (unless WithMetricsFile is given), reads the metrics and
// per-example files, finds the baseline and compares. A failed gate is not
// an error: it is Result.Passed == false.
func Run(ctx context.Context, model *spec.Model, opts ...Option) (*Result, error) {
	if model == nil {
		return nil, fmt.Errorf("eval: no model spec")
	}
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	ev := model.Eval
	if ev == nil {
		if o.metricsFile == "" {
			return nil, fmt.Errorf("spec %s has no eval section: add eval.metrics (and eval.command), or pass a metrics file", model.Name)
		}
		ev = &spec.Eval{}
	}

	metricsPath := o.metricsFile
	if metricsPath == "" {
		metricsPath = inDir(model.Dir, metricsFileName(ev))
		if len(ev.Command) > 0 {
			if err := runFresh(ctx, model, ev, o, metricsPath); err != nil {
				return nil, err
			}
		}
	}
	mf, err := readMetrics(metricsPath)
	if err != nil {
		return nil, err
	}

	examplesPath := o.examplesFile
	if examplesPath == "" && ev.ExamplesFile != "" {
		if p := inDir(model.Dir, ev.ExamplesFile); fileExists(p) {
			examplesPath = p
		}
	}
	var examples *Examples
	if examplesPath != "" {
		if examples, err = ReadExamplesFile(examplesPath); err != nil {
			return nil, err
		}
	}

	baseEnv := ev.Baseline
	if baseEnv == "" {
		baseEnv = "prod"
	}
	src := o.baselineSource
	if src == nil {
		src = NoBaseline()
	}
	var notes []string
	base, err := src.Baseline(ctx, model, baseEnv)
	switch {
	case errors.Is(err, ErrNoBaseline):
		base = nil
		notes = append(notes, fmt.Sprintf("No baseline: %v; metrics were checked against absolute bounds only.", err))
	case err != nil:
		return nil, fmt.Errorf("finding the %s baseline: %w", baseEnv, err)
	case base == nil:
		notes = append(notes, "No baseline: metrics were checked against absolute bounds only.")
	}
	var baseExamples *Examples
	if base != nil && o.baselineExamplesFile != "" {
		if baseExamples, err = ReadExamplesFile(o.baselineExamplesFile); err != nil {
			return nil, fmt.Errorf("baseline: %w", err)
		}
	}

	copts := append(append([]Option(nil), opts...), func(o *options) error { o.noBaselineNote = notes; return nil })
	res, err := Compare(model, Current{Metrics: mf.Final, Examples: examples, BaselineExamples: baseExamples, NotMetrics: mf.NotMetrics}, base, copts...)
	if err != nil {
		return nil, err
	}
	if o.hashDatasets {
		for i := range res.Datasets {
			d := &res.Datasets[i]
			if d.Digest != "" || strings.Contains(d.URI, "://") {
				continue
			}
			if dg, err := fileDigest(inDir(model.Dir, d.URI)); err == nil {
				d.Digest = dg
			}
		}
	}
	return res, nil
}

func metricsFileName(ev *spec.Eval) string {
	if ev.MetricsFile == "" {
		return "eval.json"
	}
	return ev.MetricsFile
}

// runFresh runs the eval command so that only what it writes in this run
// can be read afterwards: the metrics file (and the spec's examples file,
// unless one is given) is removed first, as train does for its metrics,
// and a command that writes no metrics file is an error naming it.
func runFresh(ctx context.Context, model *spec.Model, ev *spec.Eval, o *options, metricsPath string) error {
	stale := []string{metricsPath}
	if o.examplesFile == "" && ev.ExamplesFile != "" {
		stale = append(stale, inDir(model.Dir, ev.ExamplesFile))
	}
	for _, p := range stale {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing %s, left from an earlier eval, before running the eval command: %w", p, err)
		}
	}
	if err := runCommand(ctx, model, ev, o); err != nil {
		return err
	}
	if _, err := os.Lstat(metricsPath); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("the eval command %q wrote no metrics file %s: it must write this run's metrics there (eval.metricsFile; its path is in MLSHIP_EVAL_METRICS_FILE)", strings.Join(ev.Command, " "), metricsPath)
	}
	return nil
}

func runCommand(ctx context.Context, model *spec.Model, ev *spec.Eval, o *options) error {
	cmd := exec.CommandContext(ctx, ev.Command[0], ev.Command[1:]...)
	cmd.Dir = model.Dir
	cmd.Stdout = o.stdout
	cmd.Stderr = o.stderr
	cmd.Env = append(os.Environ(),
		"MLSHIP_MODEL="+model.Name,
		"MLSHIP_VERSION="+model.Version,
		"MLSHIP_EVAL_METRICS_FILE="+metricsFileName(ev),
		"MLSHIP_EVAL_EXAMPLES_FILE="+ev.ExamplesFile,
	)
	cmd.Env = append(cmd.Env, o.env...)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("eval command %q in %s failed: %w (run it there by hand to see why)", strings.Join(ev.Command, " "), model.Dir, err)
	}
	return nil
}

func inDir(dir, p string) string {
	if filepath.IsAbs(p) || dir == "" {
		return p
	}
	return filepath.Join(dir, filepath.FromSlash(p))
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

func fileDigest(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", p)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
