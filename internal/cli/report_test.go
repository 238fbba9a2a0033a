package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlship/mlship/internal/drift"
	"github.com/mlship/mlship/internal/githubtest"
	"github.com/mlship/mlship/internal/iostreams"
	"github.com/mlship/mlship/internal/pipeline"
)

const reportHeadSHA = "1111111111111111111111111111111111111111"

// reportFixture evaluates the spec of evalSpec with metrics and returns the
// directory, the eval result path and a drift result path.
func reportFixture(t *testing.T, metrics string, driftColumns int) (dir, evalPath, driftPath string) {
	t.Helper()
	dir = evalSpec(t)
	ios, _, _ := iostreams.Test(nil)
	evalPath = filepath.Join(dir, "eval-result.json")
	err := runEval(context.Background(), &EvalOptions{F: NewFactory(ios, "test"), EvalRequest: pipeline.EvalRequest{SpecDir: dir, MetricsFile: filepath.Join(dir, metrics),
		BaselineFile: filepath.Join(dir, "base.json"), Out: evalPath}, NoFail: true})
	if err != nil {
		t.Fatal(err)
	}
	d := drift.Result{DriftShare: 0, ShareThreshold: 0.5}
	for i := range driftColumns {
		d.Columns = append(d.Columns, drift.ColumnResult{Name: fmt.Sprintf("a_rather_long_feature_name_%05d", i), Type: "numerical", Test: "wasserstein", Statistic: 0.01, Threshold: 0.1})
	}
	b, _ := json.Marshal(d)
	driftPath = filepath.Join(dir, "drift.json")
	if err := os.WriteFile(driftPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, evalPath, driftPath
}

// reportPREnv is the environment of a pull_request workflow run against srv.
func reportPREnv(t *testing.T, dir string, srv *githubtest.Server, pr int) map[string]string {
	t.Helper()
	env := actionsEnv(dir)
	event := filepath.Join(dir, "event.json")
	payload := fmt.Sprintf(`{"action":"synchronize","number":%d,"pull_request":{"number":%d,"head":{"sha":%q,"ref":"feature"},"base":{"ref":"main"}}}`, pr, pr, reportHeadSHA)
	if err := os.WriteFile(event, []byte(payload), 0o644); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": event, "GITHUB_REPOSITORY": "acme/iris",
		"GITHUB_SHA": "2222222222222222222222222222222222222222", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "42",
		"GITHUB_API_URL": strings.TrimSuffix(srv.URL, "/"), "GITHUB_TOKEN": srv.Token,
	} {
		env[k] = v
	}
	return env
}

func TestReportFlags(t *testing.T) {
	t.Parallel()
	ios, _, _ := iostreams.Test(nil)
	var got *ReportOptions
	cmd := NewCmdReport(NewFactory(ios, "test"), func(o *ReportOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--eval", "e.json", "--drift", "d.json", "--dry-run", "--out", "x.md", "--card", "r.io/m@sha256:ab"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.EvalFile != "e.json" || got.DriftFile != "d.json" || !got.DryRun || got.Out != "x.md" || got.CardRef != "r.io/m@sha256:ab" {
		t.Fatalf("%+v", got)
	}
	cmd = NewCmdReport(NewFactory(ios, "test"), nil)
	cmd.SetArgs([]string{"--dry-run"})
	var ee *ExitError
	if err := cmd.Execute(); !errors.As(err, &ee) || ee.Code != 2 {
		t.Fatalf("no inputs: %v", err)
	}
}

func TestReportDryRunCallsNothing(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts the GitHub emulator")
	}
	srv := githubtest.New(t)
	pr := srv.AddPullRequest("acme", "iris", githubtest.PullRequest{HeadSHA: reportHeadSHA})
	dir, evalPath, driftPath := reportFixture(t, "eval.json", 3)
	env := reportPREnv(t, dir, srv, pr.Number)
	ios, stdout, _ := iostreams.Test(env)
	out := filepath.Join(dir, "body.md")
	card := "r.io/acme/iris@sha256:" + strings.Repeat("ab", 32)
	if err := runReport(context.Background(), &ReportOptions{F: NewFactory(ios, "test"), ReportRequest: pipeline.ReportRequest{EvalFile: evalPath, DriftFile: driftPath, Out: out, DryRun: true, CardRef: card}}); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Fatalf("--dry-run made %d API requests", n)
	}
	if _, err := os.Stat(env["GITHUB_STEP_SUMMARY"]); err == nil {
		t.Fatal("--dry-run wrote the job summary")
	}
	body, err := os.ReadFile(out)
	if err != nil || !strings.HasPrefix(string(body), "<!-- mlship:report:iris -->\n## ✅ iris 1.1.0: eval gates passed for prod") {
		t.Fatalf("body %.200q, %v", body, err)
	}
	if !strings.Contains(string(body), "`mlship card "+card+"`") {
		t.Fatalf("the report does not link the candidate's card: %.2000s", body)
	}
	if !strings.Contains(stdout.String(), "dry run") {
		t.Fatalf("stdout: %s", stdout)
	}
}

