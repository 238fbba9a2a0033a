package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/pipeline"
)

// MatrixOptions are the inputs of `mlship matrix`.
type MatrixOptions struct {
	F *Factory
	pipeline.MatrixRequest
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
			opts.SpecDir = argOr(args, 0, ".")
			return runOr(cmd, opts, runF, runMatrix)
		},
	}
	cmd.AddCommand(NewCmdMatrixSelect(f, nil))
	return cmd
}

func runMatrix(ctx context.Context, opts *MatrixOptions) error {
	f := opts.F
	res, err := pipeline.Matrix(ctx, f.Run(), opts.MatrixRequest)
	if err != nil {
		return exitCode(err)
	}
	return show(f, res.Matrix, func() error { f.IO.Printf("%s\n", res.Line); return nil })
}

// MatrixSelectOptions are the inputs of `mlship matrix select`.
type MatrixSelectOptions struct {
	F *Factory
	pipeline.MatrixSelectRequest
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
			return runOr(cmd, opts, runF, runMatrixSelect)
		},
	}
	cmd.Flags().StringVar(&opts.Metric, "metric", "", "metric to compare (default: train.sweep.metric of --spec)")
	cmd.Flags().StringVar(&opts.Goal, "goal", "", "maximize or minimize (default: train.sweep.goal of --spec, else maximize)")
	cmd.Flags().StringVar(&opts.SpecDir, "spec", "", "spec directory to read the sweep's metric and goal from")
	return cmd
}

func runMatrixSelect(ctx context.Context, opts *MatrixSelectOptions) error {
	f := opts.F
	res, err := pipeline.MatrixSelect(ctx, f.Run(), opts.MatrixSelectRequest)
	if err != nil {
		return exitCode(err)
	}
	return show(f, res.Selection, func() error { res.WriteText(f.IO.Out); return nil })
}
