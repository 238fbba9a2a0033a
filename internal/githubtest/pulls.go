package githubtest

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// pull requests.

func getPull(c *call) {
	r := c.repo()
	if p, ok := resolve(c, "pull_number", nil, r.pull); ok {
		c.json(http.StatusOK, c.s.pullRequest(r, p, false))
	}
}

// branchOf strips an "owner:" prefix from a head given as "owner:branch".
func branchOf(r *repo, head string) (string, bool) {
	owner, branch, ok := strings.Cut(head, ":")
	if !ok {
		return head, true
	}
	return branch, owner == r.owner
}

func listPulls(c *call) {
	r := c.repo()
	q := c.r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	var ps []*PullRequest
	for _, n := range sortedNumbers(r.pulls) {
		p := r.pulls[n]
		if state != "all" && p.State != state {
			continue
		}
		if h := q.Get("head"); h != "" {
			if b, same := branchOf(r, h); !same || b != p.Head {
				continue
			}
		}
		if b := q.Get("base"); b != "" && b != p.Base {
			continue
		}
		ps = append(ps, p)
	}
	sortBy := q.Get("sort")
	dir := q.Get("direction")
	if dir == "" {
		dir = "asc"
		if sortBy == "" || sortBy == "created" {
			dir = "desc"
		}
	}
	key := func(p *PullRequest) time.Time {
		if sortBy == "updated" {
			return p.UpdatedAt
		}
		return p.CreatedAt
	}
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := key(ps[i]), key(ps[j])
		if a.Equal(b) {
			a, b = time.Unix(int64(ps[i].Number), 0), time.Unix(int64(ps[j].Number), 0)
		}
		if dir == "desc" {
			return a.After(b)
		}
		return a.Before(b)
	})
	var out []any
	for _, p := range ps {
		out = append(out, c.s.pullRequest(r, p, true))
	}
	c.json(http.StatusOK, nonNil(page(c, out)))
}

func createPull(c *call) {
	r := c.repo()
	var in struct {
		Title string `json:"title"`
		Head  string `json:"head"`
		Base  string `json:"base"`
		Body  string `json:"body"`
		Draft bool   `json:"draft"`
		Issue *int   `json:"issue"`
	}
	if !c.decode(&in) {
		return
	}
	head, _ := branchOf(r, in.Head)
	switch {
	case in.Title == "" && in.Issue == nil:
		c.unprocessable("PullRequest", "title", "missing_field", "")
		return
	case in.Base == "":
		c.unprocessable("PullRequest", "base", "missing_field", "")
		return
	case head == in.Base:
		c.unprocessable("PullRequest", "", "custom", "No commits between "+in.Base+" and "+head)
		return
	}
	for _, p := range r.pulls {
		if p.State == "open" && p.Head == head && p.Base == in.Base {
			c.unprocessable("PullRequest", "", "custom", fmt.Sprintf("A pull request already exists for %s:%s.", r.owner, head))
			return
		}
	}
	now := c.now()
	p := &PullRequest{Number: r.newNumber(), ID: c.s.st.id(), Title: in.Title, Body: in.Body, User: c.s.login, State: "open",
		Head: head, HeadSHA: r.branchSHA(head), Base: in.Base, BaseSHA: r.branchSHA(in.Base), Draft: in.Draft, CreatedAt: now, UpdatedAt: now}
	r.pulls[p.Number] = p
	r.issues[p.Number] = &Issue{Number: p.Number, ID: p.ID, isPull: true}
	c.w.header.Set("Location", fmt.Sprintf("%s/pulls/%d", c.s.repoURL(r), p.Number))
	c.json(http.StatusCreated, c.s.pullRequest(r, p, false))
}

func updatePull(c *call) {
	r := c.repo()
	var in struct {
		Title *string `json:"title"`
		Body  *string `json:"body"`
		State *string `json:"state"`
		Base  *string `json:"base"`
	}
	p, ok := resolve(c, "pull_number", &in, r.pull)
	if !ok {
		return
	}
	now := c.now()
	if in.Title != nil {
		p.Title = *in.Title
	}
	if in.Body != nil {
		p.Body = *in.Body
	}
	if in.Base != nil {
		p.Base = *in.Base
		p.BaseSHA = r.branchSHA(*in.Base)
	}
	if in.State != nil && *in.State != p.State {
		if p.Merged {
			c.unprocessable("PullRequest", "state", "custom", "Cannot change the state of a merged pull request.")
			return
		}
		p.State = *in.State
		if p.State == "closed" {
			p.ClosedAt = now
		} else {
			p.ClosedAt = time.Time{}
		}
	}
	p.UpdatedAt = now
	c.json(http.StatusOK, c.s.pullRequest(r, p, false))
}

func listReviews(c *call) {
	r := c.repo()
	p, ok := resolve(c, "pull_number", nil, r.pull)
	if !ok {
		return
	}
	var out []any
	for _, v := range r.reviews[p.Number] {
		out = append(out, c.s.review(r, p, v))
	}
	c.json(http.StatusOK, nonNil(page(c, out)))
}

func createReview(c *call) {
	r := c.repo()
	var in struct {
		CommitID string `json:"commit_id"`
		Body     string `json:"body"`
		Event    string `json:"event"`
	}
	p, ok := resolve(c, "pull_number", &in, r.pull)
	if !ok {
		return
	}
	state := map[string]string{"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED", "": "PENDING"}[in.Event]
	if (state == "APPROVED" || state == "CHANGES_REQUESTED") && p.User == c.s.login {
		c.unprocessable("PullRequestReview", "", "custom", "Can not approve your own pull request")
		return
	}
	if in.CommitID == "" {
		in.CommitID = p.HeadSHA
	}
	v := &Review{ID: c.s.st.id(), User: c.s.login, State: state, Body: in.Body, CommitID: in.CommitID}
	if state != "PENDING" {
		v.SubmittedAt = c.now()
	}
	r.reviews[p.Number] = append(r.reviews[p.Number], v)
	c.json(http.StatusOK, c.s.review(r, p, v))
}

// pullsForCommit lists pull requests whose head is the commit, or whose
// merge commit it is (the merged pull request that introduced it to the
// default branch).
func pullsForCommit(c *call) {
	r := c.repo()
	sha := c.params["commit_sha"]
	var out []any
	for _, n := range sortedNumbers(r.pulls) {
		p := r.pulls[n]
		if p.HeadSHA == sha || (p.MergeSHA != "" && p.MergeSHA == sha) {
			out = append(out, c.s.pullRequest(r, p, true))
		}
	}
	c.json(http.StatusOK, nonNil(page(c, out)))
}
