package report

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlship/mlship/internal/eval"
	"github.com/mlship/mlship/internal/ghapi"
	"github.com/mlship/mlship/internal/githubtest"
)

func TestPublish(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts the GitHub emulator")
	}
	srv := githubtest.New(t)
	const sha = "abcdefabcdefabcdefabcdefabcdefabcdefabcd"
	pr := srv.AddPullRequest("acme", "iris", githubtest.PullRequest{HeadSHA: sha})
	client, err := ghapi.New(context.Background(), srv.Token, ghapi.WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	target := Target{Owner: "acme", Repo: "iris", PullRequest: pr.Number, HeadSHA: sha, DetailsURL: "https://github.com/acme/iris/actions/runs/7"}
	// Another bot's comment and a reply quoting the report are left alone.
	other := Section{Title: "Note", Markdown: "### Note\n\nhello\n", Priority: 50}

	pass := Input{Eval: evalResult(t, eval.Metrics{"accuracy": 0.96, "log_loss": 0.25}, 96), Drift: driftResult(5, 0), Sections: []Section{other}}
	p1, err := Publish(context.Background(), pass, GitHubSinks(client, target)...)
	if err != nil {
		t.Fatal(err)
	}
	if !p1.CommentCreated || p1.Conclusion != "success" {
		t.Fatalf("first publish: %+v", p1)
	}

	// Failing gates, and more annotations than one request may carry.
	fail := Input{Eval: evalResult(t, eval.Metrics{"accuracy": 0.85, "log_loss": 0.3}, 85), Drift: driftResult(5, 0)}
	target.Annotations = nil
	for i := range 120 {
		target.Annotations = append(target.Annotations, ghapi.Annotation{Path: "model.cue", StartLine: i + 1, Level: ghapi.LevelFailure, Message: fmt.Sprint("failure ", i)})
	}
	p2, err := Publish(context.Background(), fail, GitHubSinks(client, target)...)
	if err != nil {
		t.Fatal(err)
	}
	if p2.CommentCreated || p2.CommentID != p1.CommentID || p2.CheckRunID != p1.CheckRunID || p2.Conclusion != "failure" {
		t.Fatalf("second publish: %+v, first %+v", p2, p1)
	}
	comments := srv.Comments("acme", "iris", pr.Number)
	runs := srv.CheckRuns("acme", "iris", sha)
	if len(comments) != 1 || len(runs) != 1 {
		t.Fatalf("%d comments and %d check runs, want 1 and 1", len(comments), len(runs))
	}
	if !strings.Contains(comments[0].Body, "eval gates failed for prod") || strings.Contains(comments[0].Body, "### Note") {
		t.Fatalf("comment not replaced: %.300s", comments[0].Body)
	}
	cr := runs[0]
	if cr.Conclusion != "failure" || cr.Status != "completed" || cr.Title != "iris 1.1.0: eval gates failed for prod" || !strings.HasPrefix(cr.Summary, Marker("iris")) {
		t.Fatalf("check run: %+v", cr)
	}
	if len(cr.Annotations) != 120 {
		t.Fatalf("%d annotations arrived, want 120", len(cr.Annotations))
	}
	for _, r := range srv.Requests() {
		if r.Method == "POST" || r.Method == "PATCH" {
			if n := strings.Count(string(r.Body), `"annotation_level"`); n > 50 {
				t.Fatalf("%s %s carried %d annotations (GitHub takes 50)", r.Method, r.Path, n)
			}
		}
	}

	// No pull request and no head SHA: nothing is called.
	before := len(srv.Requests())
	if _, err := Publish(context.Background(), pass, GitHubSinks(client, Target{Owner: "acme", Repo: "iris"})...); err != nil {
		t.Fatal(err)
	}
	if len(srv.Requests()) != before {
		t.Fatal("Publish called the API without a target")
	}
}

// summaryRecorder is a job summary that keeps what it was given.
type summaryRecorder struct{ got []string }

func (s *summaryRecorder) AddStepSummary(md string) error {
	s.got = append(s.got, md)
	return nil
}

func TestPublishToFileAndStepSummarySinks(t *testing.T) {
	t.Parallel()
	in := Input{Eval: evalResult(t, eval.Metrics{"accuracy": 0.96, "log_loss": 0.25}, 96), Drift: driftResult(5, 0)}
	path := filepath.Join(t.TempDir(), "report.md")
	sum := &summaryRecorder{}
	p, err := Publish(context.Background(), in, FileSink{Path: path}, StepSummarySink{Summary: sum})
	if err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	full, _ := Render(in, StepSummaryLimits)
	if string(file) != p.Body || len(sum.got) != 1 || sum.got[0] != full || p.Conclusion != "success" {
		t.Fatalf("file %d bytes, body %d bytes, summaries %d, conclusion %s", len(file), len(p.Body), len(sum.got), p.Conclusion)
	}
}

// TestPublishFailsClosedWithoutAClient: a sink that cannot post says so,
// including a typed nil client, and the sinks after it do not run.
func TestPublishFailsClosedWithoutAClient(t *testing.T) {
	t.Parallel()
	in := Input{Drift: driftResult(5, 0)}
	var nilClient *ghapi.Client
	sum := &summaryRecorder{}
	for _, sinks := range [][]Sink{
		{CommentSink{PullRequest: 1}, StepSummarySink{Summary: sum}},
		{CheckRunSink{Client: nilClient, HeadSHA: "abc"}, StepSummarySink{Summary: sum}},
		GitHubSinks(nilClient, Target{Owner: "acme", Repo: "iris", PullRequest: 1}),
		{StepSummarySink{}},
	} {
		if _, err := Publish(context.Background(), in, sinks...); err == nil {
			t.Errorf("%T published without a client", sinks[0])
		}
	}
	if len(sum.got) != 0 {
		t.Error("a sink ran after a failed one")
	}
}
