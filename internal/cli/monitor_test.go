package cli

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlship/mlship/internal/githubtest"
	"github.com/mlship/mlship/internal/iostreams"
	"github.com/mlship/mlship/internal/pipeline"
	"github.com/mlship/mlship/internal/testenv"
)

func TestMonitorFlags(t *testing.T) {
	t.Parallel()
	ios, _, _ := iostreams.Test(nil)
	var got *MonitorOptions
	cmd := NewCmdMonitor(NewFactory(ios, "test"), func(o *MonitorOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"spec", "-e", "prod", "--current", "a.csv", "--current", "b/*.jsonl.gz", "--repository", "r/x", "--key", "k.pub", "--dispatch", "retrain.yml", "--fail-on-alert", "--out", "m.json", "--memory-budget", "64MiB"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.SpecDir != "spec" || got.Environment != "prod" || strings.Join(got.Current, " ") != "a.csv b/*.jsonl.gz" || got.Repository != "r/x" ||
		len(got.Policy.Keys) != 1 || got.Dispatch != "retrain.yml" || !got.FailOnAlert || got.Out != "m.json" || got.MemoryBudget != "64MiB" {
		t.Fatalf("%+v", got)
	}
	var d *DriftOptions
	dc := NewCmdDrift(NewFactory(ios, "test"), func(o *DriftOptions) error { d = o; return nil })
	dc.SetArgs([]string{"--reference-profile", "ghcr.io/a/b:prod", "--current", "c.csv"})
	if err := dc.Execute(); err != nil || d.ReferenceProfile != "ghcr.io/a/b:prod" {
		t.Fatalf("drift --reference-profile: %v %+v", err, d)
	}
}

// monitorSpec writes a spec directory with a drift reference (x numeric,
// kind categorical, species label) and a monitor section.
func monitorSpec(t *testing.T, host string) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"model.cue": fmt.Sprintf(`name: "iris"
version: "1.0.0"
registry: repository: %q
eval: metrics: accuracy: direction: "maximize"
drift: {reference: "data/train.csv", current: "data/current.csv"}
monitor: {prediction: "pred", label: "species", alert: history: 5}
package: files: [{path: "model/weights.json", role: "weight"}]
environments: {dev: {}, prod: {after: "dev", gates: accuracy: min: 0.9}}
`, host+"/iris"),
		"model/weights.json": `{"w":[1,2,3]}`,
		"data/train.csv":     sample(2000, 0, 0, 1),
	})
	return dir
}

// sample is CSV with x (normal, mean shift), kind, species and pred (wrong
// with probability wrong).
func sample(rows int, shift, wrong float64, seed uint64) string {
	rng := rand.New(rand.NewPCG(seed, 2))
	var b strings.Builder
	b.WriteString("x,kind,species,pred\n")
	for range rows {
		s := []string{"setosa", "versicolor", "virginica"}[rng.IntN(3)]
		p := s
		if rng.Float64() < wrong {
			p = "setosa"
			if s == "setosa" {
				p = "virginica"
			}
		}
		fmt.Fprintf(&b, "%.4f,%s,%s,%s\n", rng.NormFloat64()+shift, []string{"a", "b"}[rng.IntN(2)], s, p)
	}
	return b.String()
}

