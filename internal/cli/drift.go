package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/drift"
	"github.com/mlship/mlship/internal/report"
	"github.com/mlship/mlship/internal/spec"
)

// DriftOptions are the inputs of `mlship drift`.
type DriftOptions struct {
	F *Factory

	Reference    string
	Current      string
	SpecDir      string
	Out          string
	MemoryBudget string
	Threshold    float64
	FailOnDrift  bool
	Workers      int
	ExtraTests   []string
}

// NewCmdDrift builds `mlship drift`.
func NewCmdDrift(f *Factory, runF func(*DriftOptions) error) *cobra.Command {
	opts := &DriftOptions{F: f}
	cmd := &cobra.Command{
		Use:   "drift --reference REF --current CUR [--spec DIR]",
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

  # fail the job when the data set drifted
  mlship drift --reference ref.parquet --current cur.parquet --fail-on-drift`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("threshold") {
				opts.Threshold = 0
			}
			if runF != nil {
				return runF(opts)
			}
			return runDrift(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Reference, "reference", "", "reference data file (CSV or Parquet)")
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
	cfg, ref, cur, err := driftInputs(ctx, opts)
	if err != nil {
		return err
	}
	res, err := drift.Compare(ctx, drift.File(ref), drift.File(cur), cfg)
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	if opts.Out != "" {
		if err := writeDriftJSON(opts.Out, res); err != nil {
			return err
		}
	}
	for _, o := range []struct{ k, v string }{
		{"drift", strconv.FormatBool(res.DatasetDrift)},
		{"drift-share", strconv.FormatFloat(res.DriftShare, 'f', -1, 64)},
		{"result-path", opts.Out},
	} {
		if err := f.Actions.SetOutput(o.k, o.v); err != nil {
			return err
		}
	}
	if err := f.Actions.AddStepSummary(DriftSummary(res)); err != nil {
		return err
	}
	if f.IO.JSON() {
		if err := f.IO.PrintJSON(res); err != nil {
			return err
		}
	} else {
		printDriftText(f, res)
	}
	if res.DatasetDrift && opts.FailOnDrift {
		return &ExitError{Code: 1, Err: fmt.Errorf("data drift: %d of %d columns drifted (share %.2f >= %.2f)", res.DriftedColumns, len(res.Columns), res.DriftShare, res.ShareThreshold)}
	}
	return nil
}

// driftInputs merges flags and the spec's drift section.
func driftInputs(ctx context.Context, opts *DriftOptions) (drift.Config, string, string, error) {
	var cfg drift.Config
	ref, cur := opts.Reference, opts.Current
	specDir := opts.SpecDir
	if specDir == "" && (ref == "" || cur == "") && hasSpec(".") {
		specDir = "."
	}
	if specDir != "" {
		m, err := spec.Load(ctx, specDir)
		if err != nil {
			return cfg, "", "", &ExitError{Code: 1, Err: fmt.Errorf("loading the spec for its drift section: %w", err)}
		}
		if m.Drift != nil {
			if cfg, err = drift.ConfigFromSpec(m.Drift); err != nil {
				return cfg, "", "", &ExitError{Code: 1, Err: fmt.Errorf("spec %s: %w", specDir, err)}
			}
			if ref == "" && m.Drift.Reference != "" {
				ref = filepath.Join(m.Dir, m.Drift.Reference)
			}
			if cur == "" && m.Drift.Current != "" {
				cur = filepath.Join(m.Dir, m.Drift.Current)
			}
		}
	}
	if ref == "" || cur == "" {
		return cfg, "", "", &ExitError{Code: 2, Err: errors.New("--reference and --current are required (or --spec DIR whose spec has a drift section)")}
	}
	if opts.MemoryBudget != "" {
		b, err := drift.ParseBytes(opts.MemoryBudget)
		if err != nil {
			return cfg, "", "", &ExitError{Code: 2, Err: fmt.Errorf("--memory-budget: %w", err)}
		}
		cfg.MemoryBudget = b
	}
	if opts.Threshold != 0 {
		if opts.Threshold < 0 || opts.Threshold > 1 {
			return cfg, "", "", &ExitError{Code: 2, Err: fmt.Errorf("--threshold %v: use a share in (0, 1]", opts.Threshold)}
		}
		cfg.ShareThreshold = opts.Threshold
	}
	cfg.Workers = opts.Workers
	cfg.ExtraTests = opts.ExtraTests
	return cfg, ref, cur, nil
}

func hasSpec(dir string) bool { return spec.IsSpecDir(dir) }

func writeDriftJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the result: %w", err)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func driftVerdict(res *drift.Result) string {
	if res.DatasetDrift {
		return fmt.Sprintf("Data drift detected: %d of %d columns drifted (share %.2f, threshold %.2f)", res.DriftedColumns, len(res.Columns), res.DriftShare, res.ShareThreshold)
	}
	return fmt.Sprintf("No data drift: %d of %d columns drifted (share %.2f, threshold %.2f)", res.DriftedColumns, len(res.Columns), res.DriftShare, res.ShareThreshold)
}

func fmtScore(x float64) string { return strconv.FormatFloat(x, 'g', 4, 64) }

func printDriftText(f *Factory, res *drift.Result) {
	if len(res.UnknownColumns) > 0 {
		f.IO.Logf("warning: drift.columns names columns that are not in the reference data: %s\n", strings.Join(res.UnknownColumns, ", "))
	}
	f.IO.Printf("%s\n", driftVerdict(res))
	f.IO.Printf("reference %s (%d rows), current %s (%d rows), %s statistics\n\n", res.Reference.Path, res.Reference.Rows, res.Current.Path, res.Current.Rows, res.Mode)
	f.IO.Printf("%-24s %-12s %-14s %12s %12s %10s  %s\n", "COLUMN", "TYPE", "TEST", "STATISTIC", "P-VALUE", "THRESHOLD", "DRIFT")
	for _, c := range res.Columns {
		p := "-"
		if c.PValue != nil {
			p = fmtScore(*c.PValue)
		}
		d := "no"
		if c.Drift {
			d = "YES"
		}
		f.IO.Printf("%-24s %-12s %-14s %12s %12s %10s  %s%s\n", c.Name, c.Type, c.Test, fmtScore(c.Statistic), p, fmtScore(c.Threshold), d, driftColumnExtra(c))
	}
}

func driftColumnExtra(c drift.ColumnResult) string {
	var parts []string
	if c.Missing.Reference+c.Missing.Current > 0 {
		parts = append(parts, fmt.Sprintf("missing %d/%d", c.Missing.Reference, c.Missing.Current))
	}
	if c.UnseenCount > 0 {
		parts = append(parts, fmt.Sprintf("%d unseen categories (%d rows)", c.UnseenCount, c.UnseenRows))
	}
	if c.Note != "" {
		parts = append(parts, c.Note)
	}
	if len(parts) == 0 {
		return ""
	}
	return "  (" + strings.Join(parts, "; ") + ")"
}

// DriftSummary is the job summary Markdown of a drift result.
func DriftSummary(res *drift.Result) string {
	var b strings.Builder
	icon := "✅"
	if res.DatasetDrift {
		icon = "⚠️"
	}
	fmt.Fprintf(&b, "### %s mlship drift\n\n%s. Statistics: %s.\n\n", icon, driftVerdict(res), res.Mode)
	b.WriteString("| column | type | test | statistic | p-value | threshold | drift |\n|---|---|---|---:|---:|---:|---|\n")
	for _, c := range res.Columns {
		p := ""
		if c.PValue != nil {
			p = fmtScore(*c.PValue)
		}
		d := "no"
		if c.Drift {
			d = "**yes**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s%s |\n", report.Escape(c.Name), c.Type, c.Test, fmtScore(c.Statistic), p, fmtScore(c.Threshold), d, report.Escape(driftColumnExtra(c)))
	}
	return b.String()
}
