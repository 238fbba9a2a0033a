package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/mlship/mlship/internal/eval"
	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/report"
	"github.com/mlship/mlship/internal/spec"
)

// EvalRequest is what `mlship eval` asks for.
type EvalRequest struct {
	SpecDir string

	MetricsFile          string
	ExamplesFile         string
	BaselineFile         string
	BaselineExamplesFile string
	NoBaseline           bool
	Repository           string
	PlainHTTP            bool
	// Environment is used when EnvironmentSet ("" then means spec bounds only).
	Environment    string
	EnvironmentSet bool
	// Out is the result JSON; ReportOut the Markdown report ("" for none).
	Out       string
	ReportOut string
}

// Eval runs the spec's evaluation against its gates and the baseline,
// writes the result and report files, annotates failing metrics at their
// spec line, and sets the step outputs and the job summary. A failing gate
// is res.Passed == false, not an error.
func Eval(ctx context.Context, r *Run, req EvalRequest) (*eval.Result, error) {
	model, err := spec.Load(ctx, req.SpecDir)
	if err != nil {
		return nil, err
	}
	var src eval.BaselineSource
	switch {
	case req.NoBaseline:
		src = eval.NoBaseline()
	case req.BaselineFile != "":
		src = eval.FileBaseline{Path: req.BaselineFile}
	default:
		src = eval.RegistryBaseline{Repository: req.Repository, PlainHTTP: req.PlainHTTP, Client: registry(r, false)}
	}
	ropts := []eval.Option{eval.WithBaselineSource(src), eval.WithOutput(r.IO.ErrOut, r.IO.ErrOut)}
	if req.MetricsFile != "" {
		ropts = append(ropts, eval.WithMetricsFile(req.MetricsFile))
	}
	if req.ExamplesFile != "" {
		ropts = append(ropts, eval.WithExamplesFile(req.ExamplesFile))
	}
	if req.BaselineExamplesFile != "" {
		ropts = append(ropts, eval.WithBaselineExamplesFile(req.BaselineExamplesFile))
	}
	if req.EnvironmentSet {
		ropts = append(ropts, eval.WithEnvironment(req.Environment))
	}
	if model.Eval != nil && len(model.Eval.Command) > 0 && req.MetricsFile == "" {
		r.Actions.Group("mlship eval: " + strings.Join(model.Eval.Command, " "))
	}
	res, err := eval.Run(ctx, model, ropts...)
	r.Actions.EndGroup()
	if err != nil {
		return nil, err
	}
	if err := writeEvalOutputs(r, req, res); err != nil {
		return nil, err
	}
	annotateEval(r, model, res)
	if err := r.Summary(EvalSummary(res)); err != nil {
		return nil, err
	}
	for k, v := range map[string]string{"passed": fmt.Sprint(res.Passed), "result-path": req.Out, "report-path": req.ReportOut} {
		if err := r.Actions.SetOutput(k, v); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func writeEvalOutputs(r *Run, req EvalRequest, res *eval.Result) error {
	if err := WriteJSON(req.Out, res); err != nil {
		return err
	}
	md, err := report.Render(report.Input{Eval: res, FullReportURL: r.Env.RunURL()}, report.NoLimits)
	if err != nil {
		return err
	}
	if req.ReportOut != "" {
		return WriteFile(req.ReportOut, []byte(md))
	}
	return nil
}

// annotateEval puts an error annotation on the spec line of each failing metric.
func annotateEval(r *Run, model *spec.Model, res *eval.Result) {
	for _, c := range res.Comparisons {
		if c.Verdict != eval.VerdictFail {
			continue
		}
		an := gha.Annotation{Level: "error", Title: "mlship eval: " + c.Metric, Message: strings.Join(c.Failed, "; ")}
		if loc, ok := eval.LocateMetric(model, c.Metric); ok {
			an.File, an.Line = r.Env.WorkspaceRel(loc.File), loc.Line
		}
		r.Annotate(an)
	}
}

// EvalSummary is the job-summary heading of an eval.
func EvalSummary(res *eval.Result) string {
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
	return fmt.Sprintf("### mlship eval: %s %s %s%s (%d metrics, %s)\n", verdict, res.Model.Name, res.Model.Version, target, len(res.Comparisons), baseline)
}
