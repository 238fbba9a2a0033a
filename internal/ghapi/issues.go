package ghapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"
)

// MaxIssueTitle is the longest issue title mlship sends (GitHub refuses
// titles over 256 characters).
const MaxIssueTitle = 256

// Issue is the part of an issue mlship reads.
type Issue struct {
	Number int
	ID     int64
	Title  string
	Body   string
	// State is "open" or "closed"; StateReason "completed", "not_planned",
	// "reopened" or "".
	State       string
	StateReason string
	// Labels are the label names, in GitHub's order.
	Labels    []string
	Author    string
	HTMLURL   string
	CreatedAt time.Time
	UpdatedAt time.Time
	ClosedAt  time.Time
	// IsPullRequest is set for a pull request listed or read as an issue.
	IsPullRequest bool
}

func fromIssue(i *github.Issue) *Issue {
	out := &Issue{
		Number: i.GetNumber(), ID: i.GetID(), Title: i.GetTitle(), Body: i.GetBody(), State: i.GetState(),
		StateReason: i.GetStateReason(), Author: i.GetUser().GetLogin(), HTMLURL: i.GetHTMLURL(),
		CreatedAt: i.GetCreatedAt().Time, UpdatedAt: i.GetUpdatedAt().Time, ClosedAt: i.GetClosedAt().Time,
		IsPullRequest: i.IsPullRequest(),
	}
	for _, l := range i.Labels {
		out.Labels = append(out.Labels, l.GetName())
	}
	return out
}

// IssueRequest is a new issue. Labels that do not exist yet are created by
// GitHub (with its default colour) when the token may push.
type IssueRequest struct {
	Title     string // required; cut to MaxIssueTitle
	Body      string // cut to MaxCommentBody
	Labels    []string
	Assignees []string
}

// CreateIssue opens an issue. It is not retried after an ambiguous failure
// (a 5xx or a lost connection), since the issue may exist: callers that
// must not open two look for it again first (internal/alert does).
func (c *Client) CreateIssue(ctx context.Context, owner, repo string, req IssueRequest) (*Issue, error) {
	if strings.TrimSpace(req.Title) == "" {
		return nil, fmt.Errorf("issue on %s/%s: a title is required", owner, repo)
	}
	if err := checkLabels(req.Labels); err != nil {
		return nil, fmt.Errorf("issue on %s/%s: %w", owner, repo, err)
	}
	in := &github.IssueRequest{Title: github.String(truncateShort(req.Title, MaxIssueTitle)), Body: github.String(Truncate(req.Body, MaxCommentBody))}
	if req.Labels != nil {
		in.Labels = &req.Labels
	}
	if req.Assignees != nil {
		in.Assignees = &req.Assignees
	}
	var made *github.Issue
	path := fmt.Sprintf("repos/%s/%s/issues", owner, repo)
	err := c.do(ctx, http.MethodPost, path, notIdempotent, func() (*github.Response, error) {
		is, resp, err := c.gh.Issues.Create(ctx, owner, repo, in)
		made = is
		return resp, err
	})
	if err != nil {
		return nil, err
	}
	return fromIssue(made), nil
}

// GetIssue returns issue number (a pull request number returns the pull
// request as an issue, IsPullRequest set).
func (c *Client) GetIssue(ctx context.Context, owner, repo string, number int) (*Issue, error) {
	var got *github.Issue
	err := c.do(ctx, http.MethodGet, fmt.Sprintf("repos/%s/%s/issues/%d", owner, repo, number), idempotent, func() (*github.Response, error) {
		is, resp, err := c.gh.Issues.Get(ctx, owner, repo, number)
		got = is
		return resp, err
	})
	if err != nil {
		return nil, err
	}
	return fromIssue(got), nil
}

// IssueUpdate changes an issue; nil fields are left as they are.
type IssueUpdate struct {
	Title *string
	Body  *string // cut to MaxCommentBody
	// State "open" or "closed"; StateReason ("completed", "not_planned",
	// "reopened") only counts when the state changes.
	State       *string
	StateReason *string
	// Labels replaces the issue's labels (an empty, non-nil slice clears them).
	Labels *[]string
}

