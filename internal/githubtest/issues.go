package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// issues and labels.

// GitHub's limits on issues and labels (422 beyond them).
const (
	MaxIssueTitle = 256
	MaxIssueBody  = 65536
	MaxLabelName  = 50
	// defaultLabelColor is the colour GitHub gives a label created on demand.
	defaultLabelColor = "ededed"
)

// issueRec finds issue (or pull request) number n; for a pull request,
// issues/get and issues/update act on the pull request (see asIssue).
func (r *repo) issueRec(n int64) (*Issue, bool) {
	is := r.issues[int(n)]
	return is, is != nil
}

// asIssue returns the issue view of number n: the stored issue, or for a
// pull request its title, body and state.
func (r *repo) asIssue(is *Issue) Issue {
	v := *is
	if p := r.pulls[is.Number]; is.isPull && p != nil {
		v.Title, v.Body, v.User, v.State = p.Title, p.Body, p.User, p.State
		v.CreatedAt, v.UpdatedAt, v.ClosedAt = p.CreatedAt, p.UpdatedAt, p.ClosedAt
		if p.Merged {
			v.ClosedBy = p.MergedBy
		}
	}
	return v
}

// labelNamed finds a label, case-insensitively as GitHub does.
func (r *repo) labelNamed(name string) *Label {
	for _, l := range r.labels {
		if strings.EqualFold(l.Name, name) {
			return l
		}
	}
	return nil
}

// labelsFromInput reads GitHub's label list (names, or objects with a
// name) and returns the names as stored, creating missing labels as
// api.github.com does for a user with push access.
func labelsFromInput(c *call, r *repo, raw []json.RawMessage) ([]string, bool) {
	names := []string{}
	seen := map[string]bool{}
	for _, item := range raw {
		var name string
		if json.Unmarshal(item, &name) != nil {
			var o struct {
				Name string `json:"name"`
			}
			_ = json.Unmarshal(item, &o)
			name = o.Name
		}
		name = strings.TrimSpace(name)
		if name == "" {
			c.unprocessable("Label", "name", "missing_field", "")
			return nil, false
		}
		if utf8.RuneCountInString(name) > MaxLabelName {
			c.unprocessable("Label", "name", "custom", fmt.Sprintf("name is too long (maximum is %d characters)", MaxLabelName))
			return nil, false
		}
		l := r.labelNamed(name)
		if l == nil {
			l = &Label{ID: c.s.st.id(), Name: name, Color: defaultLabelColor}
			r.labels = append(r.labels, l)
		}
		if !seen[strings.ToLower(l.Name)] {
			seen[strings.ToLower(l.Name)] = true
			names = append(names, l.Name)
		}
	}
	return names, true
}

// titleOf reads a title given as a string or a number.
func titleOf(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String(), true
	}
	return "", false
}

func issueTextTooLong(c *call, title, body string) bool {
	if utf8.RuneCountInString(title) > MaxIssueTitle {
		c.unprocessable("Issue", "title", "custom", fmt.Sprintf("title is too long (maximum is %d characters)", MaxIssueTitle))
		return true
	}
	if utf8.RuneCountInString(body) > MaxIssueBody {
		c.unprocessable("Issue", "body", "custom", fmt.Sprintf("body is too long (maximum is %d characters)", MaxIssueBody))
		return true
	}
	return false
}

func createIssue(c *call) {
	r := c.repo()
	var in struct {
		Title  json.RawMessage   `json:"title"`
		Body   *string           `json:"body"`
		Labels []json.RawMessage `json:"labels"`
	}
	if !c.decode(&in) {
		return
	}
	title, _ := titleOf(in.Title)
	if strings.TrimSpace(title) == "" {
		c.unprocessable("Issue", "title", "missing_field", "")
		return
	}
	body := ""
	if in.Body != nil {
		body = *in.Body
	}
	if issueTextTooLong(c, title, body) {
		return
	}
	labels, ok := labelsFromInput(c, r, in.Labels)
	if !ok {
		return
	}
	now := c.now()
	is := &Issue{Number: r.newNumber(), ID: c.s.st.id(), Title: title, Body: body, User: c.s.login, State: "open", Labels: labels, CreatedAt: now, UpdatedAt: now}
	r.issues[is.Number] = is
	c.w.header.Set("Location", fmt.Sprintf("%s/issues/%d", c.s.repoURL(r), is.Number))
	c.json(http.StatusCreated, c.s.issue(r, is))
}

