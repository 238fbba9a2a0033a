package alert

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mlship/mlship/internal/ghapi"
	"github.com/mlship/mlship/internal/githubtest"
)

const repoFull, owner, repo = "acme/iris", "acme", "iris"

var (
	key = Key{Model: "iris", Environment: "prod"}
	t0  = time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
)

func newClient(t *testing.T, s *githubtest.Server) *ghapi.Client {
	t.Helper()
	c, err := ghapi.New(context.Background(), s.Token, ghapi.WithBaseURL(s.URL), ghapi.WithBackoff(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func drifted(i int) Observation {
	return Observation{Time: t0.Add(time.Duration(i) * time.Hour), SampleSize: 10000, DriftedColumns: []string{"petal_length", "sepal_width"}, DatasetDriftShare: 0.5, Metrics: map[string]float64{"accuracy": 0.81}, Alert: true, ReportURL: "https://github.com/acme/iris/actions/runs/1"}
}

func healthy(i int) Observation {
	return Observation{Time: t0.Add(time.Duration(i) * time.Hour), SampleSize: 10000, DatasetDriftShare: 0, Metrics: map[string]float64{"accuracy": 0.95}}
}

// alertIssues returns the issues whose first line is key's marker.
func alertIssues(s *githubtest.Server, k Key) []githubtest.Issue {
	var out []githubtest.Issue
	for _, is := range s.Issues(owner, repo) {
		if strings.HasPrefix(is.Body, Marker(k)+"\n") {
			out = append(out, is)
		}
	}
	return out
}

func writes(s *githubtest.Server, from int) []string {
	var out []string
	for _, r := range s.Requests()[from:] {
		if r.Method != http.MethodGet {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := githubtest.New(t)
	c := newClient(t, s)
	opts := []Option{WithLabels("drift", "model:iris"), WithDispatch("retrain.yml", "main", map[string]any{"environment": "prod"})}

	steps := []struct {
		name       string
		obs        Observation
		want       Action
		state      string
		rows       int
		comments   int
		dispatches int
		writes     int // non-GET requests
	}{
		{"alert opens", drifted(0), Opened, "open", 1, 0, 1, 2},
		{"second alert updates in place", drifted(1), Updated, "open", 2, 0, 1, 1},
		{"third alert updates", drifted(2), Updated, "open", 3, 0, 1, 1},
		{"healthy closes with a comment", healthy(3), Closed, "closed", 4, 1, 1, 2},
		{"healthy again: nothing written", healthy(4), None, "closed", 4, 1, 1, 0},
		{"alert again reopens the same issue", drifted(5), Reopened, "open", 5, 2, 2, 3},
	}
	number := 0
	for _, st := range steps {
		before := len(s.Requests())
		out, err := Sync(ctx, c, repoFull, key, st.obs, opts...)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if out.Action != st.want {
			t.Fatalf("%s: action %q, want %q (%+v)", st.name, out.Action, st.want, out)
		}
		issues := alertIssues(s, key)
		if len(issues) != 1 {
			t.Fatalf("%s: %d alert issues, want exactly 1", st.name, len(issues))
		}
		is := issues[0]
		if number == 0 {
			number = is.Number
		}
		if is.Number != number || out.Number != number || out.URL == "" {
			t.Fatalf("%s: issue #%d (outcome #%d %q), want #%d", st.name, is.Number, out.Number, out.URL, number)
		}
		if is.State != st.state {
			t.Errorf("%s: state %q, want %q", st.name, is.State, st.state)
		}
		if got := strings.Count(is.Body, "\n| 20"); got != st.rows {
			t.Errorf("%s: %d history rows, want %d\n%s", st.name, got, st.rows, is.Body)
		}
		if got := len(s.Comments(owner, repo, number)); got != st.comments {
			t.Errorf("%s: %d comments, want %d", st.name, got, st.comments)
		}
		if got := len(s.Dispatches(owner, repo)); got != st.dispatches {
			t.Errorf("%s: %d dispatches, want %d", st.name, got, st.dispatches)
		}
		if w := writes(s, before); len(w) != st.writes {
			t.Errorf("%s: writes %q, want %d", st.name, w, st.writes)
		}
		if fmt.Sprint(is.Labels) != "[mlship-alert drift model:iris]" {
			t.Errorf("%s: labels %v", st.name, is.Labels)
		}
	}
	cs := s.Comments(owner, repo, number)
	if !strings.Contains(cs[0].Body, "healthy again") || !strings.Contains(cs[1].Body, "alert is back") {
		t.Errorf("comments = %q", []string{cs[0].Body, cs[1].Body})
	}
	if d := s.Dispatches(owner, repo)[0]; d.Workflow != "retrain.yml" || d.Ref != "main" || d.Inputs["environment"] != "prod" {
		t.Errorf("dispatch = %+v", d)
	}
	if is := alertIssues(s, key)[0]; is.StateReason != "reopened" || is.Title != "mlship alert: iris in prod" {
		t.Errorf("reopened issue = %+v", is)
	}
}

// Markers that are not exactly key's, in issues carrying the label, are
// never adopted: another model or environment, a quoted marker, one lower
// in the body, names crafted to imitate the key.
func TestForgedMarkersNotMatched(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forged := []string{
		Marker(Key{Model: "iris", Environment: "staging"}) + "\nother env",
		Marker(Key{Model: "iris2", Environment: "prod"}) + "\nother model",
		Marker(Key{Model: "iris environment=prod", Environment: "prod"}) + "\ncrafted model name",
		Marker(Key{Model: "iris", Environment: "prod -->"}) + "\ncrafted env name",
		"> " + Marker(key) + "\nquoted",
		"intro\n" + Marker(key) + "\nsecond line",
		" " + Marker(key) + "\nleading space",
		"<!-- mlship:alert model=iris environment=prod-->\nspacing differs",
	}
	s := githubtest.New(t)
	c := newClient(t, s)
	var seeded []githubtest.Issue
	for _, body := range forged {
		seeded = append(seeded, s.AddIssueWith(owner, repo, githubtest.Issue{User: "mallory", Body: body, Labels: []string{DefaultLabel}}))
	}
	out, err := Sync(ctx, c, repoFull, key, drifted(0))
	if err != nil {
		t.Fatal(err)
	}
	if out.Action != Opened {
		t.Fatalf("action %q, want opened (a forged issue was adopted: #%d)", out.Action, out.Number)
	}
	for _, is := range seeded {
		if is.Number == out.Number {
			t.Fatalf("adopted forged issue #%d", is.Number)
		}
	}
	after := map[int]githubtest.Issue{}
	for _, is := range s.Issues(owner, repo) {
		after[is.Number] = is
	}
	for _, is := range seeded {
		if got := after[is.Number]; got.Body != is.Body || got.State != "open" || len(s.Comments(owner, repo, is.Number)) != 0 {
			t.Errorf("forged issue #%d was touched: %+v", is.Number, got)
		}
	}
	// The staging alert is its own issue.
	out2, err := Sync(ctx, c, repoFull, Key{Model: "iris", Environment: "staging"}, drifted(1))
	if err != nil || out2.Action != Updated || out2.Number != seeded[0].Number {
		t.Fatalf("staging: %+v %v, want an update of #%d (its marker is exact)", out2, err, seeded[0].Number)
	}
}

func TestAuthorAndLabelRequired(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := githubtest.New(t)
	c := newClient(t, s)
	body := Marker(key) + "\nplanted"
	byMallory := s.AddIssueWith(owner, repo, githubtest.Issue{User: "mallory", Body: body, Labels: []string{DefaultLabel}})
	unlabelled := s.AddIssueWith(owner, repo, githubtest.Issue{User: githubtest.DefaultLogin, Body: body})
	out, err := Sync(ctx, c, repoFull, key, drifted(0), WithAuthor(githubtest.DefaultLogin))
	if err != nil {
		t.Fatal(err)
	}
	if out.Action != Opened || out.Number == byMallory.Number || out.Number == unlabelled.Number {
		t.Fatalf("outcome %+v: adopted #%d or #%d", out, byMallory.Number, unlabelled.Number)
	}
}

func TestClosedByPersonStaysClosed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := githubtest.New(t)
	c := newClient(t, s)
	out, err := Sync(ctx, c, repoFull, key, drifted(0))
	if err != nil {
		t.Fatal(err)
	}
	closed := "closed"
	if _, err := c.UpdateIssue(ctx, owner, repo, out.Number, ghapi.IssueUpdate{State: &closed}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		obs   Observation
		want  Action
		state string
		note  string
	}{
		{drifted(1), None, "closed", "stays closed"},
		{healthy(2), None, "closed", "ended"},
		{drifted(3), Reopened, "open", ""},
	}
	for i, st := range steps {
		got, err := Sync(ctx, c, repoFull, key, st.obs)
		if err != nil {
			t.Fatal(err)
		}
		is := alertIssues(s, key)
		if got.Action != st.want || len(is) != 1 || is[0].State != st.state || !strings.Contains(got.Note, st.note) || got.Number != out.Number {
			t.Fatalf("step %d: %+v, issues %d, state %q", i, got, len(is), is[0].State)
		}
	}
	if n := strings.Count(alertIssues(s, key)[0].Body, "\n| 20"); n != 4 {
		t.Errorf("%d rows, want 4 (runs while closed are recorded)", n)
	}
}

func TestDuplicatesClosed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := githubtest.New(t)
	c := newClient(t, s)
	body := Marker(key) + "\nraced"
	a := s.AddIssueWith(owner, repo, githubtest.Issue{User: githubtest.DefaultLogin, Body: body, Labels: []string{DefaultLabel}})
	b := s.AddIssueWith(owner, repo, githubtest.Issue{User: githubtest.DefaultLogin, Body: body, Labels: []string{DefaultLabel}})
	out, err := Sync(ctx, c, repoFull, key, drifted(0))
	if err != nil {
		t.Fatal(err)
	}
	if out.Action != Updated || out.Number != a.Number || fmt.Sprint(out.ClosedDuplicates) != fmt.Sprint([]int{b.Number}) {
		t.Fatalf("outcome %+v, want #%d updated and #%d closed", out, a.Number, b.Number)
	}
	open := 0
	for _, is := range alertIssues(s, key) {
		if is.State == "open" {
			open++
		}
	}
	if cs := s.Comments(owner, repo, b.Number); open != 1 || len(cs) != 1 || !strings.Contains(cs[0].Body, fmt.Sprintf("Duplicate of #%d", a.Number)) {
		t.Fatalf("open %d, comments on duplicate %+v", open, cs)
	}
}

// A create that fails with a 502 may or may not have happened: Sync looks
// again and creates at most one issue.
func TestAmbiguousCreateNoDuplicate(t *testing.T) {
	t.Parallel()
	s := githubtest.New(t)
	c := newClient(t, s)
	s.InjectFault(githubtest.Fault{Method: http.MethodPost, Path: "/repos/acme/iris/issues", Status: 502})
	out, err := Sync(context.Background(), c, repoFull, key, drifted(0))
	if err != nil || out.Action != Opened {
		t.Fatalf("%+v %v", out, err)
	}
	if n := len(alertIssues(s, key)); n != 1 {
		t.Fatalf("%d issues, want 1", n)
	}
}

func TestEditedBodyStartsFresh(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := githubtest.New(t)
	c := newClient(t, s)
	out, err := Sync(ctx, c, repoFull, key, drifted(0))
	if err != nil {
		t.Fatal(err)
	}
	body := Marker(key) + "\n<!-- mlship:alert-state !!!not base64 -->\nedited by hand"
	if _, err := c.UpdateIssue(ctx, owner, repo, out.Number, ghapi.IssueUpdate{Body: &body}); err != nil {
		t.Fatal(err)
	}
	got, err := Sync(ctx, c, repoFull, key, drifted(1))
	if err != nil || got.Action != Updated || got.Number != out.Number {
		t.Fatalf("%+v %v", got, err)
	}
	if b := alertIssues(s, key)[0].Body; strings.Count(b, "\n| 20") != 1 || strings.Contains(b, "edited by hand") {
		t.Errorf("body not rebuilt:\n%s", b)
	}
}

func TestDispatchFailureReported(t *testing.T) {
	t.Parallel()
	s := githubtest.New(t)
	s.SetWorkflows(owner, repo, "retrain.yml")
	c := newClient(t, s)
	out, err := Sync(context.Background(), c, repoFull, key, drifted(0), WithDispatch("typo.yml", "main", nil))
	if err == nil || !strings.Contains(err.Error(), "typo.yml") || out == nil || out.Action != Opened || out.Dispatched {
		t.Fatalf("%+v %v, want the opened issue and an error naming the workflow", out, err)
	}
}

// A long run of huge observations: 100,000 drifted columns with long
// names, 50 metrics, 230 runs. The body stays within GitHub's limit (the
// emulator refuses more) and holds at most the rows asked for.
func TestHugeHistoryBounded(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("230 runs against the emulator")
	}
	ctx := context.Background()
	s := githubtest.New(t)
	c := newClient(t, s)
	cols := make([]string, 100000)
	for i := range cols {
		cols[i] = fmt.Sprintf("%s_%06d", strings.Repeat("wide_column_name_", 8), i)
	}
	metrics := map[string]float64{}
	for i := 0; i < 50; i++ {
		metrics[fmt.Sprintf("metric_%02d_%s", i, strings.Repeat("x", 70))] = float64(i) / 7
	}
	for i := 0; i < 230; i++ {
		obs := Observation{Time: t0.Add(time.Duration(i) * time.Minute), SampleSize: 1 << 40, DriftedColumns: cols, DatasetDriftShare: 1, Metrics: metrics, Alert: true, Reasons: cols[:40]}
		if _, err := Sync(ctx, c, repoFull, key, obs, WithHistory(MaxHistory)); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	is := alertIssues(s, key)
	if len(is) != 1 {
		t.Fatalf("%d issues", len(is))
	}
	body := is[0].Body
	n := utf8.RuneCountInString(body)
	rows := strings.Count(body, "\n| 20")
	if n > ghapi.MaxCommentBody || rows < 10 || rows > MaxHistory || !strings.Contains(body, "230 runs recorded") {
		t.Fatalf("body of %d characters with %d rows", n, rows)
	}
	st, err := decodeState(body, key)
	if err != nil || len(st.Rows) != rows || st.Runs != 230 {
		t.Fatalf("state: %v, %d rows (table %d), %d runs", err, len(st.Rows), rows, st.Runs)
	}
	t.Logf("body: %d characters, %d rows kept of 230", n, rows)
}

func TestSyncValidation(t *testing.T) {
	t.Parallel()
	s := githubtest.New(t)
	c := newClient(t, s)
	tests := []struct {
		name string
		repo string
		key  Key
		opts []Option
	}{
		{"empty model", repoFull, Key{Environment: "prod"}, nil},
		{"multi-line env", repoFull, Key{Model: "m", Environment: "a\nb"}, nil},
		{"bad repository", "acme", key, nil},
		{"history 0", repoFull, key, []Option{WithHistory(0)}},
		{"history too long", repoFull, key, []Option{WithHistory(MaxHistory + 1)}},
		{"comma label", repoFull, key, []Option{WithLabels("a,b")}},
		{"dispatch without ref", repoFull, key, []Option{WithDispatch("retrain.yml", "", nil)}},
		{"dispatch with 26 inputs", repoFull, key, []Option{WithDispatch("retrain.yml", "main", manyInputs(26))}},
	}
	for _, tt := range tests {
		if _, err := Sync(context.Background(), c, tt.repo, tt.key, drifted(0), tt.opts...); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
	if len(s.Requests()) != 0 {
		t.Errorf("invalid input reached GitHub: %d requests", len(s.Requests()))
	}
}

func TestReopenedByPersonLeftOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := githubtest.New(t)
	c := newClient(t, s)
	first, err := Sync(ctx, c, repoFull, key, drifted(0))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := Sync(ctx, c, repoFull, key, healthy(1)); err != nil || out.Action != Closed {
		t.Fatalf("%+v %v", out, err)
	}
	open := "open"
	if _, err := c.UpdateIssue(ctx, owner, repo, first.Number, ghapi.IssueUpdate{State: &open}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		obs   Observation
		want  Action
		state string
	}{
		{healthy(2), None, "open"},
		{drifted(3), Updated, "open"},
		{healthy(4), Closed, "closed"},
	}
	for i, st := range steps {
		out, err := Sync(ctx, c, repoFull, key, st.obs)
		is := alertIssues(s, key)
		if err != nil || out.Action != st.want || len(is) != 1 || is[0].State != st.state {
			t.Fatalf("step %d: %+v %v, issues %+v", i, out, err, is)
		}
	}
}

// The issue is found past the first page of labelled issues, and only
// matching issues are kept while scanning.
func TestFindsIssueBeyondFirstPage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := githubtest.New(t)
	c := newClient(t, s)
	for i := 0; i < 150; i++ {
		s.AddIssueWith(owner, repo, githubtest.Issue{Body: Marker(Key{Model: fmt.Sprint("m", i), Environment: "prod"}) + "\n", Labels: []string{DefaultLabel}})
	}
	first, err := Sync(ctx, c, repoFull, key, drifted(0))
	if err != nil || first.Action != Opened {
		t.Fatalf("%+v %v", first, err)
	}
	again, err := Sync(ctx, c, repoFull, key, drifted(1))
	if err != nil || again.Action != Updated || again.Number != first.Number {
		t.Fatalf("%+v %v, want #%d updated", again, err, first.Number)
	}
}

func manyInputs(n int) map[string]any {
	m := map[string]any{}
	for i := 0; i < n; i++ {
		m[fmt.Sprint("in", i)] = "v"
	}
	return m
}
