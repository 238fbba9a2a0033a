package ghapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-github/v62/github"
	"github.com/mlship/mlship/internal/githubtest"
)

const owner, repo = "acme", "iris"

func newClient(t *testing.T, s *githubtest.Server, opts ...Option) *Client {
	t.Helper()
	opts = append([]Option{WithBaseURL(s.URL), WithBackoff(time.Millisecond, 20*time.Millisecond)}, opts...)
	c, err := New(context.Background(), s.Token, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestUpsertStickyComment(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := githubtest.New(t)
	c := newClient(t, s)
	pr := s.AddPullRequest(owner, repo, githubtest.PullRequest{User: "alice"})
	// Other comments, more than one page of them, including one quoting the
	// marker, must be left alone.
	for i := 0; i < 105; i++ {
		if _, _, err := c.GitHub().Issues.CreateComment(ctx, owner, repo, pr.Number, ptrComment(fmt.Sprintf("noise %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := c.GitHub().Issues.CreateComment(ctx, owner, repo, pr.Number, ptrComment("> "+StickyMarker("iris")+"\n> quoted")); err != nil {
		t.Fatal(err)
	}

	id1, created, err := c.UpsertStickyComment(ctx, owner, repo, pr.Number, "iris", "report v1")
	if err != nil || !created {
		t.Fatalf("first upsert: id=%d created=%v err=%v", id1, created, err)
	}
	id2, created, err := c.UpsertStickyComment(ctx, owner, repo, pr.Number, "iris", "report v2")
	if err != nil || created || id2 != id1 {
		t.Fatalf("second upsert: id=%d (want %d) created=%v err=%v", id2, id1, created, err)
	}
	// Another model on the same PR gets its own comment.
	id3, created, err := c.UpsertStickyComment(ctx, owner, repo, pr.Number, "other-model", "x")
	if err != nil || !created || id3 == id1 {
		t.Fatalf("other marker: id=%d created=%v err=%v", id3, created, err)
	}
	var sticky []githubtest.Comment
	for _, cm := range s.Comments(owner, repo, pr.Number) {
		if strings.HasPrefix(cm.Body, StickyMarker("iris")) {
			sticky = append(sticky, cm)
		}
	}
	if len(sticky) != 1 || sticky[0].ID != id1 || !strings.HasSuffix(sticky[0].Body, "report v2") {
		t.Fatalf("sticky comments = %+v, want one (id %d) with report v2", sticky, id1)
	}
	// Unchanged body: no PATCH.
	before := len(s.Requests())
	if _, _, err := c.UpsertStickyComment(ctx, owner, repo, pr.Number, "iris", "report v2"); err != nil {
		t.Fatal(err)
	}
	for _, r := range s.Requests()[before:] {
		if r.Method != http.MethodGet {
			t.Errorf("unchanged body sent %s %s", r.Method, r.Path)
		}
	}
}

func ptrComment(body string) *githubIssueComment { return &githubIssueComment{Body: &body} }

func TestUpsertStickyCommentTruncates(t *testing.T) {
	t.Parallel()
	s := githubtest.New(t)
	c := newClient(t, s)
	n := s.AddIssue(owner, repo)
	huge := strings.Repeat("é", MaxCommentBody+10)
	if _, _, err := c.UpsertStickyComment(context.Background(), owner, repo, n, "iris", huge); err != nil {
		t.Fatal(err)
	}
	got := s.Comments(owner, repo, n)[0].Body
	if utf8.RuneCountInString(got) != MaxCommentBody || !strings.HasSuffix(got, TruncatedNote) || !strings.HasPrefix(got, StickyMarker("iris")) {
		t.Errorf("body: %d characters, suffix %q", utf8.RuneCountInString(got), got[len(got)-40:])
	}
}

func TestStickyMarkerRejectsBadNames(t *testing.T) {
	t.Parallel()
	s := githubtest.New(t)
	c := newClient(t, s)
	for _, m := range []string{"", "a-->b", "two\nlines", "x>"} {
		if _, _, err := c.UpsertStickyComment(context.Background(), owner, repo, 1, m, "b"); err == nil {
			t.Errorf("marker %q accepted", m)
		}
	}
	if len(s.Requests()) != 0 {
		t.Errorf("bad markers made requests")
	}
}

func TestUpsertCheckRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := githubtest.New(t)
	c := newClient(t, s)
	sha := strings.Repeat("c", 40)
	var anns []Annotation
	for i := 1; i <= 120; i++ {
		anns = append(anns, Annotation{Path: "model.cue", StartLine: i, StartColumn: 2, EndColumn: 5, Level: LevelFailure, Message: fmt.Sprintf("error %d", i)})
	}
	id, err := c.UpsertCheckRun(ctx, owner, repo, sha, "mlship/eval", CheckOutput{Title: "Eval", Summary: "ok", Conclusion: "success", Annotations: anns})
	if err != nil {
		t.Fatal(err)
	}
	runs := s.CheckRuns(owner, repo, sha)
	if len(runs) != 1 || runs[0].ID != id {
		t.Fatalf("check runs = %+v", runs)
	}
	cr := runs[0]
	if len(cr.Annotations) != 120 || cr.MaxAnnotationsPerRequest != 50 || cr.Requests != 3 || cr.Conclusion != "success" {
		t.Errorf("annotations %d, max/request %d, requests %d, conclusion %q", len(cr.Annotations), cr.MaxAnnotationsPerRequest, cr.Requests, cr.Conclusion)
	}
	// Second run: same check run, now failing, oversized summary cut.
	id2, err := c.UpsertCheckRun(ctx, owner, repo, sha, "mlship/eval", CheckOutput{Title: "Eval", Summary: strings.Repeat("s", MaxCheckRunSummary+5), Conclusion: "failure"})
	if err != nil || id2 != id {
		t.Fatalf("update: id %d (want %d) err %v", id2, id, err)
	}
	cr = s.CheckRuns(owner, repo, sha)[0]
	if cr.Conclusion != "failure" || utf8.RuneCountInString(cr.Summary) != MaxCheckRunSummary {
		t.Errorf("after update: conclusion %q, summary %d chars", cr.Conclusion, len(cr.Summary))
	}
	// In progress: no conclusion.
	id3, err := c.UpsertCheckRun(ctx, owner, repo, sha, "mlship/drift", CheckOutput{Summary: "running"})
	if err != nil || id3 == id {
		t.Fatal(err)
	}
	if got := s.CheckRuns(owner, repo, sha)[1]; got.Status != "in_progress" || got.Conclusion != "" {
		t.Errorf("in-progress run: %q %q", got.Status, got.Conclusion)
	}
}

func TestDeployments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := githubtest.New(t)
	c := newClient(t, s)
	sha := strings.Repeat("d", 40)
	// A pending unrelated status must not block: mlship sends required_contexts [].
	if err := c.SetCommitStatus(ctx, owner, repo, sha, "pending", "ci/slow", strings.Repeat("d", 200), ""); err != nil {
		t.Fatal(err)
	}
	if st := s.CommitStatuses(owner, repo, sha); len(st) != 1 || utf8.RuneCountInString(st[0].Description) != 140 || !strings.HasSuffix(st[0].Description, "…") || st[0].Context != "ci/slow" {
		t.Errorf("statuses = %+v", st)
	}
	id, err := c.CreateDeployment(ctx, owner, repo, DeploymentRequest{
		Ref: sha, Environment: "staging", Description: strings.Repeat("long ", 100),
		Payload: map[string]string{"digest": "sha256:" + strings.Repeat("0", 64), "version": "1.2.0"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetDeploymentStatus(ctx, owner, repo, id, DeploymentStatus{State: "success", LogURL: "https://github.com/acme/iris/actions/runs/1", Description: "promoted"}); err != nil {
		t.Fatal(err)
	}
	deps := s.Deployments(owner, repo)
	if len(deps) != 1 || deps[0].Environment != "staging" || deps[0].SHA != sha || len(deps[0].Statuses) != 1 || deps[0].Statuses[0].State != "success" {
		t.Fatalf("deployments = %+v", deps)
	}
	if !strings.Contains(string(deps[0].Payload), `"version":"1.2.0"`) || utf8.RuneCountInString(deps[0].Description) > 140 {
		t.Errorf("payload %s, description %d chars", deps[0].Payload, len(deps[0].Description))
	}
	list, err := c.ListDeployments(ctx, owner, repo, "staging", "", 0)
	if err != nil || len(list) != 1 || list[0].ID != id {
		t.Errorf("ListDeployments = %+v, %v", list, err)
	}
	if err := c.SetDeploymentStatus(ctx, owner, repo, 999999, DeploymentStatus{State: "success"}); !IsNotFound(err) {
		t.Errorf("status on a missing deployment: %v, want 404", err)
	}
	if _, err := c.CreateDeployment(ctx, owner, repo, DeploymentRequest{Ref: sha}); err == nil {
		t.Error("deployment without environment accepted")
	}
}

func TestApprovingReviews(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := githubtest.New(t)
	c := newClient(t, s)
	pr := s.AddPullRequest(owner, repo, githubtest.PullRequest{User: "alice"})
	s.AddReview(owner, repo, pr.Number, githubtest.Review{User: "bob", State: "APPROVED"})
	s.AddReview(owner, repo, pr.Number, githubtest.Review{User: "bob", State: "COMMENTED"})  // does not withdraw
	s.AddReview(owner, repo, pr.Number, githubtest.Review{User: "carol", State: "APPROVED"}) // then
	s.AddReview(owner, repo, pr.Number, githubtest.Review{User: "carol", State: "CHANGES_REQUESTED"})
	s.AddReview(owner, repo, pr.Number, githubtest.Review{User: "dave", State: "CHANGES_REQUESTED"})
	s.AddReview(owner, repo, pr.Number, githubtest.Review{User: "dave", State: "APPROVED", CommitID: strings.Repeat("0", 40)})
	s.AddReview(owner, repo, pr.Number, githubtest.Review{User: "erin", State: "APPROVED"})
	s.AddReview(owner, repo, pr.Number, githubtest.Review{User: "erin", State: "DISMISSED"})
	got, err := c.ApprovingReviews(ctx, owner, repo, pr.Number)
	if err != nil {
		t.Fatal(err)
	}
	var users []string
	for _, r := range got {
		users = append(users, r.User)
	}
	if strings.Join(users, ",") != "bob,dave" {
		t.Errorf("approvers = %v, want bob,dave", users)
	}
	if got[0].CommitID != pr.HeadSHA || got[1].CommitID != strings.Repeat("0", 40) {
		t.Errorf("commit ids = %q, %q", got[0].CommitID, got[1].CommitID)
	}
	if _, err := c.ApprovingReviews(ctx, owner, repo, 4242); !IsNotFound(err) {
		t.Errorf("missing PR: %v, want not found", err)
	}
}

func TestIsTeamMember(t *testing.T) {
	t.Parallel()
	s := githubtest.New(t)
	c := newClient(t, s)
	s.AddTeamMember("acme", "ml-leads", "bob")
	for _, tc := range []struct {
		user string
		want bool
	}{{"bob", true}, {"BOB", true}, {"mallory", false}} {
		got, err := c.IsTeamMember(context.Background(), "acme", "ml-leads", tc.user)
		if err != nil || got != tc.want {
			t.Errorf("IsTeamMember(%s) = %v, %v; want %v", tc.user, got, err, tc.want)
		}
	}
}

func TestPullRequests(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := githubtest.New(t)
	c := newClient(t, s)
	pr, created, err := c.UpsertPullRequest(ctx, owner, repo, "mlship/promote-prod", "main", "Promote iris to prod", "plan v1")
	if err != nil || !created || pr.Number == 0 {
		t.Fatalf("create: %+v %v %v", pr, created, err)
	}
	pr2, created, err := c.UpsertPullRequest(ctx, owner, repo, "mlship/promote-prod", "main", "Promote iris to prod", "plan v2")
	if err != nil || created || pr2.Number != pr.Number || pr2.Body != "plan v2" {
		t.Fatalf("update: %+v %v %v", pr2, created, err)
	}
	if n := len(s.PullRequests(owner, repo)); n != 1 {
		t.Errorf("%d pull requests, want 1", n)
	}
	got, err := c.GetPullRequest(ctx, owner, repo, pr.Number)
	if err != nil || got.HeadRef != "mlship/promote-prod" || got.Author != githubtest.DefaultLogin {
		t.Errorf("get: %+v %v", got, err)
	}
	merge := strings.Repeat("e", 40)
	s.MergePullRequest(owner, repo, pr.Number, "bob", merge)
	prs, err := c.PullRequestsForCommit(ctx, owner, repo, merge)
	if err != nil || len(prs) != 1 || prs[0].Number != pr.Number || !prs[0].Merged || prs[0].MergeCommitSHA != merge {
		t.Errorf("for merge commit: %+v %v", prs, err)
	}
	none, err := c.PullRequestsForCommit(ctx, owner, repo, strings.Repeat("f", 40))
	if err != nil || len(none) != 0 {
		t.Errorf("direct push: %+v %v", none, err)
	}
	// After the merge a new promotion opens a new PR.
	pr3, created, err := c.UpsertPullRequest(ctx, owner, repo, "mlship/promote-prod", "main", "Promote again", "b")
	if err != nil || !created || pr3.Number == pr.Number {
		t.Errorf("after merge: %+v %v %v", pr3, created, err)
	}
}

func TestGenerateJITConfig(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := githubtest.New(t)
	c := newClient(t, s)
	cfg, id, err := c.GenerateJITConfig(ctx, owner, repo, "gpu-host-1", []string{"gpu", "a100"}, 0)
	if err != nil || cfg == "" || id == 0 {
		t.Fatalf("%q %d %v", cfg, id, err)
	}
	js := s.JITConfigs()
	if len(js) != 1 || js[0].RunnerGroupID != DefaultRunnerGroup || strings.Join(js[0].Labels, ",") != "gpu,a100" || js[0].EncodedConfig != cfg {
		t.Errorf("JITConfigs = %+v", js)
	}
	if _, _, err := c.GenerateJITConfig(ctx, owner, repo, "gpu-host-1", []string{"gpu"}, 0); StatusCode(err) != http.StatusConflict {
		t.Errorf("duplicate name: %v, want 409", err)
	}
	if _, _, err := c.GenerateJITConfig(ctx, owner, repo, "x", nil, 0); err == nil {
		t.Error("no labels accepted")
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name     string
		fault    githubtest.Fault
		retries  int
		wantErr  bool
		wantReqs int
	}{
		{"5xx then success", githubtest.Fault{Status: 502, Times: 2}, 4, false, 3},
		{"5xx beyond the bound", githubtest.Fault{Status: 503, Times: 10}, 2, true, 3},
		{"secondary rate limit", githubtest.SecondaryRateLimit("", "", 0, 2), 4, false, 3},
		{"4xx is not retried", githubtest.Fault{Status: 404, Times: 1}, 4, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := githubtest.New(t)
			c := newClient(t, s, WithRetries(tt.retries))
			s.AddTeamMember("acme", "t", "bob")
			tt.fault.Path = "/orgs/acme/teams/t/memberships/bob"
			s.InjectFault(tt.fault)
			ok, err := c.IsTeamMember(ctx, "acme", "t", "bob")
			if tt.name == "4xx is not retried" {
				// 404 means "not a member", not an error.
				err = errors.Join(err, boolErr(ok))
			}
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if n := len(s.Requests()); n != tt.wantReqs {
				t.Errorf("%d requests, want %d", n, tt.wantReqs)
			}
		})
	}
}

func boolErr(ok bool) error {
	if ok {
		return nil
	}
	return errors.New("not a member")
}

// An ambiguous failure of a create must not lead to a duplicate: the
// sticky comment is looked up again before another create.
func TestStickyCommentCreateRetryNoDuplicate(t *testing.T) {
	t.Parallel()
	s := githubtest.New(t)
	c := newClient(t, s)
	n := s.AddIssue(owner, repo)
	path := fmt.Sprintf("/repos/%s/%s/issues/%d/comments", owner, repo, n)
	s.InjectFault(githubtest.Fault{Method: "POST", Path: path, Status: 502})
	id, created, err := c.UpsertStickyComment(context.Background(), owner, repo, n, "m", "body")
	if err != nil || !created || id == 0 {
		t.Fatalf("%d %v %v", id, created, err)
	}
	if got := len(s.Comments(owner, repo, n)); got != 1 {
		t.Errorf("%d comments, want 1", got)
	}
}

func TestErrorsNameEndpointNotToken(t *testing.T) {
	t.Parallel()
	s := githubtest.New(t, githubtest.WithToken("ghp_SECRETSECRETSECRET"))
	c := newClient(t, s)
	n := s.AddIssue(owner, repo)
	s.InjectFault(githubtest.Fault{Status: 500, Times: 10, Body: `{"message":"boom ghp_SECRETSECRETSECRET"}`})
	_, _, err := c.UpsertStickyComment(context.Background(), owner, repo, n, "m", "b")
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if strings.Contains(msg, "SECRET") {
		t.Errorf("token leaked: %s", msg)
	}
	if !strings.Contains(msg, "GET "+s.URL+"repos/acme/iris/issues/1/comments") || !strings.Contains(msg, "500") || !strings.Contains(msg, "attempts") {
		t.Errorf("error does not name endpoint, status and attempts: %s", msg)
	}

	bad, err := New(context.Background(), "wrong", WithBaseURL(s.URL), WithRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.IsTeamMember(context.Background(), "o", "t", "u")
	if StatusCode(err) != 401 || !strings.Contains(err.Error(), "GITHUB_TOKEN") {
		t.Errorf("bad token: %v", err)
	}
}

func TestNewValidation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		token string
		opts  []Option
	}{
		{"", nil},
		{"t", []Option{WithBaseURL("ftp://x")}},
		{"t", []Option{WithBaseURL("not a url")}},
		{"t", []Option{WithRetries(-1)}},
		{"t", []Option{WithBackoff(0, time.Second)}},
	} {
		if _, err := New(ctx, tc.token, tc.opts...); err == nil {
			t.Errorf("New(%q, %d opts) accepted", tc.token, len(tc.opts))
		}
	}
	c, err := New(ctx, "t", WithBaseURL("https://ghe.example.com/api/v3"))
	if err != nil || c.BaseURL() != "https://ghe.example.com/api/v3/" {
		t.Errorf("GHES base: %v %v", c, err)
	}
	c, err = New(ctx, "t")
	if err != nil || c.BaseURL() != "https://api.github.com/" {
		t.Errorf("default base: %v", err)
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in    string
		limit int
		want  string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{strings.Repeat("a", 200), 100, strings.Repeat("a", 100-utf8.RuneCountInString(TruncatedNote)) + TruncatedNote},
		{"ééééé", 3, "ééé"}, // limit below the note: plain cut, never mid-rune
	}
	for _, tt := range tests {
		got := Truncate(tt.in, tt.limit)
		if got != tt.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
		}
		if !utf8.ValidString(got) || utf8.RuneCountInString(got) > tt.limit {
			t.Errorf("Truncate(%q, %d): invalid or too long", tt.in, tt.limit)
		}
	}
}

func TestTruncateBytes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in    string
		limit int
		want  string
	}{{"abc", 5, "abc"}, {"abcdef", 3, "abc"}, {"aéb", 2, "a"}, {"aéb", 3, "aé"}} {
		if got := truncateBytes(tc.in, tc.limit); got != tc.want {
			t.Errorf("truncateBytes(%q, %d) = %q, want %q", tc.in, tc.limit, got, tc.want)
		}
	}
}

func TestFromEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	event := filepath.Join(dir, "event.json")
	if err := os.WriteFile(event, []byte(`{"action":"opened","number":7,"pull_request":{"number":7,"head":{"sha":"`+strings.Repeat("a", 40)+`","ref":"feat"},"base":{"ref":"main"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"GITHUB_REPOSITORY": "acme/iris", "GITHUB_SHA": strings.Repeat("m", 40), "GITHUB_EVENT_NAME": "pull_request",
		"GITHUB_EVENT_PATH": event, "GITHUB_API_URL": "http://127.0.0.1:1", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "42",
	}
	e, err := FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := Env{Owner: "acme", Repo: "iris", SHA: strings.Repeat("m", 40), HeadSHA: strings.Repeat("a", 40), EventName: "pull_request",
		PullRequest: 7, APIURL: "http://127.0.0.1:1", RunURL: "https://github.com/acme/iris/actions/runs/42"}
	if e != want {
		t.Errorf("FromEnv = %+v\nwant %+v", e, want)
	}
	for _, bad := range []map[string]string{
		{},
		{"GITHUB_REPOSITORY": "noslash", "GITHUB_SHA": "x"},
		{"GITHUB_REPOSITORY": "a/b", "GITHUB_SHA": "x", "GITHUB_EVENT_PATH": filepath.Join(dir, "missing.json")},
		{"GITHUB_REPOSITORY": "a/b"},
	} {
		if _, err := FromEnv(func(k string) string { return bad[k] }); err == nil {
			t.Errorf("FromEnv(%v) accepted", bad)
		}
	}
}

// The emulator's pull_request payload (checked against GitHub's webhook
// schema) gives FromEnv the PR number and head SHA.
func TestFromEnvWithEmulatedEvent(t *testing.T) {
	t.Parallel()
	s := githubtest.New(t)
	pr := s.AddPullRequest(owner, repo, githubtest.PullRequest{User: "alice", HeadSHA: strings.Repeat("4", 40)})
	payload, err := s.PullRequestEvent(owner, repo, pr.Number, "synchronize")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(path, payload, 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"GITHUB_REPOSITORY": owner + "/" + repo, "GITHUB_SHA": strings.Repeat("5", 40), "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": path}
	e, err := FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if e.PullRequest != pr.Number || e.HeadSHA != pr.HeadSHA {
		t.Errorf("FromEnv = PR %d head %s; want %d %s", e.PullRequest, e.HeadSHA, pr.Number, pr.HeadSHA)
	}
}

func TestParseEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, event, payload string
		want                 Event
		wantErr              bool
	}{
		{"pull_request", "pull_request", `{"number":3,"pull_request":{"number":3,"head":{"sha":"abc","ref":"f"},"base":{"ref":"main"}}}`, Event{PullRequest: 3, HeadSHA: "abc", HeadRef: "f", BaseRef: "main"}, false},
		{"issue comment on PR", "issue_comment", `{"issue":{"number":9,"pull_request":{"url":"x"}}}`, Event{PullRequest: 9}, false},
		{"issue comment on issue", "issue_comment", `{"issue":{"number":9}}`, Event{}, false},
		{"push", "push", `{"ref":"refs/heads/main","after":"abc"}`, Event{}, false},
		{"not JSON", "push", `{`, Event{}, true},
		{"wrong type", "pull_request", `{"pull_request":{"number":"3"}}`, Event{}, true},
		{"negative", "pull_request", `{"pull_request":{"number":-1}}`, Event{}, true},
	}
	for _, tt := range tests {
		got, err := ParseEvent(tt.event, []byte(tt.payload))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%s: ParseEvent = %+v, %v; want %+v, err %v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}

func FuzzParseEvent(f *testing.F) {
	f.Add("pull_request", []byte(`{"number":3,"pull_request":{"number":3,"head":{"sha":"abc"}}}`))
	f.Add("issue_comment", []byte(`{"issue":{"number":9,"pull_request":{}}}`))
	f.Add("push", []byte(`[]`))
	f.Fuzz(func(t *testing.T, event string, payload []byte) {
		ev, err := ParseEvent(event, payload)
		if err == nil && ev.PullRequest < 0 {
			t.Errorf("negative PR number accepted: %+v", ev)
		}
	})
}

type githubIssueComment = github.IssueComment
