package report

import (
	"context"
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

// Publish renders the report once for its Body (the comment's size) and
// hands it to each sink in order, stopping at the first that fails. A
// report too large for a sink is trimmed to the sink's limit (Render),
// never refused.
func Publish(ctx context.Context, in Input, sinks ...Sink) (*Published, error) {
	out := &Published{Conclusion: in.Conclusion()}
	body, err := Render(in, CommentLimits)
	if err != nil {
		return nil, err
	}
	out.Body = body
	for _, s := range sinks {
		if err := s.Publish(ctx, in, out); err != nil {
			return out, err
		}
	}
	return out, nil
}

// GitHubSinks are the sinks a Target names: the sticky comment when it
// has a pull request, the check run when it has a head commit.
func GitHubSinks(client GitHub, t Target) []Sink {
	var sinks []Sink
	if t.PullRequest > 0 {
		sinks = append(sinks, CommentSink{Client: client, Owner: t.Owner, Repo: t.Repo, PullRequest: t.PullRequest})
	}
	if t.HeadSHA != "" {
		sinks = append(sinks, CheckRunSink{Client: client, Owner: t.Owner, Repo: t.Repo, HeadSHA: t.HeadSHA,
			Name: t.CheckName, DetailsURL: t.DetailsURL, Annotations: t.Annotations})
	}
	return sinks
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