// TestMonitorCommand: push packages the reference profile; monitor
// resolves the environment's tag, verifies the signature, reads only the
// profile (the training data is gone), and reports drift and the gate; an
// unsigned model is refused. In Actions it keeps one alert issue: opened,
// updated, closed.
func TestMonitorCommand(t *testing.T) {
	t.Parallel()
	host := testenv.InProcessRegistry(t)
	dir := monitorSpec(t, host)
	env := map[string]string{"COSIGN_PASSWORD": "pw", "MLSHIP_CACHE_DIR": t.TempDir()}
	keys := filepath.Join(t.TempDir(), "cosign")
	if code, _, stderr := mlship(t, env, "keygen", "--output-key-prefix", keys); code != 0 {
		t.Fatalf("keygen: %s", stderr)
	}
	if code, _, stderr := mlship(t, env, "push", dir, "--tag", "prod", "--tag", "dev"); code != 0 {
		t.Fatalf("push: %s", stderr)
	}
	// The training data leaves; only the artifact's profile remains.
	if err := os.RemoveAll(filepath.Join(dir, "data")); err != nil {
		t.Fatal(err)
	}
	cur := t.TempDir()
	writeFiles(t, cur, map[string]string{
		"healthy.csv": sample(1500, 0, 0.02, 2),
		"drifted.csv": sample(1500, 2, 0.02, 3),
		"wrong.csv":   sample(1500, 0, 0.3, 4),
	})
	run := func(env map[string]string, file string, extra ...string) (int, pipeline.MonitorResult, string) {
		t.Helper()
		args := append([]string{"monitor", dir, "--environment", "prod", "--current", filepath.Join(cur, file), "--key", keys + ".pub", "--output", "json"}, extra...)
		code, stdout, stderr := mlship(t, env, args...)
		var res pipeline.MonitorResult
		if code == 0 || stdout != "" {
			if err := json.Unmarshal([]byte(stdout), &res); err != nil {
				t.Fatalf("stdout is not JSON (exit %d): %v\n%s\n%s", code, err, stdout, stderr)
			}
		}
		return code, res, stderr
	}
	if code, _, stderr := run(env, "healthy.csv"); code == 0 || !strings.Contains(stderr, "verification") {
		t.Fatalf("unsigned model: exit %d: %s", code, stderr)
	}
	if code, _, stderr := mlship(t, env, "sign", host+"/iris:prod", "--key", keys+".key"); code != 0 {
		t.Fatalf("sign: %s", stderr)
	}
	code, res, stderr := run(env, "healthy.csv")
	if code != 0 || res.Alert || res.Environment != "prod" || !strings.HasPrefix(res.Digest, "sha256:") || res.Drift == nil || res.Metrics["accuracy"] < 0.95 {
		t.Fatalf("healthy: exit %d %+v: %s", code, res, stderr)
	}
	code, res, _ = run(env, "drifted.csv")
	if code != 0 || !res.Alert || !res.Drift.DatasetDrift || strings.Join(res.DriftedColumns, ",") != "x" {
		t.Fatalf("drifted: exit %d alert %v drifted %v share %v", code, res.Alert, res.DriftedColumns, res.Drift.DriftShare)
	}
	// Several files by a glob, one gzipped: the same rows as drifted.csv.
	parts := strings.SplitAfterN(sample(1500, 2, 0.02, 3), "\n", 800)
	header := parts[0]
	writeFiles(t, cur, map[string]string{"part-1.csv": strings.Join(parts[:799], "")})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(header + parts[799]))
	zw.Close()
	writeFiles(t, cur, map[string]string{"part-2.csv.gz": gz.String()})
	code, res, stderr = run(env, "part-*")
	if code != 0 || !res.Alert || res.Drift.Current.Rows != 1500 || strings.Join(res.DriftedColumns, ",") != "x" {
		t.Fatalf("glob of a CSV and a gzipped CSV: exit %d rows %d drifted %v: %s", code, res.Drift.Current.Rows, res.DriftedColumns, stderr)
	}
	code, res, _ = run(env, "wrong.csv", "--fail-on-alert")
	if code != 1 || !res.Alert || res.Drift.DatasetDrift || len(res.Gates) != 1 || res.Gates[0].Passed {
		t.Fatalf("accuracy below the gate with --fail-on-alert: exit %d %+v", code, res)
	}

	// In Actions, against the GitHub emulator.
	srv := githubtest.New(t)
	gh := t.TempDir()
	aenv := actionsEnv(gh)
	for k, v := range map[string]string{
		"GITHUB_REPOSITORY": "acme/iris", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "7",
		"GITHUB_API_URL": strings.TrimSuffix(srv.URL, "/"), "GITHUB_TOKEN": srv.Token, "GITHUB_REF": "refs/heads/main",
		"GITHUB_EVENT_NAME": "schedule",
	} {
		aenv[k] = v
	}
	for k, v := range env {
		aenv[k] = v
	}
	steps := []struct {
		file   string
		action string
		state  string
	}{
		{"drifted.csv", "opened", "open"},
		{"wrong.csv", "updated", "open"},
		{"healthy.csv", "closed", "closed"},
	}
	for _, s := range steps {
		out := filepath.Join(gh, "report.json")
		code, res, stderr := run(aenv, s.file, "--out", out, "--dispatch", "retrain.yml")
		if code != 0 || res.Issue == nil || string(res.Issue.Action) != s.action {
			t.Fatalf("%s: exit %d issue %+v: %s", s.file, code, res.Issue, stderr)
		}
		issues := srv.Issues("acme", "iris")
		if len(issues) != 1 || issues[0].State != s.state {
			t.Fatalf("%s: issues %+v, want one %s", s.file, issues, s.state)
		}
		outputs, _ := os.ReadFile(filepath.Join(gh, "output"))
		for _, want := range []string{"alert", "drifted-columns", "report-path", "digest"} {
			if !strings.Contains(string(outputs), want) {
				t.Errorf("%s: output %s not set: %s", s.file, want, outputs)
			}
		}
		if _, err := os.Stat(out); err != nil {
			t.Errorf("%s: report not written: %v", s.file, err)
		}
	}
	if d := srv.Dispatches("acme", "iris"); len(d) != 1 || d[0].Workflow != "retrain.yml" {
		t.Errorf("dispatches %+v, want one of retrain.yml when the alert opened", d)
	}
	summary, _ := os.ReadFile(filepath.Join(gh, "summary"))
	if !strings.Contains(string(summary), "mlship monitor") {
		t.Errorf("job summary: %s", summary)
	}
}

