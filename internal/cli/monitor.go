package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/pipeline"
)

// MonitorOptions are the inputs of `mlship monitor`.
type MonitorOptions struct {
	F      *Factory
	Policy PolicyFlags
	pipeline.MonitorRequest
}

// NewCmdMonitor builds `mlship monitor`.
func NewCmdMonitor(f *Factory, runF func(*MonitorOptions) error) *cobra.Command {
	opts := &MonitorOptions{F: f}
	cmd := &cobra.Command{
		Use:   "monitor [SPEC_DIR] --environment ENV --current PATH...",
		Short: "Check production samples against what an environment runs; keep one alert issue",
		Long: `Monitor resolves the environment's tag (REPOSITORY:ENV) to a digest, verifies
it as pull --verify --spec SPEC_DIR --env ENV would (signature, the
environment's attestations and gates; --key or the keyless flags replace
only who may sign), reads the reference profile packaged with that model
(never the weights), and checks the samples for drift per column and for
the data set. The samples are CSV, Parquet or JSON Lines files, several or
globs, gzip-compressed or not; they are streamed in bounded memory
(--memory-budget).

When the spec's monitor section names prediction and label columns, the
spec's eval metrics are computed on the sample and checked against the
environment's gates (and eval.metrics bounds); a gate that cannot be
checked fails.

The run alerts when the data set drifted or a gate failed. In GitHub
Actions it keeps one issue per model and environment (found again by a
hidden marker): opened when an alert starts, updated on every run with a
short history, closed with a comment when the sample is healthy again;
--dispatch WORKFLOW (or monitor.alert.dispatch) starts a retraining
workflow when an alert opens. Step outputs: alert, drifted-columns,
report-path, digest; a job summary every run.

Monitor exits 0 when it alerts, unless --fail-on-alert (or
monitor.alert.failOnAlert).`,
		Example: `  # what prod runs, against last week's sample
  mlship monitor . --environment prod --current 'samples/2026-11-*.csv.gz'

  # JSON for scripts; the verification key replaces the spec's signer
  mlship monitor examples/iris --environment staging --current data/current.csv --key cosign.pub --output json

  # a red run and a retraining workflow when an alert opens
  mlship monitor . --environment prod --current sample.parquet --fail-on-alert --dispatch retrain.yml`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.SpecDir = argOr(args, 0, ".")
			return runOr(cmd, opts, runF, runMonitor)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Environment, "environment", "e", "", "environment whose model is monitored (its tag REPOSITORY:ENV)")
	fl.StringArrayVar(&opts.Current, "current", nil, "production sample: a file or glob (repeatable; CSV, Parquet, JSON Lines, .gz); default monitor.current")
	fl.StringVar(&opts.Repository, "repository", "", "registry repository HOST/REPO (or oci:PATH) overriding the spec's")
	fl.StringVar(&opts.Out, "out", "", "write the JSON report to this file (the report-path output)")
	fl.StringVar(&opts.MemoryBudget, "memory-budget", "", "memory for exact statistics, e.g. 512MiB (default: the spec's, else 1GiB)")
	fl.IntVar(&opts.Workers, "workers", 0, "columns tested in parallel (default: number of CPUs)")
	fl.StringVar(&opts.Dispatch, "dispatch", "", "workflow file started (workflow_dispatch) when an alert opens, e.g. retrain.yml")
	fl.BoolVar(&opts.FailOnAlert, "fail-on-alert", false, "exit 1 when the run alerts")
	fl.BoolVar(&opts.NoIssue, "no-issue", false, "in Actions, do not open, update or close the alert issue")
	fl.StringArrayVar(&opts.Policy.Keys, "key", nil, "trusted cosign public key (file or env://VAR), replacing the spec's signer (repeatable)")
	fl.StringVar(&opts.Policy.Identity, "certificate-identity", "", "keyless signer identity replacing the spec's")
	fl.StringVar(&opts.Policy.IdentityRegexp, "certificate-identity-regexp", "", "keyless signer identity regexp replacing the spec's")
	fl.StringVar(&opts.Policy.Issuer, "certificate-oidc-issuer", "", "keyless OIDC issuer")
	fl.StringVar(&opts.Policy.IssuerRegexp, "certificate-oidc-issuer-regexp", "", "keyless OIDC issuer regexp")
	fl.BoolVar(&opts.Policy.InsecureIgnoreSCT, "insecure-ignore-sct", false, "keyless: skip the certificate-transparency check")
	return cmd
}

func runMonitor(ctx context.Context, opts *MonitorOptions) error {
	f := opts.F
	req := opts.MonitorRequest
	req.Policy = opts.Policy.PolicyRequest
	res, err := pipeline.Monitor(ctx, f.Run(), req)
	if res != nil {
		if err := showText(f, res, func(w io.Writer) error { pipeline.WriteMonitorText(w, res); return nil }); err != nil {
			return err
		}
	}
	return exitCode(err)
}
