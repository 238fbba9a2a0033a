package ghapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v62/github"
)

// StickyMarker returns the hidden HTML comment that identifies a sticky
// comment: "<!-- mlship:<marker> -->".
func StickyMarker(marker string) string { return "<!-- mlship:" + marker + " -->" }

func checkMarker(marker string) error {
	if marker == "" || strings.ContainsAny(marker, "\r\n") || strings.Contains(marker, "--") || strings.Contains(marker, ">") {
		return fmt.Errorf("sticky comment marker %q: want a non-empty single-line name without \"--\" or \">\" (e.g. the model name)", marker)
	}
	return nil
}

// UpsertStickyComment creates or edits in place the one comment on issue (or
// pull request) number issue that starts with the hidden marker
// StickyMarker(marker). Re-runs edit the same comment and never add a
// second one; an unchanged body is not re-sent. body is cut to GitHub's
// 65,536-character limit as a last resort. It returns the comment id and
// whether it was created.
func (c *Client) UpsertStickyComment(ctx context.Context, owner, repo string, issue int, marker, body string) (id int64, created bool, err error) {
	if err := checkMarker(marker); err != nil {
		return 0, false, err
	}
	hidden := StickyMarker(marker)
	full := Truncate(hidden+"\n"+strings.TrimPrefix(body, hidden+"\n"), MaxCommentBody)

	// An ambiguous failure of the create (5xx, lost connection) may have
	// created the comment: look again before creating again.
	for attempt := 1; ; attempt++ {
		existing, err := c.findSticky(ctx, owner, repo, issue, hidden)
		if err != nil {
			return 0, false, err
		}
		if existing != nil {
			if existing.GetBody() == full {
				return existing.GetID(), false, nil
			}
			path := fmt.Sprintf("repos/%s/%s/issues/comments/%d", owner, repo, existing.GetID())
			err := c.do(ctx, http.MethodPatch, path, idempotent, func() (*github.Response, error) {
				_, resp, err := c.gh.Issues.EditComment(ctx, owner, repo, existing.GetID(), &github.IssueComment{Body: &full})
				return resp, err
			})
			return existing.GetID(), false, err
		}
		var made *github.IssueComment
		path := fmt.Sprintf("repos/%s/%s/issues/%d/comments", owner, repo, issue)
		err = c.do(ctx, http.MethodPost, path, notIdempotent, func() (*github.Response, error) {
			cm, resp, err := c.gh.Issues.CreateComment(ctx, owner, repo, issue, &github.IssueComment{Body: &full})
			made = cm
			return resp, err
		})
		if err == nil {
			return made.GetID(), true, nil
		}
		if !ambiguous(err) || attempt > c.o.retries {
			return 0, false, err
		}
		if serr := c.o.sleep(ctx, c.backoff(attempt)); serr != nil {
			return 0, false, err
		}
	}
}

// ambiguous reports whether a failed write may still have happened.
func ambiguous(err error) bool {
	s := StatusCode(err)
	return s == 0 || s >= 500
}

func (c *Client) findSticky(ctx context.Context, owner, repo string, issue int, hidden string) (*github.IssueComment, error) {
	opt := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	path := fmt.Sprintf("repos/%s/%s/issues/%d/comments", owner, repo, issue)
	var found *github.IssueComment
	err := listAll(ctx, c, path, &opt.ListOptions, func() ([]*github.IssueComment, *github.Response, error) {
		return c.gh.Issues.ListComments(ctx, owner, repo, issue, opt)
	}, func(cm *github.IssueComment) bool {
		// The marker must open the body: a reply quoting the report
		// ("> <!-- mlship:… -->") is not the sticky comment.
		if strings.HasPrefix(cm.GetBody(), hidden) {
			found = cm
			return false
		}
		return true
	})
	return found, err
}
