package githubtest

import (
	"fmt"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"
)

// issue comments.

// issue finds an issue (or pull request) number.
func (r *repo) issue(n int64) (int, bool) { _, ok := r.issues[int(n)]; return int(n), ok }

func listComments(c *call) {
	r := c.repo()
	n, ok := resolve(c, "issue_number", nil, r.issue)
	if !ok {
		return
	}
	var since time.Time
	if v := c.query("since"); v != "" {
		since, _ = time.Parse(time.RFC3339, v)
	}
	var out []any
	for _, cm := range r.comments {
		if cm.Issue == n && !cm.UpdatedAt.Before(since) {
			out = append(out, c.s.comment(r, cm))
		}
	}
	c.json(http.StatusOK, nonNil(page(c, out)))
}

func commentTooLong(c *call, body string) bool {
	if utf8.RuneCountInString(body) > MaxCommentBody {
		c.unprocessable("IssueComment", "body", "custom", fmt.Sprintf("body is too long (maximum is %d characters)", MaxCommentBody))
		return true
	}
	return false
}

func createComment(c *call) {
	r := c.repo()
	var in struct{ Body string }
	n, ok := resolve(c, "issue_number", &in, r.issue)
	if !ok {
		return
	}
	if commentTooLong(c, in.Body) {
		return
	}
	now := c.now()
	cm := &Comment{ID: c.s.st.id(), Issue: n, User: c.s.login, Body: in.Body, CreatedAt: now, UpdatedAt: now}
	r.comments = append(r.comments, cm)
	c.w.header.Set("Location", fmt.Sprintf("%s/issues/comments/%d", c.s.repoURL(r), cm.ID))
	c.json(http.StatusCreated, c.s.comment(r, cm))
}

func getComment(c *call) {
	r := c.repo()
	if cm, ok := resolve(c, "comment_id", nil, byID(r.comments)); ok {
		c.json(http.StatusOK, c.s.comment(r, cm))
	}
}

func updateComment(c *call) {
	r := c.repo()
	var in struct{ Body string }
	cm, ok := resolve(c, "comment_id", &in, byID(r.comments))
	if !ok {
		return
	}
	if commentTooLong(c, in.Body) {
		return
	}
	cm.Body = in.Body
	cm.UpdatedAt = c.now()
	c.json(http.StatusOK, c.s.comment(r, cm))
}

func deleteComment(c *call) {
	r := c.repo()
	cm, ok := resolve(c, "comment_id", nil, byID(r.comments))
	if !ok {
		return
	}
	i := slices.Index(r.comments, cm)
	r.comments = slices.Delete(r.comments, i, i+1)
	c.noContent()
}
