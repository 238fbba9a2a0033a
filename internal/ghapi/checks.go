package ghapi

import (
	"context"
	"fmt"
	"net/http"

	"github.com/google/go-github/v62/github"
)

// Annotation levels accepted by GitHub.
const (
	LevelNotice  = "notice"
	LevelWarning = "warning"
	LevelFailure = "failure"
)

// Annotation points at a line (range) of a file in the repository.
type Annotation struct {
	Path      string
	StartLine int
	EndLine   int // 0 means StartLine
	// Columns are only sent when StartLine == EndLine, as GitHub requires.
	StartColumn int
	EndColumn   int
	Level       string // notice, warning or failure; "" means warning
	Title       string
	Message     string
	RawDetails  string
}

// CheckOutput is what a check run shows. An empty Conclusion leaves the run
// in_progress; otherwise it is completed with that conclusion (success,
// failure, neutral, cancelled, skipped, timed_out, action_required).
type CheckOutput struct {
	Title       string
	Summary     string
	Text        string
	Conclusion  string
	DetailsURL  string
	ExternalID  string
	Annotations []Annotation
}

func (a Annotation) api() *github.CheckRunAnnotation {
	end := a.EndLine
	if end == 0 {
		end = a.StartLine
	}
	level := a.Level
	if level == "" {
		level = LevelWarning
	}
	out := &github.CheckRunAnnotation{
		Path: github.String(a.Path), StartLine: github.Int(max(a.StartLine, 1)), EndLine: github.Int(max(end, 1)),
		AnnotationLevel: github.String(level), Message: github.String(truncateBytes(a.Message, 64*1024)),
	}
	if a.Title != "" {
		out.Title = github.String(truncateShort(a.Title, 255))
	}
	if a.RawDetails != "" {
		out.RawDetails = github.String(truncateBytes(a.RawDetails, 64*1024))
	}
	if a.StartColumn > 0 && end == a.StartLine {
		out.StartColumn = github.Int(a.StartColumn)
		ec := a.EndColumn
		if ec < a.StartColumn {
			ec = a.StartColumn
		}
		out.EndColumn = github.Int(ec)
	}
	return out
}

func (o CheckOutput) api(annotations []Annotation) *github.CheckRunOutput {
	title := o.Title
	if title == "" {
		title = "mlship"
	}
	out := &github.CheckRunOutput{
		Title:   github.String(truncateShort(title, 1024)),
		Summary: github.String(Truncate(o.Summary, MaxCheckRunSummary)),
	}
	if o.Text != "" {
		out.Text = github.String(Truncate(o.Text, MaxCheckRunText))
	}
	for _, a := range annotations {
		out.Annotations = append(out.Annotations, a.api())
	}
	return out
}

// UpsertCheckRun creates the check run name on headSHA, or updates the
// latest one of that name, with out. Annotations go 50 per request (GitHub's
// limit), the rest in further updates; GitHub keeps the annotations of
// earlier updates, so a re-run adds to them. It returns the check run id.
func (c *Client) UpsertCheckRun(ctx context.Context, owner, repo, headSHA, name string, out CheckOutput) (int64, error) {
	if name == "" || headSHA == "" {
		return 0, fmt.Errorf("check run on %s/%s: name %q and head SHA %q are both required", owner, repo, name, headSHA)
	}
	first := out.Annotations
	var rest []Annotation
	if len(first) > MaxAnnotationsPerCall {
		first, rest = first[:MaxAnnotationsPerCall], first[MaxAnnotationsPerCall:]
	}
	var status, conclusion *string
	if out.Conclusion == "" {
		status = github.String("in_progress")
	} else {
		status, conclusion = github.String("completed"), github.String(out.Conclusion)
	}
	var details, external *string
	if out.DetailsURL != "" {
		details = github.String(out.DetailsURL)
	}
	if out.ExternalID != "" {
		external = github.String(out.ExternalID)
	}

	var id int64
	for attempt := 1; ; attempt++ {
		existing, err := c.findCheckRun(ctx, owner, repo, headSHA, name)
		if err != nil {
			return 0, err
		}
		if existing != 0 {
			id = existing
			err := c.updateCheckRun(ctx, owner, repo, id, github.UpdateCheckRunOptions{
				Name: name, Status: status, Conclusion: conclusion, DetailsURL: details, ExternalID: external, Output: out.api(first),
			})
			if err != nil {
				return 0, err
			}
			break
		}
		path := fmt.Sprintf("repos/%s/%s/check-runs", owner, repo)
		err = c.do(ctx, http.MethodPost, path, notIdempotent, func() (*github.Response, error) {
			cr, resp, err := c.gh.Checks.CreateCheckRun(ctx, owner, repo, github.CreateCheckRunOptions{
				Name: name, HeadSHA: headSHA, Status: status, Conclusion: conclusion, DetailsURL: details, ExternalID: external, Output: out.api(first),
			})
			id = cr.GetID()
			return resp, err
		})
		if err == nil {
			break
		}
		if !ambiguous(err) || attempt > c.o.retries {
			return 0, err
		}
		if serr := c.o.sleep(ctx, c.backoff(attempt)); serr != nil {
			return 0, err
		}
	}
	for len(rest) > 0 {
		chunk := rest
		if len(chunk) > MaxAnnotationsPerCall {
			chunk = chunk[:MaxAnnotationsPerCall]
		}
		rest = rest[len(chunk):]
		if err := c.updateCheckRun(ctx, owner, repo, id, github.UpdateCheckRunOptions{Name: name, Output: out.api(chunk)}); err != nil {
			return id, err
		}
	}
	return id, nil
}

func (c *Client) updateCheckRun(ctx context.Context, owner, repo string, id int64, opt github.UpdateCheckRunOptions) error {
	path := fmt.Sprintf("repos/%s/%s/check-runs/%d", owner, repo, id)
	// Annotations accumulate, so a repeated update could duplicate them;
	// only updates without annotations are safe to repeat after a 5xx.
	idem := idempotent
	if opt.Output != nil && len(opt.Output.Annotations) > 0 {
		idem = notIdempotent
	}
	return c.do(ctx, http.MethodPatch, path, idem, func() (*github.Response, error) {
		_, resp, err := c.gh.Checks.UpdateCheckRun(ctx, owner, repo, id, opt)
		return resp, err
	})
}

// findCheckRun returns the id of the latest check run called name on sha, 0 if none.
func (c *Client) findCheckRun(ctx context.Context, owner, repo, sha, name string) (int64, error) {
	var id int64
	path := fmt.Sprintf("repos/%s/%s/commits/%s/check-runs", owner, repo, sha)
	err := c.do(ctx, http.MethodGet, path, idempotent, func() (*github.Response, error) {
		res, resp, err := c.gh.Checks.ListCheckRunsForRef(ctx, owner, repo, sha, &github.ListCheckRunsOptions{
			CheckName: github.String(name), Filter: github.String("latest"), ListOptions: github.ListOptions{PerPage: 100},
		})
		if res == nil {
			return resp, err
		}
		for _, cr := range res.CheckRuns {
			if cr.GetName() == name {
				id = cr.GetID()
				break
			}
		}
		return resp, err
	})
	return id, err
}