func TestReportPublishesToEmulator(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts the GitHub emulator")
	}
	srv := githubtest.New(t)
	pr := srv.AddPullRequest("acme", "iris", githubtest.PullRequest{HeadSHA: reportHeadSHA})

	run := func(metrics string) (*ReportResult, map[string]string) {
		t.Helper()
		dir, evalPath, driftPath := reportFixture(t, metrics, 3)
		env := reportPREnv(t, dir, srv, pr.Number)
		ios, stdout, _ := iostreams.Test(env)
		ios.Format = iostreams.JSON
		err := runReport(context.Background(), &ReportOptions{F: NewFactory(ios, "test"), ReportRequest: pipeline.ReportRequest{EvalFile: evalPath, DriftFile: driftPath,
			Out: filepath.Join(dir, "report.md"), SpecDir: dir}})
		if err != nil {
			t.Fatal(err)
		}
		var res ReportResult
		if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
			t.Fatalf("%v: %s", err, stdout)
		}
		return &res, env
	}

	// First run: one comment, one check run, success.
	first, env := run("eval.json")
	if !first.Posted || !first.CommentCreated || first.Conclusion != "success" {
		t.Fatalf("first run: %+v", first)
	}
	comments := srv.Comments("acme", "iris", pr.Number)
	checks := srv.CheckRuns("acme", "iris", reportHeadSHA)
	if len(comments) != 1 || len(checks) != 1 {
		t.Fatalf("after the first run: %d comments, %d check runs; want 1 and 1", len(comments), len(checks))
	}
	if !strings.HasPrefix(comments[0].Body, "<!-- mlship:report:iris -->") || checks[0].Conclusion != "success" || checks[0].Name != "mlship report (iris)" {
		t.Fatalf("comment %.80q, check %+v", comments[0].Body, checks[0])
	}
	if checks[0].DetailsURL != "https://github.com/acme/iris/actions/runs/42" {
		t.Errorf("details URL %q", checks[0].DetailsURL)
	}
	sum, _ := os.ReadFile(env["GITHUB_STEP_SUMMARY"])
	if !strings.Contains(string(sum), "### Metrics") {
		t.Errorf("job summary lacks the report: %.200s", sum)
	}

	// Second run, a failing gate: the same comment is edited, the same
	// check run updated to failure, with an annotation at the spec line.
	second, _ := run("bad.json")
	if second.CommentCreated || second.CommentID != first.CommentID || second.CheckRunID != first.CheckRunID || second.Conclusion != "failure" {
		t.Fatalf("second run: %+v (first %+v)", second, first)
	}
	comments = srv.Comments("acme", "iris", pr.Number)
	checks = srv.CheckRuns("acme", "iris", reportHeadSHA)
	if len(comments) != 1 || len(checks) != 1 {
		t.Fatalf("after the second run: %d comments, %d check runs; want 1 and 1", len(comments), len(checks))
	}
	if !strings.Contains(comments[0].Body, "eval gates failed") || checks[0].Conclusion != "failure" {
		t.Fatalf("not updated: comment %.200q, conclusion %s", comments[0].Body, checks[0].Conclusion)
	}
	found := false
	for _, a := range checks[0].Annotations {
		if a.Path == "model.cue" && a.StartLine == 8 && strings.Contains(a.Message, "below gate min 0.9") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no annotation at model.cue:8 among %+v", checks[0].Annotations)
	}
}

func TestReportOversized(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts the GitHub emulator")
	}
	srv := githubtest.New(t)
	pr := srv.AddPullRequest("acme", "iris", githubtest.PullRequest{HeadSHA: reportHeadSHA})
	dir, evalPath, driftPath := reportFixture(t, "eval.json", 3000)
	env := reportPREnv(t, dir, srv, pr.Number)
	ios, _, _ := iostreams.Test(env)
	ios.Format = iostreams.JSON
	if err := runReport(context.Background(), &ReportOptions{F: NewFactory(ios, "test"), ReportRequest: pipeline.ReportRequest{EvalFile: evalPath, DriftFile: driftPath, Out: filepath.Join(dir, "r.md")}}); err != nil {
		t.Fatal(err)
	}
	comments := srv.Comments("acme", "iris", pr.Number)
	checks := srv.CheckRuns("acme", "iris", reportHeadSHA)
	if len(comments) != 1 || len(checks) != 1 {
		t.Fatalf("%d comments, %d check runs", len(comments), len(checks))
	}
	body := comments[0].Body
	if len(body) > 65536 || len(checks[0].Summary) > 65535 {
		t.Fatalf("comment %d bytes, check summary %d", len(body), len(checks[0].Summary))
	}
	if !strings.Contains(body, "trimmed to fit") || !strings.Contains(body, "https://github.com/acme/iris/actions/runs/42") {
		t.Fatalf("trimmed comment does not say so or link the run:\n%.600s", body)
	}
	sum, _ := os.ReadFile(env["GITHUB_STEP_SUMMARY"])
	if len(sum) <= len(body) || !strings.Contains(string(sum), "a_rather_long_feature_name_02999") {
		t.Fatalf("job summary (%d bytes) is not the full report", len(sum))
	}
}