// UpdateIssue edits issue number and returns it as GitHub now has it.
func (c *Client) UpdateIssue(ctx context.Context, owner, repo string, number int, u IssueUpdate) (*Issue, error) {
	in := &github.IssueRequest{State: u.State, StateReason: u.StateReason}
	if u.Title != nil {
		in.Title = github.String(truncateShort(*u.Title, MaxIssueTitle))
	}
	if u.Body != nil {
		in.Body = github.String(Truncate(*u.Body, MaxCommentBody))
	}
	if u.Labels != nil {
		if err := checkLabels(*u.Labels); err != nil {
			return nil, fmt.Errorf("issue %s/%s#%d: %w", owner, repo, number, err)
		}
		ls := append([]string{}, *u.Labels...)
		in.Labels = &ls
	}
	var got *github.Issue
	path := fmt.Sprintf("repos/%s/%s/issues/%d", owner, repo, number)
	// Setting fields to given values is safe to repeat.
	err := c.do(ctx, http.MethodPatch, path, idempotent, func() (*github.Response, error) {
		is, resp, err := c.gh.Issues.Edit(ctx, owner, repo, number, in)
		got = is
		return resp, err
	})
	if err != nil {
		return nil, err
	}
	return fromIssue(got), nil
}

// IssueFilter selects issues to list.
type IssueFilter struct {
	// State is "open" (GitHub's default when empty), "closed" or "all".
	State string
	// Labels: only issues that have every one of these labels.
	Labels []string
	// Creator: only issues opened by this login.
	Creator string
	// Sort is "created" (default), "updated" or "comments"; Direction
	// "asc" or "desc" (default).
	Sort, Direction string
	// Keep, if set, is asked about each issue as pages arrive; only those
	// it keeps are returned and count towards Limit, so a scan for one
	// issue holds only what matches in memory.
	Keep func(*Issue) bool
	// Limit caps how many issues are returned; 0 means 1000.
	Limit int
}

// ListIssues returns a repository's issues (pull requests left out) that
// match f, following pagination.
func (c *Client) ListIssues(ctx context.Context, owner, repo string, f IssueFilter) ([]Issue, error) {
	if err := checkLabels(f.Labels); err != nil {
		return nil, fmt.Errorf("issues of %s/%s: %w", owner, repo, err)
	}
	for _, l := range f.Labels {
		if strings.Contains(l, ",") {
			return nil, fmt.Errorf("issues of %s/%s: label %q: a label filter cannot hold a comma (GitHub splits the filter on commas)", owner, repo, l)
		}
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	opt := &github.IssueListByRepoOptions{State: f.State, Labels: f.Labels, Creator: f.Creator, Sort: f.Sort, Direction: f.Direction, ListOptions: github.ListOptions{PerPage: 100}}
	path := fmt.Sprintf("repos/%s/%s/issues", owner, repo)
	var out []Issue
	err := listAll(ctx, c, path, &opt.ListOptions, func() ([]*github.Issue, *github.Response, error) {
		return c.gh.Issues.ListByRepo(ctx, owner, repo, opt)
	}, func(is *github.Issue) bool {
		if is.IsPullRequest() {
			return true
		}
		if v := fromIssue(is); f.Keep == nil || f.Keep(v) {
			out = append(out, *v)
		}
		return len(out) < limit
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CreateIssueComment posts a comment on issue (or pull request) number and
// returns its id. The body is cut to MaxCommentBody. Not retried after an
// ambiguous failure: a comment posted twice is visible to everyone.
func (c *Client) CreateIssueComment(ctx context.Context, owner, repo string, number int, body string) (int64, error) {
	if strings.TrimSpace(body) == "" {
		return 0, fmt.Errorf("comment on %s/%s#%d: the body is empty", owner, repo, number)
	}
	full := Truncate(body, MaxCommentBody)
	var id int64
	path := fmt.Sprintf("repos/%s/%s/issues/%d/comments", owner, repo, number)
	err := c.do(ctx, http.MethodPost, path, notIdempotent, func() (*github.Response, error) {
		cm, resp, err := c.gh.Issues.CreateComment(ctx, owner, repo, number, &github.IssueComment{Body: &full})
		id = cm.GetID()
		return resp, err
	})
	return id, err
}

func checkLabels(labels []string) error {
	for _, l := range labels {
		if strings.TrimSpace(l) == "" || strings.ContainsAny(l, "\r\n") {
			return fmt.Errorf("label %q: want a non-empty single-line name", l)
		}
	}
	return nil
}
