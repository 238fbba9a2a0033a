package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/train"
)

// MatrixOptions are the inputs of `mlship matrix`.
type MatrixOptions struct {
	F       *Factory
	SpecDir string
}

// NewCmdMatrix builds `mlship matrix` and `mlship matrix select`.
func NewCmdMatrix(f *Factory, runF func(*MatrixOptions) error) *cobra.Command {
	opts := &MatrixOptions{F: f}
	cmd := &cobra.Command{
		Use:   "matrix [SPEC_DIR]",
		Short: "Expand the spec's sweep into a GitHub Actions matrix",
		Long: `Matrix prints the spec's train.sweep as a GitHub Actions matrix, one line of
JSON for strategy.matrix: ${{ fromJSON(...) }}: an object whose include
list has one entry per run (the cartesian product of sweep.parameters).
A spec without a sweep gives one entry. Each entry has:

  id               run-<n>, for artifact names
  name             learning_rate=0.1,l2=0.001
  params           the overrides, one name=value per line (the params input
                   of actions/train, or mlship train --param)
  hyperparameters  the swept values by name
  runs-on          train.runner.labels
  gpus             train.gpu.count

Inside Actions the matrix is also the step output "matrix". After the
sweep, "mlship matrix select" picks the best run.`,
		Example: `  mlship matrix examples/iris

  # in a workflow
  #   - id: m
  #     run: echo "matrix=$(mlship matrix .)" >> "$` + gha.VarOutput + `"
  #   ...
  #   strategy:
  #     matrix: ${{ fromJSON(needs.sweep.outputs.matrix) }}`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.SpecDir = "."
			if len(args) == 1 {
				opts.SpecDir = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return runMatrix(cmd.Context(), opts)
		},
	}
	cmd.AddCommand(NewCmdMatrixSelect(f, nil))
	return cmd
}

func runMatrix(ctx context.Context, opts *MatrixOptions) error {
	f := opts.F
	m, err := trainLoadSpec(ctx, f, opts.SpecDir)
	if err != nil {
		return err
	}
	mx, err := train.BuildMatrix(m)
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	line, err := mx.MarshalCompact()
	if err != nil {
		return err
	}
	if err := f.Actions.SetOutput("matrix", line); err != nil {
		return err
	}
	if err := f.Actions.SetOutput("count", fmt.Sprint(len(mx.Include))); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### mlship matrix: `%s`, %d run%s\n\n", m.Name, len(mx.Include), plural(len(mx.Include)))
	for _, e := range mx.Include {
		fmt.Fprintf(&b, "- `%s`: `%s`\n", e.ID, e.Name)
	}
	if err := f.Actions.AddStepSummary(b.String()); err != nil {
		return err
	}
	if f.IO.JSON() {
		return f.IO.PrintJSON(mx)
	}
	f.IO.Printf("%s\n", line)
	return nil
}

// MatrixSelectOptions are the inputs of `mlship matrix select`.
type MatrixSelectOptions struct {
	F       *Factory
	Paths   []string
	Metric  string
	Goal    string
	SpecDir string
}

// NewCmdMatrixSelect builds `mlship matrix select`.
func NewCmdMatrixSelect(f *Factory, runF func(*MatrixSelectOptions) error) *cobra.Command {
	opts := &MatrixSelectOptions{F: f}
	cmd := &cobra.Command{
		Use:   "select PATH...",
		Short: "Pick the best run of a sweep by a metric",
		Long: `Select reads the run.json records under each PATH (a run.json file or a
directory searched recursively, such as the directory actions/download-artifact
fills with one folder per matrix entry) and picks the run with the best
final value of the metric. Failed runs and runs without the metric are
skipped; ties go to the first path in lexical order.

The metric and goal default to train.sweep.metric and train.sweep.goal of
the spec given with --spec. Outputs: best-dir, best-run-path, best-value,
best-input-digest, best-params.`,
		Example: `  mlship matrix select --metric accuracy --goal maximize runs/
  mlship matrix select --spec examples/iris runs/ --output json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Paths = args
			if runF != nil {
				return runF(opts)
			}
			return runMatrixSelect(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Metric, "metric", "", "metric to compare (default: train.sweep.metric of --spec)")
	cmd.Flags().StringVar(&opts.Goal, "goal", "", "maximize or minimize (default: train.sweep.goal of --spec, else maximize)")
	cmd.Flags().StringVar(&opts.SpecDir, "spec", "", "spec directory to read the sweep's metric and goal from")
	return cmd
}

func runMatrixSelect(ctx context.Context, opts *MatrixSelectOptions) error {
	f := opts.F
	metric, goal := opts.Metric, opts.Goal
	if opts.SpecDir != "" {
		m, err := trainLoadSpec(ctx, f, opts.SpecDir)
		if err != nil {
			return err
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
	sel, err := train.Select(opts.Paths, metric, goal)
	if err != nil {
		if sel == nil {
			return &ExitError{Code: 2, Err: err}
		}
		for _, s := range sel.Skipped {
			f.IO.Logf("skipped %s\n", s)
		}
		return &ExitError{Code: 1, Err: err}
	}
	best := sel.Best
	var params []string
	for _, k := range sortedParamKeys(best.Hyperparameters) {
		params = append(params, train.FormatParam(k, best.Hyperparameters[k]))
	}
	outputs := map[string]string{
		"best-dir": filepath.Dir(best.Path), "best-run-path": best.Path, "best-value": fmt.Sprint(best.Value),
		"best-input-digest": best.InputDigest, "best-params": strings.Join(params, "\n"),
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
	if err := f.Actions.AddStepSummary(matrixSelectSummary(sel)); err != nil {
		return err
	}
	for _, s := range sel.Skipped {
		f.IO.Logf("skipped %s\n", s)
	}
	if f.IO.JSON() {
		return f.IO.PrintJSON(sel)
	}
	f.IO.Printf("best %s = %g (%s) of %d runs: %s\n", sel.Metric, best.Value, sel.Goal, len(sel.Runs), best.Path)
	if len(params) > 0 {
		f.IO.Printf("params %s\n", strings.Join(params, " "))
	}
	return nil
}

func matrixSelectSummary(sel *train.Selection) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### mlship matrix select: best `%s` (%s)\n\n| run | %s | hyperparameters |\n| --- | --- | --- |\n", sel.Metric, sel.Goal, sel.Metric)
	for _, r := range sel.Runs {
		mark := ""
		if r.Path == sel.Best.Path {
			mark = " 🏆"
		}
		var ps []string
		for _, k := range sortedParamKeys(r.Hyperparameters) {
			ps = append(ps, train.FormatParam(k, r.Hyperparameters[k]))
		}
		fmt.Fprintf(&b, "| `%s`%s | %.6g | `%s` |\n", r.Path, mark, r.Value, strings.Join(ps, " "))
	}
	for _, s := range sel.Skipped {
		fmt.Fprintf(&b, "\n- skipped: %s", s)
	}
	b.WriteString("\n")
	return b.String()
}