func getIssue(c *call) {
	r := c.repo()
	if is, ok := resolve(c, "issue_number", nil, r.issueRec); ok {
		c.json(http.StatusOK, c.s.issue(r, is))
	}
}

func updateIssue(c *call) {
	r := c.repo()
	var in struct {
		Title       json.RawMessage    `json:"title"`
		Body        json.RawMessage    `json:"body"`
		State       *string            `json:"state"`
		StateReason *string            `json:"state_reason"`
		Labels      *[]json.RawMessage `json:"labels"`
	}
	is, ok := resolve(c, "issue_number", &in, r.issueRec)
	if !ok {
		return
	}
	cur := r.asIssue(is)
	title, body := cur.Title, cur.Body
	if t, set := titleOf(in.Title); set {
		if strings.TrimSpace(t) == "" {
			c.unprocessable("Issue", "title", "missing_field", "")
			return
		}
		title = t
	}
	if len(in.Body) > 0 {
		var b *string
		_ = json.Unmarshal(in.Body, &b)
		body = ""
		if b != nil {
			body = *b
		}
	}
	if issueTextTooLong(c, title, body) {
		return
	}
	var labels []string
	if in.Labels != nil {
		if labels, ok = labelsFromInput(c, r, *in.Labels); !ok {
			return
		}
		is.Labels = labels
	}
	now := c.now()
	state := cur.State
	if in.State != nil && *in.State != cur.State {
		state = *in.State
		switch state {
		case "closed":
			is.StateReason = "completed"
			if in.StateReason != nil && *in.StateReason != "" && *in.StateReason != "reopened" {
				is.StateReason = *in.StateReason
			}
			is.ClosedAt, is.ClosedBy = now, c.s.login
		case "open":
			is.StateReason = "reopened"
			is.ClosedAt, is.ClosedBy = time.Time{}, ""
		}
	}
	if p := r.pulls[is.Number]; is.isPull && p != nil {
		p.Title, p.Body, p.UpdatedAt = title, body, now
		if state != p.State {
			if p.Merged {
				c.unprocessable("PullRequest", "state", "custom", "A merged pull request cannot be reopened")
				return
			}
			p.State = state
			p.ClosedAt = is.ClosedAt
		}
	} else {
		is.Title, is.Body, is.State = title, body, state
	}
	is.UpdatedAt = now
	c.json(http.StatusOK, c.s.issue(r, is))
}

func listIssues(c *call) {
	r := c.repo()
	q := c.r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	var want []string
	if v := q.Get("labels"); v != "" {
		for _, l := range strings.Split(v, ",") {
			if l = strings.TrimSpace(l); l != "" {
				want = append(want, l)
			}
		}
	}
	var since time.Time
	if v := q.Get("since"); v != "" {
		since, _ = time.Parse(time.RFC3339, v)
	}
	var views []Issue
	for _, n := range sortedNumbers(r.issues) {
		v := r.asIssue(r.issues[n])
		if state != "all" && v.State != state {
			continue
		}
		if cr := q.Get("creator"); cr != "" && !strings.EqualFold(cr, v.User) {
			continue
		}
		// No issue has an assignee or a milestone here.
		if a := q.Get("assignee"); a != "" && a != "none" {
			continue
		}
		if m := q.Get("milestone"); m != "" && m != "none" {
			continue
		}
		if v.UpdatedAt.Before(since) {
			continue
		}
		if !hasAllLabels(v.Labels, want) {
			continue
		}
		views = append(views, v)
	}
	sortBy, dir := q.Get("sort"), q.Get("direction")
	if dir == "" {
		dir = "desc"
	}
	comments := func(n int) int {
		k := 0
		for _, cm := range r.comments {
			if cm.Issue == n {
				k++
			}
		}
		return k
	}
	less := func(a, b Issue) bool {
		switch sortBy {
		case "updated":
			if !a.UpdatedAt.Equal(b.UpdatedAt) {
				return a.UpdatedAt.Before(b.UpdatedAt)
			}
		case "comments":
			if ca, cb := comments(a.Number), comments(b.Number); ca != cb {
				return ca < cb
			}
		default:
			if !a.CreatedAt.Equal(b.CreatedAt) {
				return a.CreatedAt.Before(b.CreatedAt)
			}
		}
		return a.Number < b.Number
	}
	sort.SliceStable(views, func(i, j int) bool {
		if dir == "asc" {
			return less(views[i], views[j])
		}
		return less(views[j], views[i])
	})
	out := make([]any, 0, len(views))
	for _, v := range page(c, views) {
		out = append(out, c.s.issue(r, r.issues[v.Number]))
	}
	c.json(http.StatusOK, out)
}

