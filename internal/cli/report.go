package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/pipeline"
)

// ReportOptions are the inputs of `mlship report`.
type ReportOptions struct {
	F *Factory
	pipeline.ReportRequest
}

// ReportResult is what `mlship report --output json` prints.
type ReportResult = pipeline.ReportResult

// NewCmdReport builds `mlship report`.
func NewCmdReport(f *Factory, runF func(*ReportOptions) error) *cobra.Command {
	opts := &ReportOptions{F: f}
	cmd := &cobra.Command{
		Use:   "report --eval E.json --drift D.json",
		Short: "Render the eval and drift report and post it on the pull request",
		Long: `Report renders one Markdown report from an eval result (mlship eval --out)
and a drift result (mlship drift --output json): the verdict first, a
metrics table (baseline, current, delta, confidence interval, verdict), a
drift table per column (test, score, threshold, verdict) and small Mermaid
charts. The comment body is written to --out.

Inside GitHub Actions, with ` + gha.VarToken + ` set, on a pull_request event it
posts the report as one sticky comment (found again by a hidden marker per
model and edited in place on re-runs), creates or updates a check run on the
pull request's head commit (conclusion: failure when the eval gates failed,
neutral when only the data drifted, else success) and appends the report to
the job summary. ` + gha.VarAPIURL + ` is honoured (GitHub Enterprise Server).
Reports larger than GitHub's limits are trimmed least important section
first, with a link to the workflow run. --dry-run writes --out and calls
nothing.`,
		Example: `  # render locally, post nothing
  mlship report --eval eval-result.json --drift drift.json --dry-run --out report.md

  # in a workflow step (env: ` + gha.VarToken + `: ${{ github.token }})
  mlship report --eval eval-result.json --drift drift.json --spec examples/iris`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.EvalFile == "" && opts.DriftFile == "" {
				return &ExitError{Code: 2, Err: fmt.Errorf("give --eval FILE, --drift FILE or both")}
			}
			return runOr(cmd, opts, runF, runReport)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.EvalFile, "eval", "", "eval result JSON (`FILE` written by mlship eval --out)")
	fl.StringVar(&opts.DriftFile, "drift", "", "drift result JSON (`FILE` written by mlship drift --output json)")
	fl.StringVar(&opts.Out, "out", "report.md", "write the comment body to `FILE`")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "write --out and call nothing")
	fl.StringVar(&opts.SpecDir, "spec", "", "spec directory, to point check run annotations at the lines of failed metrics")
	fl.StringVar(&opts.Model, "model", "", "model name for the report's marker (default: the eval result's model)")
	fl.StringVar(&opts.CheckName, "check-name", "", "check run name (default \"mlship report (<model>)\")")
	fl.StringVar(&opts.CardRef, "card", "", "link the model card of the candidate `REF` (the package step's ref output)")
	return cmd
}

func runReport(ctx context.Context, opts *ReportOptions) error {
	f := opts.F
	res, err := pipeline.Report(ctx, f.Run(), opts.ReportRequest)
	if err != nil {
		return err
	}
	if f.IO.JSON() {
		return f.IO.PrintJSON(res)
	}
	res.WriteText(f.IO.Out, opts.ReportRequest)
	return nil
}
