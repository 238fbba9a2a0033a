package cli

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/pipeline"
	"github.com/mlship/mlship/internal/train"
)

// TrainOptions are the inputs of `mlship train`.
type TrainOptions struct {
	F *Factory
	pipeline.TrainRequest
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
			opts.SpecDir = argOr(args, 0, ".")
			opts.SeedSet = cmd.Flags().Changed("seed")
			return runOr(cmd, opts, runF, runTrain)
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
	req := opts.TrainRequest
	req.Version = f.Version
	out, err := pipeline.Train(ctx, f.Run(), req)
	if f.IO.JSON() && out != nil {
		switch {
		case out.DigestOnly:
			_ = f.IO.PrintJSON(map[string]any{"model": out.Model, "inputDigest": out.InputDigest, "hyperparameters": out.Hyperparameters})
		case out.Status == pipeline.TrainStatusNotStarted:
			_ = f.IO.PrintJSON(map[string]any{"model": out.Model, "status": out.Status, "error": out.Error})
		default:
			_ = f.IO.PrintJSON(out)
		}
	}
	var ee *train.ExitError
	switch {
	case errors.As(err, &ee) && out != nil && out.Status != pipeline.TrainStatusNotStarted:
		return &ExitError{Code: ee.Code, Err: err} // the training's own status
	case err != nil:
		return exitCode(err)
	case !f.IO.JSON():
		out.WriteText(f.IO.Out)
	}
	return nil
}