func hasAllLabels(have, want []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if strings.EqualFold(h, w) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func listLabels(c *call) {
	r := c.repo()
	out := make([]any, 0, len(r.labels))
	for _, l := range page(c, r.labels) {
		out = append(out, c.s.label(r, l))
	}
	c.json(http.StatusOK, out)
}

func getLabel(c *call) {
	r := c.repo()
	l := r.labelNamed(c.params["name"])
	if l == nil {
		c.notFound()
		return
	}
	c.json(http.StatusOK, c.s.label(r, l))
}

func createLabel(c *call) {
	r := c.repo()
	var in struct {
		Name        string  `json:"name"`
		Color       *string `json:"color"`
		Description *string `json:"description"`
	}
	if !c.decode(&in) {
		return
	}
	name := strings.TrimSpace(in.Name)
	switch {
	case name == "":
		c.unprocessable("Label", "name", "missing_field", "")
		return
	case utf8.RuneCountInString(name) > MaxLabelName:
		c.unprocessable("Label", "name", "custom", fmt.Sprintf("name is too long (maximum is %d characters)", MaxLabelName))
		return
	case r.labelNamed(name) != nil:
		c.unprocessable("Label", "name", "already_exists", "")
		return
	}
	l := &Label{ID: c.s.st.id(), Name: name, Color: defaultLabelColor}
	if in.Color != nil {
		col := strings.TrimPrefix(*in.Color, "#")
		if _, err := strconv.ParseUint(col, 16, 32); err != nil || len(col) != 6 {
			c.unprocessable("Label", "color", "invalid", "")
			return
		}
		l.Color = strings.ToLower(col)
	}
	if in.Description != nil {
		if utf8.RuneCountInString(*in.Description) > 100 {
			c.unprocessable("Label", "description", "custom", "description is too long (maximum is 100 characters)")
			return
		}
		l.Description = *in.Description
	}
	r.labels = append(r.labels, l)
	c.w.header.Set("Location", c.s.repoURL(r)+"/labels/"+name)
	c.json(http.StatusCreated, c.s.label(r, l))
}

// AddIssueWith adds an issue as someone else may have opened it (another
// author, a forged marker, labels, closed). Zero fields get defaults: User
// "octocat", State "open", a title, times now; labels are created as
// needed. Number and ID are assigned. It returns the stored issue.
func (s *Server) AddIssueWith(owner, repo string, is Issue) Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.locked(owner, repo)
	is.Number = r.newNumber()
	is.ID = s.st.id()
	is.isPull = false
	if is.User == "" {
		is.User = "octocat"
	}
	if is.State == "" {
		is.State = "open"
	}
	if is.Title == "" {
		is.Title = "Issue " + strconv.Itoa(is.Number)
	}
	now := s.now().Truncate(time.Second)
	if is.CreatedAt.IsZero() {
		is.CreatedAt = now
	}
	if is.UpdatedAt.IsZero() {
		is.UpdatedAt = is.CreatedAt
	}
	if is.State == "closed" {
		if is.ClosedAt.IsZero() {
			is.ClosedAt = now
		}
		if is.StateReason == "" {
			is.StateReason = "completed"
		}
	}
	var names []string
	for _, name := range is.Labels {
		l := r.labelNamed(name)
		if l == nil {
			l = &Label{ID: s.st.id(), Name: name, Color: defaultLabelColor}
			r.labels = append(r.labels, l)
		}
		names = append(names, l.Name)
	}
	is.Labels = names
	stored := is
	r.issues[stored.Number] = &stored
	return stored
}

// Issues returns the issues of owner/repo (pull requests left out), by number.
func (s *Server) Issues(owner, repo string) []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.locked(owner, repo)
	var out []Issue
	for _, n := range sortedNumbers(r.issues) {
		if is := r.issues[n]; !is.isPull {
			cp := *is
			cp.Labels = slices.Clone(is.Labels)
			out = append(out, cp)
		}
	}
	return out
}

// Labels returns the labels of owner/repo, in the order they were created.
func (s *Server) Labels(owner, repo string) []Label {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Label
	for _, l := range s.locked(owner, repo).labels {
		out = append(out, *l)
	}
	return out
}
