package githubtest

import (
	"slices"
	"strconv"
	"time"
)

// Seeding helpers set up state the API cannot create for the token's user
// (other people's pull requests and reviews, team memberships); accessors
// return copies of the state for assertions.

func (s *Server) locked(owner, name string) *repo {
	return s.st.repo(owner, name, s.now())
}

// SetBranch sets a branch's head commit.
func (s *Server) SetBranch(owner, repo, branch, sha string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.locked(owner, repo).heads[branch] = sha
}

// AddIssue creates an issue (a number comments can be posted on) and
// returns its number.
func (s *Server) AddIssue(owner, repo string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.locked(owner, repo)
	n := r.newNumber()
	now := s.now().Truncate(time.Second)
	r.issues[n] = &Issue{Number: n, ID: s.st.id(), Title: "Issue " + strconv.Itoa(n), User: "octocat", State: "open", CreatedAt: now, UpdatedAt: now}
	return n
}

// AddPullRequest adds a pull request and returns it with its number and id.
// Zero fields get defaults: User "octocat", State "open", Head "feature",
// Base "main", SHAs from the branches (set with SetBranch or invented), a
// title. A Number already taken, or 0, gets the next free number. Merged
// implies State "closed"; MergeSHA then names the merge commit on Base.
func (s *Server) AddPullRequest(owner, repo string, pr PullRequest) PullRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.locked(owner, repo)
	if pr.Number <= 0 || r.issues[pr.Number] != nil {
		pr.Number = r.newNumber()
	} else if pr.Number > r.nextNumber {
		r.nextNumber = pr.Number
	}
	pr.ID = s.st.id()
	if pr.User == "" {
		pr.User = "octocat"
	}
	if pr.Head == "" {
		pr.Head = "feature"
	}
	if pr.Base == "" {
		pr.Base = "main"
	}
	if pr.HeadSHA == "" {
		pr.HeadSHA = r.branchSHA(pr.Head)
	} else if _, ok := r.heads[pr.Head]; !ok {
		r.heads[pr.Head] = pr.HeadSHA
	}
	if pr.BaseSHA == "" {
		pr.BaseSHA = r.branchSHA(pr.Base)
	}
	if pr.Title == "" {
		pr.Title = "Update " + pr.Head
	}
	now := s.now().Truncate(time.Second)
	if pr.CreatedAt.IsZero() {
		pr.CreatedAt = now
	}
	if pr.UpdatedAt.IsZero() {
		pr.UpdatedAt = pr.CreatedAt
	}
	if pr.Merged {
		pr.State = "closed"
		if pr.MergedAt.IsZero() {
			pr.MergedAt = now
		}
		if pr.MergedBy == "" {
			pr.MergedBy = pr.User
		}
		if pr.MergeSHA == "" {
			pr.MergeSHA = fakeSHA(pr.HeadSHA + "+" + pr.BaseSHA)
		}
	}
	if pr.State == "" {
		pr.State = "open"
	}
	if pr.State == "closed" && pr.ClosedAt.IsZero() {
		pr.ClosedAt = now
	}
	p := pr
	r.pulls[p.Number] = &p
	r.issues[p.Number] = &Issue{Number: p.Number, ID: p.ID, isPull: true}
	return p
}

// MergePullRequest marks a pull request merged by user with the given merge
// commit (which also becomes the base branch's head).
func (s *Server) MergePullRequest(owner, repo string, number int, user, mergeSHA string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.locked(owner, repo)
	p := r.pulls[number]
	if p == nil {
		return false
	}
	now := s.now().Truncate(time.Second)
	p.Merged, p.MergedBy, p.MergeSHA, p.MergedAt = true, user, mergeSHA, now
	p.State, p.ClosedAt, p.UpdatedAt = "closed", now, now
	r.heads[p.Base] = mergeSHA
	return true
}

// AddReview adds a review to pull request number. Zero fields get defaults:
// State "APPROVED", CommitID the head SHA, SubmittedAt now (in order).
func (s *Server) AddReview(owner, repo string, number int, rv Review) Review {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.locked(owner, repo)
	rv.ID = s.st.id()
	if rv.State == "" {
		rv.State = "APPROVED"
	}
	if p := r.pulls[number]; p != nil && rv.CommitID == "" {
		rv.CommitID = p.HeadSHA
	}
	if rv.SubmittedAt.IsZero() && rv.State != "PENDING" {
		rv.SubmittedAt = s.now().Truncate(time.Second)
	}
	v := rv
	r.reviews[number] = append(r.reviews[number], &v)
	return v
}

// AddTeamMember makes user an active member of org/team.
func (s *Server) AddTeamMember(org, team, user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addTeamMember(org, team, user, "member")
}

// Comments returns the comments on issue or pull request n, oldest first.
func (s *Server) Comments(owner, repo string, n int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Comment
	for _, c := range s.locked(owner, repo).comments {
		if c.Issue == n {
			out = append(out, *c)
		}
	}
	return out
}

// CheckRuns returns the check runs on headSHA ("" for all), oldest first.
func (s *Server) CheckRuns(owner, repo, headSHA string) []CheckRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []CheckRun
	for _, c := range s.locked(owner, repo).checkRuns {
		if headSHA == "" || c.HeadSHA == headSHA {
			cp := *c
			cp.Annotations = slices.Clone(c.Annotations)
			out = append(out, cp)
		}
	}
	return out
}

// CommitStatuses returns the statuses posted on sha, oldest first.
func (s *Server) CommitStatuses(owner, repo, sha string) []CommitStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []CommitStatus
	for _, c := range s.locked(owner, repo).statuses {
		if c.SHA == sha {
			out = append(out, *c)
		}
	}
	return out
}

// Deployments returns the repository's deployments with their statuses,
// oldest first.
func (s *Server) Deployments(owner, repo string) []Deployment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Deployment
	for _, d := range s.locked(owner, repo).deployments {
		cp := *d
		cp.Statuses = slices.Clone(d.Statuses)
		out = append(out, cp)
	}
	return out
}

// PullRequests returns the repository's pull requests by number.
func (s *Server) PullRequests(owner, repo string) []PullRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.locked(owner, repo)
	var out []PullRequest
	for _, n := range sortedNumbers(r.pulls) {
		out = append(out, *r.pulls[n])
	}
	return out
}

// Reviews returns the reviews of pull request n, oldest first.
func (s *Server) Reviews(owner, repo string, n int) []Review {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Review
	for _, v := range s.locked(owner, repo).reviews[n] {
		out = append(out, *v)
	}
	return out
}

// JITConfigs returns every JIT runner configuration generated, in order.
func (s *Server) JITConfigs() []JITConfig {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]JITConfig, len(s.st.jit))
	for i, j := range s.st.jit {
		j.Labels = slices.Clone(j.Labels)
		out[i] = j
	}
	return out
}
