package ghapi

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mlship/mlship/internal/githubtest"
)

func TestIssues(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := githubtest.New(t)
	c := newClient(t, s)
	s.AddPullRequest(owner, repo, githubtest.PullRequest{}) // listed by GitHub, left out by ListIssues
	other := s.AddIssueWith(owner, repo, githubtest.Issue{User: "mallory", Labels: []string{"mlship-alert"}})

	is, err := c.CreateIssue(ctx, owner, repo, IssueRequest{Title: "Drift: iris on prod", Body: "b1", Labels: []string{"mlship-alert", "model:iris"}})
	if err != nil {
		t.Fatal(err)
	}
	if is.State != "open" || len(is.Labels) != 2 || is.HTMLURL == "" || is.Author != githubtest.DefaultLogin || is.ID == 0 {
		t.Fatalf("created = %+v", is)
	}
	got, err := c.GetIssue(ctx, owner, repo, is.Number)
	if err != nil || got.Body != "b1" || got.Title != "Drift: iris on prod" {
		t.Fatalf("get = %+v, %v", got, err)
	}

	tests := []struct {
		name string
		f    IssueFilter
		want []int
	}{
		{"label", IssueFilter{Labels: []string{"mlship-alert"}}, []int{is.Number, other.Number}},
		{"two labels", IssueFilter{Labels: []string{"mlship-alert", "model:iris"}}, []int{is.Number}},
		{"creator", IssueFilter{Creator: "mallory"}, []int{other.Number}},
		{"closed", IssueFilter{State: "closed"}, nil},
		{"limit", IssueFilter{Limit: 1}, []int{is.Number}},
		{"no PRs", IssueFilter{State: "all", Direction: "asc"}, []int{other.Number, is.Number}},
	}
	for _, tt := range tests {
		list, err := c.ListIssues(ctx, owner, repo, tt.f)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var ns []int
		for _, i := range list {
			ns = append(ns, i.Number)
		}
		if len(ns) != len(tt.want) || (len(ns) > 0 && ns[0] != tt.want[0]) || (len(ns) > 1 && ns[1] != tt.want[1]) {
			t.Errorf("%s: numbers %v, want %v", tt.name, ns, tt.want)
		}
	}

	closed, reason, body := "closed", "completed", "b2"
	up, err := c.UpdateIssue(ctx, owner, repo, is.Number, IssueUpdate{State: &closed, StateReason: &reason, Body: &body, Labels: &[]string{"mlship-alert"}})
	if err != nil {
		t.Fatal(err)
	}
	if up.State != "closed" || up.StateReason != "completed" || up.ClosedAt.IsZero() || up.Body != "b2" || len(up.Labels) != 1 {
		t.Fatalf("updated = %+v", up)
	}
	open := "open"
	up, err = c.UpdateIssue(ctx, owner, repo, is.Number, IssueUpdate{State: &open})
	if err != nil || up.State != "open" || up.StateReason != "reopened" || up.Body != "b2" {
		t.Fatalf("reopened = %+v, %v", up, err)
	}

	id, err := c.CreateIssueComment(ctx, owner, repo, is.Number, "healthy again")
	if err != nil || id == 0 {
		t.Fatalf("comment: %d %v", id, err)
	}
	if cs := s.Comments(owner, repo, is.Number); len(cs) != 1 || cs[0].Body != "healthy again" {
		t.Fatalf("comments = %+v", cs)
	}
	if _, err := c.GetIssue(ctx, owner, repo, 999); !IsNotFound(err) {
		t.Errorf("missing issue: %v, want a 404", err)
	}
}

func TestIssueInputsBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := githubtest.New(t)
	c := newClient(t, s)
	is, err := c.CreateIssue(ctx, owner, repo, IssueRequest{Title: strings.Repeat("t", 300), Body: strings.Repeat("é", MaxCommentBody+10)})
	if err != nil {
		t.Fatal(err)
	}
	if n := utf8.RuneCountInString(is.Title); n != MaxIssueTitle {
		t.Errorf("title has %d characters, want %d", n, MaxIssueTitle)
	}
	if n := utf8.RuneCountInString(is.Body); n != MaxCommentBody || !strings.HasSuffix(is.Body, TruncatedNote) {
		t.Errorf("body has %d characters, want %d ending with the note", n, MaxCommentBody)
	}
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"empty title", func() error { _, err := c.CreateIssue(ctx, owner, repo, IssueRequest{Title: " "}); return err }},
		{"multi-line label", func() error {
			_, err := c.CreateIssue(ctx, owner, repo, IssueRequest{Title: "t", Labels: []string{"a\nb"}})
			return err
		}},
		{"comma in label filter", func() error {
			_, err := c.ListIssues(ctx, owner, repo, IssueFilter{Labels: []string{"a,b"}})
			return err
		}},
		{"empty comment", func() error { _, err := c.CreateIssueComment(ctx, owner, repo, is.Number, ""); return err }},
	} {
		if err := tc.call(); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// A create that fails ambiguously (502) is not repeated: the caller
// decides (internal/alert looks for the issue again).
func TestCreateIssueNotRetried(t *testing.T) {
	t.Parallel()
	s := githubtest.New(t)
	c := newClient(t, s)
	s.InjectFault(githubtest.Fault{Method: http.MethodPost, Path: "/repos/acme/iris/issues", Status: 502})
	if _, err := c.CreateIssue(context.Background(), owner, repo, IssueRequest{Title: "t"}); StatusCode(err) != 502 {
		t.Fatalf("err = %v, want the 502", err)
	}
	if n := len(s.Requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestDispatchWorkflow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name, workflow, ref string
		inputs              map[string]any
		wantErr             bool
		wantStatus          int
	}{
		{"file", "retrain.yml", "main", map[string]any{"model": "iris", "environment": "prod"}, false, 0},
		{"id", "4711", "v1.2.0", nil, false, 0},
		{"unknown workflow", "typo.yml", "main", nil, true, 404},
		{"path in name", "../x.yml", "main", nil, true, 0},
		{"no ref", "retrain.yml", "", nil, true, 0},
		{"too many inputs", "retrain.yml", "main", manyInputs(26), true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := githubtest.New(t)
			s.SetWorkflows(owner, repo, "retrain.yml", "4711")
			c := newClient(t, s)
			err := c.DispatchWorkflow(ctx, owner, repo, tt.workflow, tt.ref, tt.inputs)
			if (err != nil) != tt.wantErr || StatusCode(err) != tt.wantStatus {
				t.Fatalf("err = %v, wantErr %v status %d", err, tt.wantErr, tt.wantStatus)
			}
			ds := s.Dispatches(owner, repo)
			if tt.wantErr {
				if len(ds) != 0 {
					t.Fatalf("dispatches recorded on error: %+v", ds)
				}
				return
			}
			if len(ds) != 1 || ds[0].Workflow != tt.workflow || ds[0].Ref != tt.ref || len(ds[0].Inputs) != len(tt.inputs) {
				t.Fatalf("dispatches = %+v", ds)
			}
		})
	}
}

func manyInputs(n int) map[string]any {
	m := map[string]any{}
	for i := 0; i < n; i++ {
		m[strings.Repeat("k", i+1)] = "v"
	}
	return m
}
