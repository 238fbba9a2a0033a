package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/eval"
	"github.com/mlship/mlship/internal/ghapi"
	"github.com/mlship/mlship/internal/report"
	"github.com/mlship/mlship/internal/spec"
)

// ReportOptions are the inputs of `mlship report`.
type ReportOptions struct {
	F         *Factory
	EvalFile  string
	DriftFile string
	Out       string
	DryRun    bool
	SpecDir   string
	Model     string
	CheckName string
}

// ReportResult is what `mlship report --output json` prints.
type ReportResult struct {
	ReportPath     string `json:"reportPath"`
	Conclusion     string `json:"conclusion"`
	Posted         bool   `json:"posted"`
	CommentID      int64  `json:"commentId,omitempty"`
	CommentCreated bool   `json:"commentCreated,omitempty"`
	CheckRunID     int64  `json:"checkRunId,omitempty"`
	Trimmed        bool   `json:"trimmed"`
}

// NewCmdReport builds `mlship report`.
func NewCmdReport(f *Factory, runF func(context.Context, *ReportOptions) error) *cobra.Command {
	opts := &ReportOptions{F: f}
	cmd := &cobra.Command{
		Use:   "report --eval E.json --drift D.json",
		Short: "Render the eval and drift report and post it on the pull request",
		Long: `Report renders one Markdown report from an eval result (mlship eval --out)
and a drift result (mlship drift --output json): the verdict first, a
metrics table (baseline, current, delta, confidence interval, verdict), a
drift table per column (test, score, threshold, verdict) and small Mermaid
charts. The comment body is written to --out.

Inside GitHub Actions, with GITHUB_TOKEN set, on a pull_request event it
posts the report as one sticky comment (found again by a hidden marker per
model and edited in place on re-runs), creates or updates a check run on the
pull request's head commit (conclusion: failure when the eval gates failed,
neutral when only the data drifted, else success) and appends the report to
the job summary. GITHUB_API_URL is honoured (GitHub Enterprise Server).
Reports larger than GitHub's limits are trimmed least important section
first, with a link to the workflow run. --dry-run writes --out and calls
nothing.`,
		Example: `  # render locally, post nothing
  mlship report --eval eval-result.json --drift drift.json --dry-run --out report.md

  # in a workflow step (env: GITHUB_TOKEN: ${{ github.token }})
  mlship report --eval eval-result.json --drift drift.json --spec examples/iris`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.EvalFile == "" && opts.DriftFile == "" {
				return &ExitError{Code: 2, Err: fmt.Errorf("give --eval FILE, --drift FILE or both")}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runReport(cmd.Context(), opts)
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
	return cmd
}

func runReport(ctx context.Context, opts *ReportOptions) error {
	f := opts.F
	getenv := f.IO.Getenv
	in := report.Input{Model: opts.Model, FullReportURL: workflowRunURL(getenv)}
	if in.Model == "" && opts.EvalFile == "" && opts.SpecDir != "" {
		// A drift-only report is named after the spec's model, so that it
		// shares the model's sticky comment.
		if m, err := spec.Load(ctx, opts.SpecDir); err == nil {
			in.Model = m.Name
		}
	}
	if opts.EvalFile != "" {
		r, err := eval.ReadResultFile(opts.EvalFile)
		if err != nil {
			return err
		}
		in.Eval = r
	}
	if opts.DriftFile != "" {
		d, err := report.ReadDriftFile(opts.DriftFile)
		if err != nil {
			return err
		}
		in.Drift = d
	}
	body, err := report.Render(in, report.CommentLimits)
	if err != nil {
		return err
	}
	full, err := report.Render(in, report.StepSummaryLimits)
	if err != nil {
		return err
	}
	res := ReportResult{ReportPath: opts.Out, Conclusion: in.Conclusion(), Trimmed: body != full}
	if err := writeEvalFile(opts.Out, []byte(body)); err != nil {
		return err
	}

	if !opts.DryRun {
		if err := f.Actions.AddStepSummary(full); err != nil {
			return err
		}
		posted, err := publishReport(ctx, f, opts, in, &res)
		if err != nil {
			return err
		}
		res.Posted = posted
	}

	for k, v := range map[string]string{"report-path": opts.Out, "conclusion": res.Conclusion} {
		if err := f.Actions.SetOutput(k, v); err != nil {
			return err
		}
	}
	if f.IO.JSON() {
		return f.IO.PrintJSON(res)
	}
	f.IO.Printf("%s\n", report.Headline(in))
	switch {
	case opts.DryRun:
		f.IO.Printf("dry run: wrote %s (%d bytes), posted nothing\n", opts.Out, len(body))
	case res.Posted:
		f.IO.Printf("posted: comment %d, check run %d (%s); wrote %s\n", res.CommentID, res.CheckRunID, res.Conclusion, opts.Out)
	default:
		f.IO.Printf("wrote %s\n", opts.Out)
	}
	return nil
}

// publishReport posts the comment and check run when the environment
// allows: a token, a repository and a pull request event. It says why it
// did not otherwise, and reports whether it posted.
func publishReport(ctx context.Context, f *Factory, opts *ReportOptions, in report.Input, res *ReportResult) (bool, error) {
	getenv := f.IO.Getenv
	if getenv("GITHUB_TOKEN") == "" {
		f.IO.Logf("GITHUB_TOKEN is not set: not posting the report (pass env: GITHUB_TOKEN: ${{ github.token }} to post it)\n")
		return false, nil
	}
	env, err := ghapi.FromEnv(getenv)
	if err != nil {
		return false, fmt.Errorf("reading the workflow environment to post the report: %w", err)
	}
	if env.PullRequest == 0 {
		f.IO.Logf("event %q has no pull request: not posting a comment or check run (the job summary has the report)\n", env.EventName)
		return false, nil
	}
	client, err := ghapi.NewFromEnv(ctx, getenv)
	if err != nil {
		return false, err
	}
	t := report.Target{Owner: env.Owner, Repo: env.Repo, PullRequest: env.PullRequest, HeadSHA: env.HeadSHA,
		CheckName: opts.CheckName, DetailsURL: env.RunURL}
	if opts.SpecDir != "" && in.Eval != nil && in.Eval.Model.Name != "" {
		// Annotations are a convenience: a spec that cannot be loaded here
		// must not keep the report from being posted.
		anns, err := reportAnnotations(ctx, opts.SpecDir, in.Eval, getenv)
		if err != nil {
			f.IO.Logf("warning: no annotations: %v\n", err)
		}
		t.Annotations = anns
	}
	p, err := report.Publish(ctx, client, in, t)
	if err != nil {
		return false, err
	}
	res.CommentID, res.CommentCreated, res.CheckRunID = p.CommentID, p.CommentCreated, p.CheckRunID
	return true, nil
}

// reportAnnotations points a failure annotation at the spec line of each
// failed metric.
func reportAnnotations(ctx context.Context, dir string, res *eval.Result, getenv func(string) string) ([]ghapi.Annotation, error) {
	model, err := spec.Load(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("loading the spec for annotations (--spec %s): %w", dir, err)
	}
	var out []ghapi.Annotation
	for _, c := range res.Comparisons {
		if c.Verdict != eval.VerdictFail {
			continue
		}
		loc, ok := eval.LocateMetric(model, c.Metric)
		if !ok {
			continue
		}
		out = append(out, ghapi.Annotation{
			Path: evalWorkspaceRel(getenv, loc.File), StartLine: loc.Line, Level: ghapi.LevelFailure,
			Title: "mlship eval: " + c.Metric, Message: strings.Join(c.Failed, "\n"),
		})
	}
	return out, nil
}
