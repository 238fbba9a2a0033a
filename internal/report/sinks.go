package report

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"

	"github.com/mlship/mlship/internal/ghapi"
)

// Sink is one place a report goes. Each sink renders the input within its
// own size limit and records what it did in out. Publish takes sinks, so
// the GitHub API, the job summary and files are interchangeable, and tests
// can use any of them.
type Sink interface {
	Publish(ctx context.Context, in Input, out *Published) error
}

// CommentPoster is what CommentSink needs of a GitHub client (*ghapi.Client
// satisfies it).
type CommentPoster interface {
	UpsertStickyComment(ctx context.Context, owner, repo string, issue int, marker, body string) (int64, bool, error)
}

// CheckRunPoster is what CheckRunSink needs of a GitHub client.
type CheckRunPoster interface {
	UpsertCheckRun(ctx context.Context, owner, repo, headSHA, name string, out ghapi.CheckOutput) (int64, error)
}

// GitHub is a client that can post both (*ghapi.Client).
type GitHub interface {
	CommentPoster
	CheckRunPoster
}

// StepSummaryWriter appends to the job summary (*gha.Runtime).
type StepSummaryWriter interface {
	AddStepSummary(markdown string) error
}

var errNoClient = errors.New("report: no GitHub client")

// isNil catches a nil client, also a typed nil pointer in the interface.
func isNil(c any) bool {
	if c == nil {
		return true
	}
	v := reflect.ValueOf(c)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// CommentSink is the model's sticky pull request comment, found by its
// marker and edited in place on re-runs.
type CommentSink struct {
	Client      CommentPoster
	Owner, Repo string
	PullRequest int
}

// Publish posts or edits the comment.
func (s CommentSink) Publish(ctx context.Context, in Input, out *Published) error {
	if isNil(s.Client) {
		return errNoClient
	}
	body, err := Render(in, CommentLimits)
	if err != nil {
		return err
	}
	id, created, err := s.Client.UpsertStickyComment(ctx, s.Owner, s.Repo, s.PullRequest, markerName(in.ModelName()), body)
	if err != nil {
		return fmt.Errorf("posting the report comment on %s/%s#%d: %w", s.Owner, s.Repo, s.PullRequest, err)
	}
	out.CommentID, out.CommentCreated = id, created
	return nil
}

// CheckRunSink is a check run on the head commit whose conclusion follows
// the gates.
type CheckRunSink struct {
	Client      CheckRunPoster
	Owner, Repo string
	HeadSHA     string
	// Name defaults to "mlship report (<model>)".
	Name        string
	DetailsURL  string
	Annotations []ghapi.Annotation
}

// Publish creates or updates the check run.
func (s CheckRunSink) Publish(ctx context.Context, in Input, out *Published) error {
	if isNil(s.Client) {
		return errNoClient
	}
	summary, err := Render(in, CheckSummaryLimits)
	if err != nil {
		return err
	}
	name := s.Name
	if name == "" {
		name = "mlship report (" + in.ModelName() + ")"
	}
	id, err := s.Client.UpsertCheckRun(ctx, s.Owner, s.Repo, s.HeadSHA, name, ghapi.CheckOutput{
		Title:       Headline(in),
		Summary:     summary,
		Conclusion:  in.Conclusion(),
		DetailsURL:  s.DetailsURL,
		Annotations: s.Annotations,
	})
	if err != nil {
		return fmt.Errorf("creating the report check run on %s/%s@%s: %w", s.Owner, s.Repo, s.HeadSHA, err)
	}
	out.CheckRunID = id
	return nil
}

// StepSummarySink appends the full report to the job summary.
type StepSummarySink struct {
	Summary StepSummaryWriter
}

// Publish appends the report.
func (s StepSummarySink) Publish(_ context.Context, in Input, _ *Published) error {
	if isNil(s.Summary) {
		return errors.New("report: no job summary to write to")
	}
	md, err := Render(in, StepSummaryLimits)
	if err != nil {
		return err
	}
	if err := s.Summary.AddStepSummary(md); err != nil {
		return fmt.Errorf("writing the report to the job summary: %w", err)
	}
	return nil
}

// FileSink writes the report to a file, trimmed to Limits (the comment's
// when unset, so that the file is what a comment would show).
type FileSink struct {
	Path   string
	Limits *Limits
}

// Publish writes the file.
func (s FileSink) Publish(_ context.Context, in Input, _ *Published) error {
	lim := CommentLimits
	if s.Limits != nil {
		lim = *s.Limits
	}
	md, err := Render(in, lim)
	if err != nil {
		return err
	}
	if err := os.WriteFile(s.Path, []byte(md), 0o644); err != nil {
		return fmt.Errorf("writing the report to %s: %w", s.Path, err)
	}
	return nil
}
