package pipeline

import (
	"fmt"
	"io"
	"strings"

	"github.com/mlship/mlship/internal/eval"
)

// Human output lives here and in render.go: functions for results whose
// types belong to other packages (eval, drift, sign), WriteText methods for
// pipeline's own result types (also in inspect.go, ls.go, tag.go, status.go).

// WriteEvalText writes eval's human output: one line per comparison, the
// notes, and the verdict naming the files written (out, and reportOut
// when set).
func WriteEvalText(w io.Writer, res *eval.Result, out, reportOut string) {
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
		fmt.Fprintf(w, "%s\n", strings.TrimRight(line, " "))
	}
	for _, n := range res.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	state := "passed"
	if !res.Passed {
		state = "FAILED"
	}
	fmt.Fprintf(w, "eval %s %s: %s; result %s", res.Model.Name, res.Model.Version, state, out)
	if reportOut != "" {
		fmt.Fprintf(w, ", report %s", reportOut)
	}
	fmt.Fprintf(w, "\n")
}

// WriteText writes one line per proposal (or that there was none).
func (res *ProposeResult) WriteText(w io.Writer) {
	for _, pr := range res.Proposals {
		switch {
		case pr.UpToDate:
			fmt.Fprintf(w, "%s already runs %s: nothing to propose\n", pr.Environment, pr.Digest)
		case pr.PullRequest != nil:
			fmt.Fprintf(w, "%s pull request #%d: %s (%s, plan: %s)\n", ProposalVerb(pr), pr.PullRequest.Number, pr.Title, pr.Branch, pr.Plan.Verdict())
		default:
			fmt.Fprintf(w, "committed %s on %s (pushed: %t): %s\n", ShortCommit(pr.Commit), pr.Branch, pr.Pushed, pr.Title)
		}
	}
	if len(res.Envs) == 0 {
		fmt.Fprintf(w, "no environment follows one that changed in this commit: nothing to propose\n")
	}
}
