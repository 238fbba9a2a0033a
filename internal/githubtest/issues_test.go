package githubtest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"
)

func TestIssuesRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := New(t)
	gh := client(t, s)

	// Labels are created on demand, matched case-insensitively.
	is, _, err := gh.Issues.Create(ctx, "o", "r", &github.IssueRequest{Title: github.String("drift on prod"), Body: github.String("body"), Labels: &[]string{"mlship-alert", "Drift"}})
	if err != nil {
		t.Fatal(err)
	}
	if is.GetNumber() != 1 || is.GetState() != "open" || len(is.Labels) != 2 || is.GetUser().GetLogin() != DefaultLogin {
		t.Fatalf("created issue = %+v", is)
	}
	if _, _, err := gh.Issues.Create(ctx, "o", "r", &github.IssueRequest{Title: github.String("other"), Labels: &[]string{"drift"}}); err != nil {
		t.Fatal(err)
	}
	if ls := s.Labels("o", "r"); len(ls) != 2 || ls[0].Name != "mlship-alert" || ls[1].Name != "Drift" || ls[0].Color != defaultLabelColor {
		t.Fatalf("labels = %+v, want mlship-alert and Drift once each", ls)
	}
	pr := s.AddPullRequest("o", "r", PullRequest{})

	list := func(opt *github.IssueListByRepoOptions) []int {
		t.Helper()
		got, _, err := gh.Issues.ListByRepo(ctx, "o", "r", opt)
		if err != nil {
			t.Fatal(err)
		}
		var ns []int
		for _, g := range got {
			ns = append(ns, g.GetNumber())
		}
		return ns
	}
	tests := []struct {
		name string
		opt  github.IssueListByRepoOptions
		want string
	}{
		{"default open, newest first, PRs included", github.IssueListByRepoOptions{}, "[3 2 1]"},
		{"all labels must match", github.IssueListByRepoOptions{Labels: []string{"MLSHIP-ALERT", "drift"}}, "[1]"},
		{"one label", github.IssueListByRepoOptions{Labels: []string{"drift"}}, "[2 1]"},
		{"unknown label", github.IssueListByRepoOptions{Labels: []string{"nope"}}, "[]"},
		{"ascending", github.IssueListByRepoOptions{Direction: "asc"}, "[1 2 3]"},
		{"closed none", github.IssueListByRepoOptions{State: "closed"}, "[]"},
		{"creator", github.IssueListByRepoOptions{Creator: "octocat"}, "[3]"},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(list(&tt.opt)); got != tt.want {
			t.Errorf("%s: issues %s, want %s", tt.name, got, tt.want)
		}
	}

	// Update: close with a reason, reopen, replace labels, PR as an issue.
	closed, _, err := gh.Issues.Edit(ctx, "o", "r", 1, &github.IssueRequest{State: github.String("closed"), StateReason: github.String("not_planned")})
	if err != nil {
		t.Fatal(err)
	}
	if closed.GetState() != "closed" || closed.GetStateReason() != "not_planned" || closed.ClosedAt == nil || closed.GetClosedBy().GetLogin() != DefaultLogin {
		t.Fatalf("closed issue = %+v", closed)
	}
	if ns := list(&github.IssueListByRepoOptions{State: "closed"}); len(ns) != 1 || ns[0] != 1 {
		t.Fatalf("closed issues = %v, want [1]", ns)
	}
	reopened, _, err := gh.Issues.Edit(ctx, "o", "r", 1, &github.IssueRequest{State: github.String("open"), Labels: &[]string{"new-label"}, Body: github.String("v2")})
	if err != nil {
		t.Fatal(err)
	}
	if reopened.GetState() != "open" || reopened.GetStateReason() != "reopened" || reopened.ClosedAt != nil || reopened.GetBody() != "v2" || len(reopened.Labels) != 1 || reopened.Labels[0].GetName() != "new-label" {
		t.Fatalf("reopened issue = %+v", reopened)
	}
	got, _, err := gh.Issues.Get(ctx, "o", "r", pr.Number)
	if err != nil {
		t.Fatal(err)
	}
	if !got.IsPullRequest() || got.GetTitle() != pr.Title {
		t.Fatalf("pull request as issue = %+v", got)
	}
	if _, _, err := gh.Issues.Edit(ctx, "o", "r", pr.Number, &github.IssueRequest{Title: github.String("renamed")}); err != nil {
		t.Fatal(err)
	}
	if p := s.PullRequests("o", "r"); p[0].Title != "renamed" {
		t.Fatalf("issues/update on a PR number did not rename the PR: %+v", p[0])
	}
	if _, _, err := gh.Issues.Edit(ctx, "o", "r", pr.Number, &github.IssueRequest{Labels: &[]string{"promotion"}}); err != nil {
		t.Fatal(err)
	}
	if p, _, err := gh.PullRequests.Get(ctx, "o", "r", pr.Number); err != nil || len(p.Labels) != 1 || p.Labels[0].GetName() != "promotion" {
		t.Fatalf("pull request labels = %v (%v), want [promotion]", p.Labels, err)
	}
	if is := s.Issues("o", "r"); len(is) != 2 || is[0].Body != "v2" || is[0].StateReason != "reopened" {
		t.Fatalf("Issues() = %+v", is)
	}
	// A comment on the issue counts.
	if _, _, err := gh.Issues.CreateComment(ctx, "o", "r", 1, &github.IssueComment{Body: github.String("hi")}); err != nil {
		t.Fatal(err)
	}
	if g, _, _ := gh.Issues.Get(ctx, "o", "r", 1); g.GetComments() != 1 {
		t.Fatalf("comments = %d, want 1", g.GetComments())
	}
}

func TestIssueRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, path, body string
		want                     int
		violation                string // "" when the request is valid for GitHub's description
	}{
		{"title missing", "POST", "/repos/o/r/issues", `{"body":"x"}`, 422, "request does not match"},
		{"empty title", "POST", "/repos/o/r/issues", `{"title":""}`, 422, ""},
		{"title too long", "POST", "/repos/o/r/issues", `{"title":"` + strings.Repeat("t", MaxIssueTitle+1) + `"}`, 422, ""},
		{"body too long", "POST", "/repos/o/r/issues", `{"title":"t","body":"` + strings.Repeat("b", MaxIssueBody+1) + `"}`, 422, ""},
		{"label too long", "POST", "/repos/o/r/issues", `{"title":"t","labels":["` + strings.Repeat("l", MaxLabelName+1) + `"]}`, 422, ""},
		{"bad state", "PATCH", "/repos/o/r/issues/1", `{"state":"done"}`, 422, "request does not match"},
		{"unknown issue", "GET", "/repos/o/r/issues/99", ``, 404, ""},
		{"numeric title accepted", "POST", "/repos/o/r/issues", `{"title":42}`, 201, ""},
		{"label twice", "POST", "/repos/o/r/labels", `{"name":"BUG"}`, 422, ""},
		{"label bad colour", "POST", "/repos/o/r/labels", `{"name":"x","color":"red"}`, 422, ""},
		{"label ok", "POST", "/repos/o/r/labels", `{"name":"x","color":"#00FF00"}`, 201, ""},
		{"get label any case", "GET", "/repos/o/r/labels/Bug", ``, 200, ""},
		{"list labels", "GET", "/repos/o/r/labels", ``, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var v violations
			s := New(t, WithViolationHandler(v.add))
			s.AddIssueWith("o", "r", Issue{Labels: []string{"bug"}})
			status := rawCall(t, s, tt.method, tt.path, tt.body)
			if status != tt.want {
				t.Errorf("status = %d, want %d", status, tt.want)
			}
			got := v.all()
			if tt.violation == "" && len(got) != 0 || tt.violation != "" && (len(got) != 1 || !strings.Contains(got[0], tt.violation)) {
				t.Errorf("violations = %q, want %q", got, tt.violation)
			}
		})
	}
}

func rawCall(t *testing.T, s *Server, method, path, body string) int {
	t.Helper()
	req, _ := http.NewRequest(method, strings.TrimSuffix(s.URL, "/")+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.Token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestIssuesPaginate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := New(t)
	gh := client(t, s)
	for i := 0; i < 105; i++ {
		s.AddIssueWith("o", "r", Issue{Labels: []string{"a"}})
	}
	opt := &github.IssueListByRepoOptions{Labels: []string{"a"}, ListOptions: github.ListOptions{PerPage: 50}}
	total := 0
	for {
		got, resp, err := gh.Issues.ListByRepo(ctx, "o", "r", opt)
		if err != nil {
			t.Fatal(err)
		}
		total += len(got)
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	if total != 105 {
		t.Fatalf("paginated %d issues, want 105", total)
	}
}
