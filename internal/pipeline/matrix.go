package pipeline

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/mlship/mlship/internal/train"
)

// MatrixRequest is `mlship matrix`: the sweep of the spec in SpecDir.
type MatrixRequest struct{ SpecDir string }

// MatrixResult is the sweep's GitHub Actions matrix.
type MatrixResult struct {
	Matrix *train.Matrix
	// Line is the matrix as one line of JSON (the step output).
	Line string
}

// Matrix expands the spec's sweep into a matrix and sets the step outputs
// (matrix, count) and the job summary.
func Matrix(ctx context.Context, r *Run, req MatrixRequest) (*MatrixResult, error) {
	m, err := LoadSpec(ctx, r, req.SpecDir)
	if err != nil {
		return nil, err
	}
	mx, err := train.BuildMatrix(m)
	if err != nil {
		return nil, err
	}
	line, err := mx.MarshalCompact()
	if err != nil {
		return nil, err
	}
	if err := r.Actions.SetOutput("matrix", line); err != nil {
		return nil, err
	}
	if err := r.Actions.SetOutput("count", fmt.Sprint(len(mx.Include))); err != nil {
		return nil, err
	}
	var b strings.Builder
	runs := "runs"
	if len(mx.Include) == 1 {
		runs = "run"
	}
	fmt.Fprintf(&b, "### mlship matrix: `%s`, %d %s\n\n", m.Name, len(mx.Include), runs)
	for _, e := range mx.Include {
		fmt.Fprintf(&b, "- `%s`: `%s`\n", e.ID, e.Name)
	}
	if err := r.Summary(b.String()); err != nil {
		return nil, err
	}
	return &MatrixResult{Matrix: mx, Line: line}, nil
}

// MatrixSelectRequest is `mlship matrix select`: the best of the runs
// under Paths by Metric and Goal (default: the spec's train.sweep).
type MatrixSelectRequest struct {
	Paths   []string
	Metric  string
	Goal    string
	SpecDir string
}

// MatrixSelectResult is the selection and the best run's parameters
// (name=value, sorted).
type MatrixSelectResult struct {
	Selection *train.Selection
	Params    []string
}

// MatrixSelect picks the best run, logs the runs it skipped and sets the
// step outputs (best-dir, best-run-path, best-value, best-input-digest,
// best-params) and the job summary. A selection that cannot start (no
// metric, a bad goal) is a UsageError.
func MatrixSelect(ctx context.Context, r *Run, req MatrixSelectRequest) (*MatrixSelectResult, error) {
	metric, goal := req.Metric, req.Goal
	if req.SpecDir != "" {
		m, err := LoadSpec(ctx, r, req.SpecDir)
		if err != nil {
			return nil, err
		}
		if m.Train != nil && m.Train.Sweep != nil {
			if metric == "" {
				metric = m.Train.Sweep.Metric
			}
			if goal == "" {
				goal = m.Train.Sweep.Goal
			}
		}
	}
	sel, err := train.Select(req.Paths, metric, goal)
	if err != nil {
		if sel == nil {
			return nil, usage(err)
		}
		logSkipped(r, sel)
		return nil, err
	}
	best := sel.Best
	params := formatParams(best.Hyperparameters)
	outputs := map[string]string{
		"best-dir": filepath.Dir(best.Path), "best-run-path": best.Path, "best-value": fmt.Sprint(best.Value),
		"best-input-digest": best.InputDigest, "best-params": strings.Join(params, "\n"),
	}
	for _, k := range sortedKeys(outputs) {
		if err := r.Actions.SetOutput(k, outputs[k]); err != nil {
			return nil, err
		}
	}
	if err := r.Summary(matrixSelectSummary(sel)); err != nil {
		return nil, err
	}
	logSkipped(r, sel)
	return &MatrixSelectResult{Selection: sel, Params: params}, nil
}

func logSkipped(r *Run, sel *train.Selection) {
	for _, s := range sel.Skipped {
		r.Logf("skipped %s\n", s)
	}
}

// formatParams is hyperparameters as name=value, sorted by name.
func formatParams(hp map[string]any) []string {
	var ps []string
	for _, k := range sortedKeys(hp) {
		ps = append(ps, train.FormatParam(k, hp[k]))
	}
	return ps
}

func matrixSelectSummary(sel *train.Selection) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### mlship matrix select: best `%s` (%s)\n\n| run | %s | hyperparameters |\n| --- | --- | --- |\n", sel.Metric, sel.Goal, sel.Metric)
	for _, run := range sel.Runs {
		mark := ""
		if run.Path == sel.Best.Path {
			mark = " 🏆"
		}
		fmt.Fprintf(&b, "| `%s`%s | %.6g | `%s` |\n", run.Path, mark, run.Value, strings.Join(formatParams(run.Hyperparameters), " "))
	}
	for _, s := range sel.Skipped {
		fmt.Fprintf(&b, "\n- skipped: %s", s)
	}
	b.WriteString("\n")
	return b.String()
}
