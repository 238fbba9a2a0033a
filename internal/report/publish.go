package report

import (
	"context"
	"fmt"
	"strings"

	"github.com/mlship/mlship/internal/ghapi"
)

// Target says where a report is published on GitHub.
type Target struct {
	Owner, Repo string
	// PullRequest receives the sticky comment; 0 posts no comment.
	PullRequest int
	// HeadSHA receives the check run (the pull request's head commit, not
	// the test merge commit); "" creates no check run.
	HeadSHA string
	// CheckName names the check run; the default is "mlship report (<model>)".
	CheckName string
	// DetailsURL links the check run to the workflow run.
	DetailsURL string
	// Annotations are attached to the check run (ghapi sends 50 per
	// request).
	Annotations []ghapi.Annotation
}

// Published is what Publish did.
type Published struct {
	CommentID      int64  `json:"commentId,omitempty"`
	CommentCreated bool   `json:"commentCreated"`
	CheckRunID     int64  `json:"checkRunId,omitempty"`
	Conclusion     string `json:"conclusion"`
	// Body is the comment body posted (trimmed to the comment limit).
	Body string `json:"-"`
}

// Publish posts the report as the model's sticky pull request comment
// (found by its marker and edited in place on re-runs) and as a check run
// on the head commit whose conclusion follows the gates. A report too large
// for either is trimmed (Render), never refused.
func Publish(ctx context.Context, client *ghapi.Client, in Input, t Target) (*Published, error) {
	if client == nil {
		return nil, fmt.Errorf("report: no GitHub client")
	}
	out := &Published{Conclusion: in.Conclusion()}
	body, err := Render(in, CommentLimits)
	if err != nil {
		return nil, err
	}
	out.Body = body
	if t.PullRequest > 0 {
		id, created, err := client.UpsertStickyComment(ctx, t.Owner, t.Repo, t.PullRequest, markerName(in.ModelName()), body)
		if err != nil {
			return out, fmt.Errorf("posting the report comment on %s/%s#%d: %w", t.Owner, t.Repo, t.PullRequest, err)
		}
		out.CommentID, out.CommentCreated = id, created
	}
	if t.HeadSHA != "" {
		summary, err := Render(in, CheckSummaryLimits)
		if err != nil {
			return out, err
		}
		name := t.CheckName
		if name == "" {
			name = "mlship report (" + in.ModelName() + ")"
		}
		id, err := client.UpsertCheckRun(ctx, t.Owner, t.Repo, t.HeadSHA, name, ghapi.CheckOutput{
			Title:       Headline(in),
			Summary:     summary,
			Conclusion:  out.Conclusion,
			DetailsURL:  t.DetailsURL,
			Annotations: t.Annotations,
		})
		if err != nil {
			return out, fmt.Errorf("creating the report check run on %s/%s@%s: %w", t.Owner, t.Repo, t.HeadSHA, err)
		}
		out.CheckRunID = id
	}
	return out, nil
}

// markerName is the sticky-comment name of a model's report; ghapi wraps it
// as <!-- mlship:report:<model> -->. The model name is untrusted: anything
// but letters, digits and . _ / - becomes _, so that it cannot close the
// HTML comment (-->, --!>) and inject Markdown after it.
func markerName(model string) string {
	return "report:" + strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("._/-", r):
			return r
		}
		return '_'
	}, model)
}
