package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/mlship/mlship/internal/eval"
	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/ghapi"
	"github.com/mlship/mlship/internal/report"
	"github.com/mlship/mlship/internal/spec"
)

// ReportRequest is `mlship report`: render the eval and drift results and,
// inside a pull request's workflow with a token, publish them.
type ReportRequest struct {
	EvalFile, DriftFile string
	// Out receives the comment body.
	Out string
	// DryRun writes Out and calls nothing.
	DryRun bool
	// SpecDir names the model of a drift-only report and points the check
	// run's annotations at the spec lines of failed metrics.
	SpecDir   string
	Model     string
	CheckName string
	// CardRef is the candidate's digest reference: the report links its
	// model card (mlship card REF; the package step's job summary shows it).
	CardRef string
}

// ReportResult is what Report did (`mlship report --output json`).
type ReportResult struct {
	ReportPath     string `json:"reportPath"`
	Conclusion     string `json:"conclusion"`
	Posted         bool   `json:"posted"`
	CommentID      int64  `json:"commentId,omitempty"`
	CommentCreated bool   `json:"commentCreated,omitempty"`
	CheckRunID     int64  `json:"checkRunId,omitempty"`
	Trimmed        bool   `json:"trimmed"`
	// Headline is the report's verdict line; Bytes the comment's size.
	Headline string `json:"-"`
	Bytes    int    `json:"-"`
}

// Report renders the report, writes req.Out, appends the full report to
// the job summary and publishes it (unless DryRun), and sets the
// report-path and conclusion step outputs.
func Report(ctx context.Context, r *Run, req ReportRequest) (*ReportResult, error) {
	in, err := reportInput(ctx, r, req)
	if err != nil {
		return nil, err
	}
	body, err := report.Render(in, report.CommentLimits)
	if err != nil {
		return nil, err
	}
	full, err := report.Render(in, report.StepSummaryLimits)
	if err != nil {
		return nil, err
	}
	res := &ReportResult{ReportPath: req.Out, Conclusion: in.Conclusion(), Trimmed: body != full, Headline: report.Headline(in), Bytes: len(body)}
	if err := WriteFile(req.Out, []byte(body)); err != nil {
		return nil, err
	}
	if !req.DryRun {
		if err := r.Summary(full); err != nil {
			return nil, err
		}
		if res.Posted, err = publishReport(ctx, r, req, in, res); err != nil {
			return nil, err
		}
	}
	for k, v := range map[string]string{"report-path": req.Out, "conclusion": res.Conclusion} {
		if err := r.Actions.SetOutput(k, v); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// reportInput reads the result files.
func reportInput(ctx context.Context, r *Run, req ReportRequest) (report.Input, error) {
	in := report.Input{Model: req.Model, FullReportURL: r.Env.RunURL()}
	if in.Model == "" && req.EvalFile == "" && req.SpecDir != "" {
		// A drift-only report is named after the spec's model, so that it
		// shares the model's sticky comment.
		if m, err := spec.Load(ctx, req.SpecDir); err == nil {
			in.Model = m.Name
		}
	}
	if req.EvalFile != "" {
		res, err := eval.ReadResultFile(req.EvalFile)
		if err != nil {
			return in, err
		}
		in.Eval = res
	}
	if req.DriftFile != "" {
		d, err := report.ReadDriftFile(req.DriftFile)
		if err != nil {
			return in, err
		}
		in.Drift = d
	}
	if req.CardRef != "" {
		in.Card = &report.CardLink{Ref: req.CardRef, URL: r.Env.RunURL()}
	}
	return in, nil
}

// publishReport posts the comment and check run when the run context
// allows: a token, a repository and a pull request event. It says why it
// did not otherwise, and reports whether it posted.
func publishReport(ctx context.Context, r *Run, req ReportRequest, in report.Input, res *ReportResult) (bool, error) {
	if r.Env.Token == "" {
		r.Logf("%s is not set: not posting the report (pass env: %s: ${{ github.token }} to post it)\n", gha.VarToken, gha.VarToken)
		return false, nil
	}
	w, err := r.Env.Workflow()
	if err != nil {
		return false, fmt.Errorf("reading the workflow environment to post the report: %w", err)
	}
	if w.PullRequest == 0 {
		r.Logf("event %q has no pull request: not posting a comment or check run (the job summary has the report)\n", w.EventName)
		return false, nil
	}
	client, err := r.GitHubClient(ctx)
	if err != nil {
		return false, err
	}
	t := report.Target{Owner: w.Owner, Repo: w.Repo, PullRequest: w.PullRequest, HeadSHA: w.HeadSHA,
		CheckName: req.CheckName, DetailsURL: w.RunURL}
	if req.SpecDir != "" && in.Eval != nil && in.Eval.Model.Name != "" {
		// Annotations are a convenience: a spec that cannot be loaded here
		// must not keep the report from being posted.
		anns, err := reportAnnotations(ctx, req.SpecDir, in.Eval, r.Env)
		if err != nil {
			r.Logf("warning: no annotations: %v\n", err)
		}
		t.Annotations = anns
	}
	p, err := report.Publish(ctx, in, report.GitHubSinks(client, t)...)
	if err != nil {
		return false, err
	}
	res.CommentID, res.CommentCreated, res.CheckRunID = p.CommentID, p.CommentCreated, p.CheckRunID
	return true, nil
}

// reportAnnotations points a failure annotation at the spec line of each
// failed metric.
func reportAnnotations(ctx context.Context, dir string, res *eval.Result, env gha.Env) ([]ghapi.Annotation, error) {
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
			Path: env.WorkspaceRel(loc.File), StartLine: loc.Line, Level: ghapi.LevelFailure,
			Title: "mlship eval: " + c.Metric, Message: strings.Join(c.Failed, "\n"),
		})
	}
	return out, nil
}
