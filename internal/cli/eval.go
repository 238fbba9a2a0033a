package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/pipeline"
)

// EvalOptions are the inputs of `mlship eval`.
type EvalOptions struct {
	F *Factory
	pipeline.EvalRequest
	NoFail bool
}

// NewCmdEval builds `mlship eval`.
func NewCmdEval(f *Factory, runF func(*EvalOptions) error) *cobra.Command {
	opts := &EvalOptions{F: f}
	cmd := &cobra.Command{
		Use:   "eval [SPEC_DIR]",
		Short: "Evaluate a model against its gates and the baseline in an environment",
		Long: `Eval runs the spec's eval command (eval.command, an argv run in the spec
directory), which must write eval.metricsFile in this run: a metrics or
examples file left from an earlier run is removed first, and a command that
writes none fails. Or it reads a metrics file (--metrics: a JSON object, or JSON Lines
where the last line wins per metric). It then finds the baseline, the model
currently in the target environment (eval.baseline, default prod): the
<repository>:<env> tag in the registry, its eval attestation or its
dev.mlship.metrics annotation; or --baseline FILE. With no baseline it
checks absolute bounds only and says so.

Each metric is checked against its bounds (min, max), its maximum regression
against the baseline (respecting its direction) and the gates of the target
environment (--environment, default eval.baseline). With per-example results
on both sides (eval.examplesFile and --baseline-examples), each delta gets a
paired bootstrap confidence interval, so a real regression can be told from
noise.

The result (--out, default eval-result.json) is the predicate of the eval
attestation (mlship attest --eval) and the input of mlship report; a
Markdown report is written beside it (--report). Exit status 1 when a gate
fails, unless --no-fail.`,
		Example: `  # run the eval command of examples/iris and compare with what runs in prod
  mlship eval examples/iris

  # metrics written by another tool, baseline from an earlier result
  mlship eval examples/iris --metrics eval.json --baseline prod-eval-result.json

  # per-example paired bootstrap, gates of staging, never fail the job
  mlship eval . --baseline prod.json --baseline-examples prod-examples.jsonl --environment staging --no-fail`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.SpecDir = argOr(args, 0, ".")
			opts.EnvironmentSet = cmd.Flags().Changed("environment")
			if opts.NoBaseline && opts.BaselineFile != "" {
				return &ExitError{Code: 2, Err: fmt.Errorf("--no-baseline and --baseline are exclusive")}
			}
			return runOr(cmd, opts, runF, runEval)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.MetricsFile, "metrics", "", "read metrics from `FILE` instead of running eval.command")
	fl.StringVar(&opts.ExamplesFile, "examples", "", "per-example results of the current model (JSON Lines; default eval.examplesFile)")
	fl.StringVar(&opts.BaselineFile, "baseline", "", "read the baseline from `FILE` (an eval result or a metrics file) instead of the registry")
	fl.StringVar(&opts.BaselineExamplesFile, "baseline-examples", "", "per-example results of the baseline (JSON Lines) for paired bootstrap intervals")
	fl.BoolVar(&opts.NoBaseline, "no-baseline", false, "compare against absolute bounds only")
	fl.StringVar(&opts.Repository, "repository", "", "registry repository holding the baseline (default registry.repository of the spec)")
	fl.StringVar(&opts.Environment, "environment", "", "environment whose gates decide the verdict (default eval.baseline; \"\" for spec bounds only)")
	fl.StringVar(&opts.Out, "out", "eval-result.json", "write the eval result JSON to `FILE`")
	fl.StringVar(&opts.ReportOut, "report", "eval-report.md", "write the Markdown report to `FILE` (\"\" for none)")
	fl.BoolVar(&opts.NoFail, "no-fail", false, "exit 0 even when a gate fails")
	return cmd
}

func runEval(ctx context.Context, opts *EvalOptions) error {
	f := opts.F
	res, err := pipeline.Eval(ctx, f.Run(), opts.EvalRequest)
	if err != nil {
		return exitCode(err)
	}
	if err := show(f, res, func() error { pipeline.WriteEvalText(f.IO.Out, res, opts.Out, opts.ReportOut); return nil }); err != nil {
		return err
	}
	if !res.Passed && !opts.NoFail {
		return &ExitError{Code: 1, Err: fmt.Errorf("eval gates failed: %s", strings.Join(res.Failures(), "; "))}
	}
	return nil
}
