package ghapi

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"
)

// PullRequest is the part of a pull request mlship reads.
type PullRequest struct {
	Number         int
	Title          string
	Body           string
	State          string // open, closed
	Author         string
	HeadRef        string
	HeadSHA        string
	BaseRef        string
	Merged         bool
	MergeCommitSHA string
	MergedAt       time.Time
	HTMLURL        string
}

func fromPR(p *github.PullRequest) PullRequest {
	return PullRequest{
		Number: p.GetNumber(), Title: p.GetTitle(), Body: p.GetBody(), State: p.GetState(), Author: p.GetUser().GetLogin(),
		HeadRef: p.GetHead().GetRef(), HeadSHA: p.GetHead().GetSHA(), BaseRef: p.GetBase().GetRef(),
		// Lists return pull-request-simple, which has no "merged": merged_at says it.
		Merged:         p.GetMerged() || p.MergedAt != nil,
		MergeCommitSHA: p.GetMergeCommitSHA(), MergedAt: p.GetMergedAt().Time, HTMLURL: p.GetHTMLURL(),
	}
}

// GetPullRequest returns pull request number.
func (c *Client) GetPullRequest(ctx context.Context, owner, repo string, number int) (PullRequest, error) {
	var pr *github.PullRequest
	err := c.do(ctx, http.MethodGet, fmt.Sprintf("repos/%s/%s/pulls/%d", owner, repo, number), idempotent, func() (*github.Response, error) {
		p, resp, err := c.gh.PullRequests.Get(ctx, owner, repo, number)
		pr = p
		return resp, err
	})
	if err != nil {
		return PullRequest{}, err
	}
	return fromPR(pr), nil
}

// PullRequestsForCommit returns the pull requests associated with sha: on
// the default branch, the merged pull request that brought the commit in;
// elsewhere, open pull requests whose head it is.
func (c *Client) PullRequestsForCommit(ctx context.Context, owner, repo, sha string) ([]PullRequest, error) {
	opt := &github.ListOptions{PerPage: 100}
	path := fmt.Sprintf("repos/%s/%s/commits/%s/pulls", owner, repo, sha)
	var out []PullRequest
	err := listAll(ctx, c, path, opt, func() ([]*github.PullRequest, *github.Response, error) {
		return c.gh.PullRequests.ListPullRequestsWithCommit(ctx, owner, repo, sha, opt)
	}, func(p *github.PullRequest) bool {
		out = append(out, fromPR(p))
		return true
	})
	return out, err
}

// UpsertPullRequest opens a pull request from head to base (branches of
// owner/repo), or updates the title and body of the open one that already
// goes from head to base. The body is cut to GitHub's limit.
func (c *Client) UpsertPullRequest(ctx context.Context, owner, repo, head, base, title, body string) (pr PullRequest, created bool, err error) {
	if head == "" || base == "" || title == "" {
		return PullRequest{}, false, fmt.Errorf("pull request on %s/%s: head %q, base %q and title %q are all required", owner, repo, head, base, title)
	}
	body = Truncate(body, MaxCommentBody)
	for attempt := 1; ; attempt++ {
		existing, err := c.findOpenPR(ctx, owner, repo, head, base)
		if err != nil {
			return PullRequest{}, false, err
		}
		if existing != nil {
			if existing.GetTitle() == title && existing.GetBody() == body {
				return fromPR(existing), false, nil
			}
			var got *github.PullRequest
			path := fmt.Sprintf("repos/%s/%s/pulls/%d", owner, repo, existing.GetNumber())
			err := c.do(ctx, http.MethodPatch, path, idempotent, func() (*github.Response, error) {
				p, resp, err := c.gh.PullRequests.Edit(ctx, owner, repo, existing.GetNumber(), &github.PullRequest{Title: &title, Body: &body})
				got = p
				return resp, err
			})
			if err != nil {
				return PullRequest{}, false, err
			}
			return fromPR(got), false, nil
		}
		var got *github.PullRequest
		path := fmt.Sprintf("repos/%s/%s/pulls", owner, repo)
		err = c.do(ctx, http.MethodPost, path, notIdempotent, func() (*github.Response, error) {
			p, resp, err := c.gh.PullRequests.Create(ctx, owner, repo, &github.NewPullRequest{Title: &title, Head: &head, Base: &base, Body: &body})
			got = p
			return resp, err
		})
		if err == nil {
			return fromPR(got), true, nil
		}
		if !ambiguous(err) || attempt > c.o.retries {
			return PullRequest{}, false, err
		}
		if serr := c.o.sleep(ctx, c.backoff(attempt)); serr != nil {
			return PullRequest{}, false, err
		}
	}
}

func (c *Client) findOpenPR(ctx context.Context, owner, repo, head, base string) (*github.PullRequest, error) {
	qualified := head
	if !strings.Contains(head, ":") {
		qualified = owner + ":" + head
	}
	var found *github.PullRequest
	err := c.do(ctx, http.MethodGet, fmt.Sprintf("repos/%s/%s/pulls", owner, repo), idempotent, func() (*github.Response, error) {
		ps, resp, err := c.gh.PullRequests.List(ctx, owner, repo, &github.PullRequestListOptions{State: "open", Head: qualified, Base: base, ListOptions: github.ListOptions{PerPage: 100}})
		if len(ps) > 0 {
			found = ps[0]
		}
		return resp, err
	})
	return found, err
}

// Review is a reviewer's standing verdict on a pull request.
type Review struct {
	ID          int64
	User        string
	State       string // APPROVED, CHANGES_REQUESTED, DISMISSED
	CommitID    string // the head commit the review was made on
	SubmittedAt time.Time
}

// ApprovingReviews returns, per reviewer, the latest review that counts
// (APPROVED, CHANGES_REQUESTED or DISMISSED; a later plain comment does
// not withdraw an approval, as on GitHub), keeping the reviewers whose
// verdict is APPROVED, sorted by login. Callers compare CommitID with the
// head SHA when approvals of older commits must not count, and exclude the
// pull request's author.
func (c *Client) ApprovingReviews(ctx context.Context, owner, repo string, pr int) ([]Review, error) {
	opt := &github.ListOptions{PerPage: 100}
	path := fmt.Sprintf("repos/%s/%s/pulls/%d/reviews", owner, repo, pr)
	latest := map[string]Review{}
	// Reviews come oldest first; a later verdict replaces an earlier one.
	err := listAll(ctx, c, path, opt, func() ([]*github.PullRequestReview, *github.Response, error) {
		return c.gh.PullRequests.ListReviews(ctx, owner, repo, pr, opt)
	}, func(r *github.PullRequestReview) bool {
		switch st := r.GetState(); st {
		case "APPROVED", "CHANGES_REQUESTED", "DISMISSED":
			login := r.GetUser().GetLogin()
			latest[strings.ToLower(login)] = Review{ID: r.GetID(), User: login, State: st, CommitID: r.GetCommitID(), SubmittedAt: r.GetSubmittedAt().Time}
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	var out []Review
	for _, r := range latest {
		if r.State == "APPROVED" {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].User) < strings.ToLower(out[j].User) })
	return out, nil
}
