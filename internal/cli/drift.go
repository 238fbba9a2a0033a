package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/drift"
	"github.com/mlship/mlship/internal/pipeline"
)

// DriftOptions are the inputs of `mlship drift`.
type DriftOptions struct {
	F *Factory
	pipeline.DriftRequest
}

// NewCmdDrift builds `mlship drift`.
func NewCmdDrift(f *Factory, runF func(*DriftOptions) error) *cobra.Command {
	opts := &DriftOptions{F: f}
	cmd := &cobra.Command{
		Use:   "drift (--reference REF | --reference-profile REF|FILE) --current CUR [--spec DIR]",
		Short: "Compare current data with reference data, column by column",
		Long: `Drift reads a reference and a current data set (CSV or Parquet, by file
extension), types every column as numerical or categorical (inferred, or as
the spec's drift.columns say) and tests each one:

  reference rows <= 1000:  Kolmogorov-Smirnov (numerical), chi-squared
                           (categorical); drift when p < 0.05
  more rows:               normed Wasserstein distance (numerical),
                           Jensen-Shannon distance (categorical); drift when
                           the distance >= 0.1

psi and kl can be chosen per column in the spec. The data set has drifted
when the share of drifted columns reaches --threshold (default 0.5).

Statistics are exact while the numeric values fit --memory-budget (default
1GiB); above it numerical columns are summarised by fixed-bin histograms and
the result says "mode": "approximate". Missing values and categories unseen
in the reference are counted and reported.

With --spec (or a spec in the current directory when no files are given),
the reference, the current data, column overrides, the share threshold and
the memory budget default to the spec's drift section.

Drift exits 0 even when drift is found, unless --fail-on-drift is set.
Inside GitHub Actions it sets the outputs drift, drift-share and result-path
and writes a table to the job summary.`,
		Example: `  # two CSV files
  mlship drift --reference data/train.csv --current data/last-week.csv

  # paths and column overrides from the spec, JSON for the report step
  mlship drift --spec examples/iris --out drift.json --output json

  # the benchmark's statistics: normed Wasserstein, plus KS for comparison
  mlship drift --reference ref.csv --current cur.csv --extra-tests ks --output json

  # against the reference profile packaged with a model (no training data)
  mlship drift --reference-profile ghcr.io/acme/iris:prod --current data/last-week.csv

  # fail the job when the data set drifted
  mlship drift --reference ref.parquet --current cur.parquet --fail-on-drift`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("threshold") {
				opts.Threshold = 0
			}
			return runOr(cmd, opts, runF, runDrift)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Reference, "reference", "", "reference data file (CSV, Parquet or JSON Lines)")
	fl.StringVar(&opts.ReferenceProfile, "reference-profile", "", "reference profile in place of the reference data: a profile file, or a model REF whose packaged profile is read")
	fl.StringVar(&opts.ProfileOut, "profile-out", "", "write the reference's profile (what package/push attach) to this file; without --current, only that")
	fl.StringVar(&opts.Current, "current", "", "current data file (CSV or Parquet)")
	fl.StringVar(&opts.SpecDir, "spec", "", "model spec directory whose drift section gives defaults")
	fl.StringVar(&opts.Out, "out", "", "also write the JSON result to this file (for `mlship report`)")
	fl.StringVar(&opts.MemoryBudget, "memory-budget", "", "memory for exact statistics, e.g. 512MiB or 4GiB (default 1GiB)")
	fl.Float64Var(&opts.Threshold, "threshold", drift.DefaultShareThreshold, "share of drifted columns that makes the data set drifted")
	fl.BoolVar(&opts.FailOnDrift, "fail-on-drift", false, "exit 1 when the data set drifted")
	fl.IntVar(&opts.Workers, "workers", 0, "columns tested in parallel (default: number of CPUs)")
	fl.StringSliceVar(&opts.ExtraTests, "extra-tests", nil, "also compute these tests where they apply (reported, not deciding drift), e.g. ks,psi")
	return cmd
}

func runDrift(ctx context.Context, opts *DriftOptions) error {
	f := opts.F
	res, err := pipeline.Drift(ctx, f.Run(), opts.DriftRequest)
	if res != nil {
		if err := show(f, res, func() error { pipeline.WriteDriftText(f.IO.Out, f.IO.ErrOut, res); return nil }); err != nil {
			return err
		}
	}
	return exitCode(err)
}
