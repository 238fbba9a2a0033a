package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/eval"
	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/report"
	"github.com/mlship/mlship/internal/spec"
)

// EvalOptions are the inputs of `mlship eval`.
type EvalOptions struct {
	F       *Factory
	SpecDir string

	MetricsFile          string
	ExamplesFile         string
	BaselineFile         string
	BaselineExamplesFile string
	NoBaseline           bool
	Repository           string
	PlainHTTP            bool
	Environment          string
	environmentSet       bool
	Out                  string
	ReportOut            string
	NoFail               bool
}

// NewCmdEval builds `mlship eval`.
func NewCmdEval(f *Factory, runF func(context.Context, *EvalOptions) error) *cobra.Command {
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
			opts.SpecDir = "."
			if len(args) == 1 {
				opts.SpecDir = args[0]
			}
			opts.environmentSet = cmd.Flags().Changed("environment")
			if opts.NoBaseline && opts.BaselineFile != "" {
				return &ExitError{Code: 2, Err: fmt.Errorf("--no-baseline and --baseline are exclusive")}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runEval(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.MetricsFile, "metrics", "", "read metrics from `FILE` instead of running eval.command")
	fl.StringVar(&opts.ExamplesFile, "examples", "", "per-example results of the current model (JSON Lines; default eval.examplesFile)")
	fl.StringVar(&opts.BaselineFile, "baseline", "", "read the baseline from `FILE` (an eval result or a metrics file) instead of the registry")
	fl.StringVar(&opts.BaselineExamplesFile, "baseline-examples", "", "per-example results of the baseline (JSON Lines) for paired bootstrap intervals")
	fl.BoolVar(&opts.NoBaseline, "no-baseline", false, "compare against absolute bounds only")
	fl.StringVar(&opts.Repository, "repository", "", "registry repository holding the baseline (default registry.repository of the spec)")
	fl.BoolVar(&opts.PlainHTTP, "plain-http", false, "talk to the registry over plain HTTP (loopback registries always are)")
	fl.StringVar(&opts.Environment, "environment", "", "environment whose gates decide the verdict (default eval.baseline; \"\" for spec bounds only)")
	fl.StringVar(&opts.Out, "out", "eval-result.json", "write the eval result JSON to `FILE`")
	fl.StringVar(&opts.ReportOut, "report", "eval-report.md", "write the Markdown report to `FILE` (\"\" for none)")
	fl.BoolVar(&opts.NoFail, "no-fail", false, "exit 0 even when a gate fails")
	return cmd
}

func runEval(ctx context.Context, opts *EvalOptions) error {
	f := opts.F
	model, err := spec.Load(ctx, opts.SpecDir)
	if err != nil {
		return err
	}
	var src eval.BaselineSource
	switch {
	case opts.NoBaseline:
		src = eval.NoBaseline()
	case opts.BaselineFile != "":
		src = eval.FileBaseline{Path: opts.BaselineFile}
	default:
		src = eval.RegistryBaseline{Repository: opts.Repository, PlainHTTP: opts.PlainHTTP, Getenv: f.IO.Getenv}
	}
	ropts := []eval.Option{eval.WithBaselineSource(src), eval.WithOutput(f.IO.ErrOut, f.IO.ErrOut)}
	if opts.MetricsFile != "" {
		ropts = append(ropts, eval.WithMetricsFile(opts.MetricsFile))
	}
	if opts.ExamplesFile != "" {
		ropts = append(ropts, eval.WithExamplesFile(opts.ExamplesFile))
	}
	if opts.BaselineExamplesFile != "" {
		ropts = append(ropts, eval.WithBaselineExamplesFile(opts.BaselineExamplesFile))
	}
	if opts.environmentSet {
		ropts = append(ropts, eval.WithEnvironment(opts.Environment))
	}
	if model.Eval != nil && len(model.Eval.Command) > 0 && opts.MetricsFile == "" {
		f.Actions.Group("mlship eval: " + strings.Join(model.Eval.Command, " "))
	}
	res, err := eval.Run(ctx, model, ropts...)
	f.Actions.EndGroup()
	if err != nil {
		return err
	}

	if err := writeEvalJSON(opts.Out, res); err != nil {
		return err
	}
	md, err := report.Render(report.Input{Eval: res, FullReportURL: workflowRunURL(f.IO.Getenv)}, report.NoLimits)
	if err != nil {
		return err
	}
	if opts.ReportOut != "" {
		if err := writeEvalFile(opts.ReportOut, []byte(md)); err != nil {
			return err
		}
	}

	for _, c := range res.Comparisons {
		if c.Verdict != eval.VerdictFail {
			continue
		}
		an := gha.Annotation{Level: "error", Title: "mlship eval: " + c.Metric, Message: strings.Join(c.Failed, "; ")}
		if loc, ok := eval.LocateMetric(model, c.Metric); ok {
			an.File, an.Line = evalWorkspaceRel(f.IO.Getenv, loc.File), loc.Line
		}
		f.Actions.Annotate(an)
	}
	verdict := "✅ passed"
	if !res.Passed {
		verdict = "❌ failed"
	}
	target := ""
	if res.Environment != "" {
		target = " the `" + res.Environment + "` gates"
	}
	baseline := "no baseline"
	if res.Baseline != nil {
		baseline = "baseline `" + res.Baseline.Environment + "` " + res.Baseline.Version
	}
	if err := f.Actions.AddStepSummary(fmt.Sprintf("### mlship eval: %s %s %s%s (%d metrics, %s)\n", verdict, res.Model.Name, res.Model.Version, target, len(res.Comparisons), baseline)); err != nil {
		return err
	}
	for k, v := range map[string]string{"passed": fmt.Sprint(res.Passed), "result-path": opts.Out, "report-path": opts.ReportOut} {
		if err := f.Actions.SetOutput(k, v); err != nil {
			return err
		}
	}

	if f.IO.JSON() {
		if err := f.IO.PrintJSON(res); err != nil {
			return err
		}
	} else {
		printEval(f, res, opts)
	}
	if !res.Passed && !opts.NoFail {
		return &ExitError{Code: 1, Err: fmt.Errorf("eval gates failed: %s", strings.Join(res.Failures(), "; "))}
	}
	return nil
}

func printEval(f *Factory, res *eval.Result, opts *EvalOptions) {
	for _, c := range res.Comparisons {
		cur, base := "-", "-"
		if c.Current != nil {
			cur = fmt.Sprintf("%.4g", *c.Current)
		}
		if c.Baseline != nil {
			base = fmt.Sprintf("%.4g", *c.Baseline)
		}
		line := fmt.Sprintf("%-6s %-20s current %-10s baseline %-10s", strings.ToUpper(c.Verdict), c.Metric, cur, base)
		if c.CI != nil {
			line += fmt.Sprintf(" CI [%+.4g, %+.4g]", c.CI.Low, c.CI.High)
		}
		if len(c.Failed) > 0 {
			line += "  " + strings.Join(c.Failed, "; ")
		}
		f.IO.Printf("%s\n", strings.TrimRight(line, " "))
	}
	for _, n := range res.Notes {
		f.IO.Printf("note: %s\n", n)
	}
	state := "passed"
	if !res.Passed {
		state = "FAILED"
	}
	f.IO.Printf("eval %s %s: %s; result %s", res.Model.Name, res.Model.Version, state, opts.Out)
	if opts.ReportOut != "" {
		f.IO.Printf(", report %s", opts.ReportOut)
	}
	f.IO.Printf("\n")
}

// workflowRunURL is the URL of the current workflow run ("" outside Actions): where
// the job summary and artifacts of the full report live.
func workflowRunURL(getenv func(string) string) string {
	server, repo, id := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_REPOSITORY"), getenv("GITHUB_RUN_ID")
	if repo == "" || id == "" {
		return ""
	}
	if server == "" {
		server = "https://github.com"
	}
	return strings.TrimSuffix(server, "/") + "/" + repo + "/actions/runs/" + id
}

// evalWorkspaceRel makes p relative to GITHUB_WORKSPACE, as annotations want.
func evalWorkspaceRel(getenv func(string) string, p string) string {
	ws := getenv("GITHUB_WORKSPACE")
	abs, err := filepath.Abs(p)
	if ws == "" || err != nil {
		return filepath.ToSlash(p)
	}
	if rel, err := filepath.Rel(ws, abs); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(p)
}

func writeEvalJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	return writeEvalFile(path, append(b, '\n'))
}

// writeEvalFile writes through a temporary file and a rename, so a reader
// never sees half a file.
func writeEvalFile(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