// TestDriftProfileOutAndIn: --profile-out writes the reference's profile;
// --reference-profile FILE reads it in place of the data, with the same
// verdicts (and, for the categorical column, the same statistic).
func TestDriftProfileOutAndIn(t *testing.T) {
	t.Parallel()
	prof := filepath.Join(t.TempDir(), "p.json")
	if code, _, stderr := mlship(t, nil, "drift", "--reference", driftRef, "--profile-out", prof); code != 0 {
		t.Fatalf("--profile-out: %s", stderr)
	}
	decode := func(args ...string) map[string]any {
		code, stdout, stderr := mlship(t, nil, append([]string{"drift", "--current", driftCur, "-o", "json"}, args...)...)
		if code != 0 {
			t.Fatalf("%v: %s", args, stderr)
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
			t.Fatal(err)
		}
		return doc
	}
	full, byProf := decode("--reference", driftRef), decode("--reference-profile", prof)
	fc, pc := full["columns"].([]any), byProf["columns"].([]any)
	for i := range fc {
		f, p := fc[i].(map[string]any), pc[i].(map[string]any)
		if f["drift"] != p["drift"] || (f["type"] == "categorical" && f["statistic"] != p["statistic"]) {
			t.Errorf("column %v: full %v, profile %v", f["name"], f, p)
		}
	}
	if code, _, _ := mlship(t, nil, "drift", "--reference", driftRef, "--reference-profile", prof, "--current", driftCur); code != 2 {
		t.Errorf("--reference with --reference-profile: exit %d, want 2", code)
	}
}

// TestMonitorIssueFailureKeepsReport: when the alert issue cannot be kept
// (no token), the run fails, but the report, outputs and summary are
// written first.
func TestMonitorIssueFailureKeepsReport(t *testing.T) {
	t.Parallel()
	host := testenv.InProcessRegistry(t)
	dir := monitorSpec(t, host)
	env := map[string]string{"COSIGN_PASSWORD": "pw", "MLSHIP_CACHE_DIR": t.TempDir()}
	keys := filepath.Join(t.TempDir(), "cosign")
	if code, _, stderr := mlship(t, env, "keygen", "--output-key-prefix", keys); code != 0 {
		t.Fatalf("keygen: %s", stderr)
	}
	if code, _, stderr := mlship(t, env, "push", dir, "--tag", "prod"); code != 0 {
		t.Fatalf("push: %s", stderr)
	}
	if code, _, stderr := mlship(t, env, "sign", host+"/iris:prod", "--key", keys+".key"); code != 0 {
		t.Fatalf("sign: %s", stderr)
	}
	cur := filepath.Join(t.TempDir(), "cur.csv")
	writeFiles(t, filepath.Dir(cur), map[string]string{"cur.csv": sample(500, 2, 0, 5)})
	gh := t.TempDir()
	aenv := actionsEnv(gh)
	aenv["GITHUB_REPOSITORY"] = "acme/iris"
	for k, v := range env {
		aenv[k] = v
	}
	out := filepath.Join(gh, "report.json")
	code, _, stderr := mlship(t, aenv, "monitor", dir, "--environment", "prod", "--current", cur, "--key", keys+".pub", "--out", out)
	if code != 1 || !strings.Contains(stderr, "alert issue") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("report not written: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(gh, "output")); !strings.Contains(string(b), "alert") {
		t.Errorf("outputs not written: %s", b)
	}
}
