package githubtest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-github/v62/github"
)

func client(t *testing.T, s *Server) *github.Client {
	t.Helper()
	c := github.NewClient(nil).WithAuthToken(s.Token)
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	c.BaseURL = u
	return c
}

// violations collects what the server would have reported as test errors.
type violations struct {
	mu   sync.Mutex
	msgs []string
}

func (v *violations) add(m string) { v.mu.Lock(); v.msgs = append(v.msgs, m); v.mu.Unlock() }
func (v *violations) all() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.msgs...)
}

func TestLoadTime(t *testing.T) {
	d, err := LoadTime()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rest-api.github.com.json parsed and routed in %v", d)
}

func TestRejectsInvalidRequests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantMsg                  string
	}{
		{"unknown path", "GET", "/repos/o/r/no-such-thing", "", 404, "no such path"},
		{"wrong method", "PUT", "/repos/o/r/issues/1/comments", `{"body":"x"}`, 405, "method not allowed"},
		{"bad body type", "POST", "/repos/o/r/issues/1/comments", `{"body":42}`, 422, "request does not match"},
		{"missing required field", "POST", "/repos/o/r/issues/1/comments", `{}`, 422, "request does not match"},
		{"not JSON", "POST", "/repos/o/r/check-runs", `{name`, 422, "request does not match"},
		{"bad enum", "POST", "/repos/o/r/statuses/abc", `{"state":"great"}`, 422, "request does not match"},
		{"too many labels type", "POST", "/repos/o/r/actions/runners/generate-jitconfig", `{"name":"a","runner_group_id":1,"labels":[]}`, 422, "request does not match"},
		{"51 annotations", "POST", "/repos/o/r/check-runs", `{"name":"c","head_sha":"abc","output":{"title":"t","summary":"s","annotations":[` + strings.Repeat(`{"path":"p","start_line":1,"end_line":1,"annotation_level":"warning","message":"m"},`, 50) + `{"path":"p","start_line":1,"end_line":1,"annotation_level":"warning","message":"m"}]}}`, 422, "request does not match"},
		{"summary over 65535", "POST", "/repos/o/r/check-runs", `{"name":"c","head_sha":"abc","output":{"title":"t","summary":"` + strings.Repeat("x", 65536) + `"}}`, 422, "request does not match"},
		{"body where none allowed", "GET", "/repos/o/r/pulls/1", `{"x":1}`, 422, "request does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var v violations
			s := New(t, WithViolationHandler(v.add))
			req, _ := http.NewRequest(tt.method, strings.TrimSuffix(s.URL, "/")+tt.path, strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer "+s.Token)
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			got := v.all()
			if len(got) != 1 || !strings.Contains(got[0], tt.wantMsg) {
				t.Errorf("violations = %q, want one containing %q", got, tt.wantMsg)
			}
		})
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	s := New(t, WithToken("sekrit"))
	s.AddIssue("o", "r")
	for _, tc := range []struct {
		header string
		want   int
	}{
		{"", 401}, {"Bearer nope", 401}, {"Basic sekrit", 401}, {"Bearer sekrit", 200}, {"token sekrit", 200},
	} {
		req, _ := http.NewRequest("GET", s.URL+"repos/o/r/issues/1/comments", nil)
		if tc.header != "" {
			req.Header.Set("Authorization", tc.header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("Authorization %q: status %d, want %d", tc.header, resp.StatusCode, tc.want)
		}
	}
	for _, r := range s.Requests() {
		if strings.Contains(r.Authorization, "sekrit") {
			t.Errorf("request log holds the token: %q", r.Authorization)
		}
	}
}

func TestInvalidResponseIsCaught(t *testing.T) {
	t.Parallel()
	var v violations
	s := New(t, WithViolationHandler(v.add))
	req, _ := http.NewRequest("GET", s.URL+"repos/o/r/issues/comments/1", nil)
	route, params, err := s.spec.router.FindRoute(req)
	if err != nil {
		t.Fatal(err)
	}
	in := requestInput(req, route, params)
	for _, tc := range []struct {
		name   string
		status int
		body   string
		ok     bool
	}{
		{"missing fields", 200, `{"id":1}`, false},
		{"wrong type", 200, `{"id":"one","node_id":"x","html_url":"https://x","issue_url":"https://x","user":null,"url":"https://x","created_at":"2024-01-01T00:00:00Z","updated_at":"2024-01-01T00:00:00Z","author_association":"NONE"}`, false},
		{"undeclared success status", 201, `{}`, false},
		{"declared 404", 404, `{"message":"Not Found","documentation_url":"https://docs.github.com"}`, true},
		{"undeclared 409 with error body", 409, `{"message":"Conflict"}`, true},
		{"undeclared 409 with junk", 409, `[1]`, false},
	} {
		rec := &recorder{status: tc.status, header: http.Header{"Content-Type": {"application/json; charset=utf-8"}}}
		rec.body.WriteString(tc.body)
		err := s.validateResponse(req, in, rec, in.Options)
		if (err == nil) != tc.ok {
			t.Errorf("%s: validateResponse error = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestGoGitHubRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := New(t)
	gh := client(t, s)
	const o, r = "acme", "iris"
	pr := s.AddPullRequest(o, r, PullRequest{User: "alice", Head: "train", HeadSHA: strings.Repeat("a", 40)})

	// issue comments
	c1, _, err := gh.Issues.CreateComment(ctx, o, r, pr.Number, &github.IssueComment{Body: github.String("hello")})
	if err != nil {
		t.Fatal(err)
	}
	if c1.GetUser().GetLogin() != DefaultLogin || c1.GetBody() != "hello" || c1.GetID() == 0 {
		t.Errorf("created comment = %+v", c1)
	}
	if _, _, err := gh.Issues.EditComment(ctx, o, r, c1.GetID(), &github.IssueComment{Body: github.String("edited")}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		if _, _, err := gh.Issues.CreateComment(ctx, o, r, pr.Number, &github.IssueComment{Body: github.String("more")}); err != nil {
			t.Fatal(err)
		}
	}
	var all []*github.IssueComment
	opt := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 2}}
	for {
		page, resp, err := gh.Issues.ListComments(ctx, o, r, pr.Number, opt)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	if len(all) != 5 || all[0].GetBody() != "edited" {
		t.Errorf("listed %d comments (first %q), want 5 (first \"edited\")", len(all), all[0].GetBody())
	}
	if _, err := gh.Issues.DeleteComment(ctx, o, r, c1.GetID()); err != nil {
		t.Fatal(err)
	}
	if got := len(s.Comments(o, r, pr.Number)); got != 4 {
		t.Errorf("after delete: %d comments, want 4", got)
	}
	if _, resp, err := gh.Issues.CreateComment(ctx, o, r, 999, &github.IssueComment{Body: github.String("x")}); err == nil || resp.StatusCode != 404 {
		t.Errorf("comment on a missing issue: err=%v, want 404", err)
	}
	if _, resp, err := gh.Issues.CreateComment(ctx, o, r, pr.Number, &github.IssueComment{Body: github.String(strings.Repeat("x", MaxCommentBody+1))}); err == nil || resp.StatusCode != 422 {
		t.Errorf("oversized comment: err=%v, want 422", err)
	}

	// check runs
	cr, _, err := gh.Checks.CreateCheckRun(ctx, o, r, github.CreateCheckRunOptions{
		Name: "mlship/eval", HeadSHA: pr.HeadSHA, Status: github.String("in_progress"),
		Output: &github.CheckRunOutput{Title: github.String("t"), Summary: github.String("s"),
			Annotations: []*github.CheckRunAnnotation{{Path: github.String("model.cue"), StartLine: github.Int(1), EndLine: github.Int(1), AnnotationLevel: github.String("warning"), Message: github.String("m")}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cr2, _, err := gh.Checks.UpdateCheckRun(ctx, o, r, cr.GetID(), github.UpdateCheckRunOptions{
		Name: "mlship/eval", Conclusion: github.String("failure"),
		Output: &github.CheckRunOutput{Title: github.String("t2"), Summary: github.String("s2")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if cr2.GetStatus() != "completed" || cr2.GetConclusion() != "failure" || cr2.GetOutput().GetAnnotationsCount() != 1 {
		t.Errorf("updated check run = status %q conclusion %q annotations %d", cr2.GetStatus(), cr2.GetConclusion(), cr2.GetOutput().GetAnnotationsCount())
	}
	if len(cr2.PullRequests) != 1 || cr2.PullRequests[0].GetNumber() != pr.Number {
		t.Errorf("check run pull_requests = %v, want #%d", cr2.PullRequests, pr.Number)
	}
	list, _, err := gh.Checks.ListCheckRunsForRef(ctx, o, r, pr.HeadSHA, &github.ListCheckRunsOptions{CheckName: github.String("mlship/eval")})
	if err != nil || list.GetTotal() != 1 {
		t.Fatalf("list check runs: %v total=%d", err, list.GetTotal())
	}
	if _, _, err := gh.Checks.GetCheckRun(ctx, o, r, cr.GetID()); err != nil {
		t.Fatal(err)
	}
	if _, resp, err := gh.Checks.GetCheckRun(ctx, o, r, 424242); err == nil || resp.StatusCode != 404 {
		t.Errorf("get missing check run: %v, want 404", err)
	}
	anns, _, err := gh.Checks.ListCheckRunAnnotations(ctx, o, r, cr.GetID(), nil)
	if err != nil || len(anns) != 1 {
		t.Errorf("annotations: %v, %d", err, len(anns))
	}

	// commit statuses
	if _, _, err := gh.Repositories.CreateStatus(ctx, o, r, pr.HeadSHA, &github.RepoStatus{State: github.String("success"), Context: github.String("mlship/validate")}); err != nil {
		t.Fatal(err)
	}
	comb, _, err := gh.Repositories.GetCombinedStatus(ctx, o, r, pr.HeadSHA, nil)
	if err != nil || comb.GetState() != "success" || comb.GetTotalCount() != 1 {
		t.Errorf("combined status: %v %q %d", err, comb.GetState(), comb.GetTotalCount())
	}
	sts, _, err := gh.Repositories.ListStatuses(ctx, o, r, pr.HeadSHA, nil)
	if err != nil || len(sts) != 1 {
		t.Errorf("statuses: %v %d", err, len(sts))
	}

	// deployments
	dep, _, err := gh.Repositories.CreateDeployment(ctx, o, r, &github.DeploymentRequest{
		Ref: github.String(pr.HeadSHA), Environment: github.String("staging"), RequiredContexts: &[]string{},
		Payload: map[string]any{"digest": "sha256:abc"}, AutoMerge: github.Bool(false),
	})
	if err != nil {
		t.Fatal(err)
	}
	var payload map[string]any
	if err := json.Unmarshal(dep.Payload, &payload); err != nil || payload["digest"] != "sha256:abc" {
		t.Errorf("deployment payload = %s (%v)", dep.Payload, err)
	}
	if _, _, err := gh.Repositories.CreateDeploymentStatus(ctx, o, r, dep.GetID(), &github.DeploymentStatusRequest{State: github.String("success"), LogURL: github.String("https://example.com/log")}); err != nil {
		t.Fatal(err)
	}
	deps, _, err := gh.Repositories.ListDeployments(ctx, o, r, &github.DeploymentsListOptions{Environment: "staging"})
	if err != nil || len(deps) != 1 {
		t.Errorf("deployments: %v %d", err, len(deps))
	}
	dss, _, err := gh.Repositories.ListDeploymentStatuses(ctx, o, r, dep.GetID(), nil)
	if err != nil || len(dss) != 1 || dss[0].GetState() != "success" {
		t.Errorf("deployment statuses: %v %v", err, dss)
	}
	if _, _, err := gh.Repositories.GetDeployment(ctx, o, r, dep.GetID()); err != nil {
		t.Error(err)
	}

	// pull requests
	np, _, err := gh.PullRequests.Create(ctx, o, r, &github.NewPullRequest{Title: github.String("Promote to prod"), Head: github.String("promote/prod"), Base: github.String("main"), Body: github.String("plan")})
	if err != nil {
		t.Fatal(err)
	}
	if _, resp, err := gh.PullRequests.Create(ctx, o, r, &github.NewPullRequest{Title: github.String("again"), Head: github.String(o + ":promote/prod"), Base: github.String("main")}); err == nil || resp.StatusCode != 422 {
		t.Errorf("duplicate PR: %v, want 422", err)
	}
	if _, _, err := gh.PullRequests.Edit(ctx, o, r, np.GetNumber(), &github.PullRequest{Body: github.String("plan v2")}); err != nil {
		t.Fatal(err)
	}
	got, _, err := gh.PullRequests.Get(ctx, o, r, np.GetNumber())
	if err != nil || got.GetBody() != "plan v2" || got.GetHead().GetRef() != "promote/prod" {
		t.Errorf("get PR: %v %q", err, got.GetBody())
	}
	open, _, err := gh.PullRequests.List(ctx, o, r, &github.PullRequestListOptions{Head: o + ":promote/prod", Base: "main"})
	if err != nil || len(open) != 1 {
		t.Errorf("list PRs by head: %v %d", err, len(open))
	}
	s.AddReview(o, r, pr.Number, Review{User: "bob"})
	s.AddReview(o, r, pr.Number, Review{User: "carol", State: "CHANGES_REQUESTED"})
	revs, _, err := gh.PullRequests.ListReviews(ctx, o, r, pr.Number, nil)
	if err != nil || len(revs) != 2 || revs[0].GetState() != "APPROVED" {
		t.Errorf("reviews: %v %v", err, revs)
	}
	if _, _, err := gh.PullRequests.CreateReview(ctx, o, r, pr.Number, &github.PullRequestReviewRequest{Event: github.String("APPROVE")}); err != nil {
		t.Error(err)
	}
	s.MergePullRequest(o, r, pr.Number, "bob", strings.Repeat("m", 40))
	byCommit, _, err := gh.PullRequests.ListPullRequestsWithCommit(ctx, o, r, strings.Repeat("m", 40), nil)
	if err != nil || len(byCommit) != 1 || byCommit[0].GetNumber() != pr.Number {
		t.Errorf("PRs for merge commit: %v %v", err, byCommit)
	}

	// teams
	s.AddTeamMember("acme", "ml-leads", "bob")
	m, _, err := gh.Teams.GetTeamMembershipBySlug(ctx, "acme", "ml-leads", "bob")
	if err != nil || m.GetState() != "active" {
		t.Errorf("membership: %v %v", err, m)
	}
	if _, resp, err := gh.Teams.GetTeamMembershipBySlug(ctx, "acme", "ml-leads", "mallory"); err == nil || resp.StatusCode != 404 {
		t.Errorf("non-member: %v, want 404", err)
	}

	// JIT runner
	jit, _, err := gh.Actions.GenerateRepoJITConfig(ctx, o, r, &github.GenerateJITConfigRequest{Name: "gpu-1", RunnerGroupID: 1, Labels: []string{"self-hosted", "linux", "gpu"}})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(jit.GetEncodedJITConfig())
	if err != nil || !bytes.Contains(raw, []byte(".runner")) {
		t.Errorf("encoded config does not decode to runner files: %v", err)
	}
	if _, resp, err := gh.Actions.GenerateRepoJITConfig(ctx, o, r, &github.GenerateJITConfigRequest{Name: "gpu-1", RunnerGroupID: 1, Labels: []string{"gpu"}}); err == nil || resp.StatusCode != 409 {
		t.Errorf("duplicate runner name: %v, want 409", err)
	}
	if js := s.JITConfigs(); len(js) != 1 || js[0].Name != "gpu-1" || js[0].RunnerID != jit.GetRunner().GetID() {
		t.Errorf("JITConfigs() = %+v", js)
	}

	rp, _, err := gh.Repositories.Get(ctx, o, r)
	if err != nil || rp.GetDefaultBranch() != "main" || rp.GetFullName() != o+"/"+r {
		t.Errorf("get repo: %v %v", err, rp)
	}

	for _, req := range s.Requests() {
		if req.Operation == "" {
			t.Errorf("request without operation: %+v", req)
		}
	}
}

func TestSlashInPathParameter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := New(t)
	gh := client(t, s)
	sha := strings.Repeat("9", 40)
	s.SetBranch("o", "r", "feature/x", sha)
	if _, _, err := gh.Checks.CreateCheckRun(ctx, "o", "r", github.CreateCheckRunOptions{Name: "c", HeadSHA: sha}); err != nil {
		t.Fatal(err)
	}
	res, _, err := gh.Checks.ListCheckRunsForRef(ctx, "o", "r", "feature/x", nil)
	if err != nil || res.GetTotal() != 1 {
		t.Errorf("check runs for branch feature/x: %v, total %d", err, res.GetTotal())
	}
}

func TestDeploymentRequiresPassingStatuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := New(t)
	gh := client(t, s)
	sha := strings.Repeat("b", 40)
	if _, _, err := gh.Repositories.CreateStatus(ctx, "o", "r", sha, &github.RepoStatus{State: github.String("failure"), Context: github.String("ci")}); err != nil {
		t.Fatal(err)
	}
	_, resp, err := gh.Repositories.CreateDeployment(ctx, "o", "r", &github.DeploymentRequest{Ref: github.String(sha)})
	if err == nil || resp.StatusCode != 409 {
		t.Errorf("deploy over a failed status: %v, want 409", err)
	}
	if _, _, err := gh.Repositories.CreateDeployment(ctx, "o", "r", &github.DeploymentRequest{Ref: github.String(sha), RequiredContexts: &[]string{}}); err != nil {
		t.Errorf("deploy with required_contexts=[]: %v", err)
	}
}

func TestFaultInjection(t *testing.T) {
	t.Parallel()
	s := New(t)
	gh := client(t, s)
	s.AddIssue("o", "r")
	s.InjectFault(Fault{Method: "GET", Path: "/repos/o/r/issues/1/comments", Status: 502, Times: 2})
	for i, want := range []int{502, 502, 200} {
		_, resp, _ := gh.Issues.ListComments(context.Background(), "o", "r", 1, nil)
		if resp == nil || resp.StatusCode != want {
			t.Errorf("call %d: %v, want %d", i, resp, want)
		}
	}
	s.InjectFault(SecondaryRateLimit("", "", 0, 1))
	_, _, err := gh.Issues.ListComments(context.Background(), "o", "r", 1, nil)
	var abuse *github.AbuseRateLimitError
	if !errors.As(err, &abuse) {
		t.Errorf("secondary rate limit fault gave %T %v, want *github.AbuseRateLimitError", err, err)
	}
}

func TestGHESPrefix(t *testing.T) {
	t.Parallel()
	s := New(t)
	gh, err := github.NewClient(nil).WithAuthToken(s.Token).WithEnterpriseURLs(s.URL, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	n := s.AddIssue("o", "r")
	if _, _, err := gh.Issues.CreateComment(context.Background(), "o", "r", n, &github.IssueComment{Body: github.String("x")}); err != nil {
		t.Fatal(err)
	}
	if got := s.Requests()[0].Path; got != "/repos/o/r/issues/1/comments" {
		t.Errorf("logged path %q", got)
	}
}
