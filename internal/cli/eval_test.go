package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/mlship/mlship/internal/eval"
	"github.com/mlship/mlship/internal/iostreams"
	"github.com/mlship/mlship/internal/pipeline"
	"github.com/mlship/mlship/internal/sign"
)

// evalSpec writes a small spec with two gated metrics into a new directory.
func evalSpec(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"model.cue": `name:    "iris"
version: "1.1.0"
registry: repository: "oci:layout"
datasets: "iris-eval": {uri: "eval.csv", role: "eval"}
eval: {
	metricsFile: "eval.json"
	metrics: {
		accuracy: {direction: "maximize", min: 0.8, maxRegression: 0.02}
		log_loss: {direction: "minimize", max: 0.8}
	}
}
package: files: []
environments: {
	staging: gates: accuracy: min: 0.85
	prod: {after: "staging", gates: accuracy: min: 0.9}
}
signing: {}
`,
		"eval.csv":  "a,b\n1,2\n",
		"eval.json": `{"accuracy":0.93,"log_loss":0.3}`,
		"bad.json":  `{"accuracy":0.86,"log_loss":0.3}`,
		"base.json": `{"accuracy":0.95,"log_loss":0.3}`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// actionsEnv is a GitHub Actions environment whose files live in dir.
func actionsEnv(dir string) map[string]string {
	return map[string]string{
		"GITHUB_ACTIONS":      "true",
		"GITHUB_OUTPUT":       filepath.Join(dir, "output"),
		"GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary"),
		"GITHUB_WORKSPACE":    dir,
	}
}

func TestEvalFlags(t *testing.T) {
	t.Parallel()
	ios, _, _ := iostreams.Test(nil)
	var got *EvalOptions
	cmd := NewCmdEval(NewFactory(ios, "test"), func(o *EvalOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"specs/iris", "--metrics", "m.json", "--baseline", "b.json", "--environment", "", "--no-fail", "--out", "r.json"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.SpecDir != "specs/iris" || got.MetricsFile != "m.json" || got.BaselineFile != "b.json" || !got.EnvironmentSet || got.Environment != "" || !got.NoFail || got.Out != "r.json" {
		t.Fatalf("options: %+v", got)
	}
	cmd = NewCmdEval(NewFactory(ios, "test"), func(*EvalOptions) error { return nil })
	cmd.SetArgs([]string{"--no-baseline", "--baseline", "b.json"})
	var ee *ExitError
	if err := cmd.Execute(); !errors.As(err, &ee) || ee.Code != 2 {
		t.Fatalf("exclusive flags: %v", err)
	}
}

func TestRunEval(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		metrics  string
		baseline string
		noFail   bool
		env      *string
		wantCode int
		passed   bool
	}{
		{name: "pass, no baseline", metrics: "eval.json", passed: true},
		{name: "pass against baseline", metrics: "eval.json", baseline: "base.json", passed: true},
		{name: "fail prod gate", metrics: "bad.json", wantCode: 1},
		{name: "fail, no-fail", metrics: "bad.json", noFail: true},
		{name: "staging gate passes", metrics: "bad.json", env: new("staging"), passed: true},
		{name: "regression fails", metrics: "bad.json", baseline: "base.json", env: new("staging"), wantCode: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := evalSpec(t)
			env := actionsEnv(dir)
			ios, stdout, _ := iostreams.Test(env)
			opts := &EvalOptions{F: NewFactory(ios, "test"), EvalRequest: pipeline.EvalRequest{SpecDir: dir, MetricsFile: filepath.Join(dir, tt.metrics),
				Out: filepath.Join(dir, "out", "eval-result.json"), ReportOut: filepath.Join(dir, "out", "eval-report.md")}, NoFail: tt.noFail}
			if tt.baseline != "" {
				opts.BaselineFile = filepath.Join(dir, tt.baseline)
			} else {
				opts.NoBaseline = true
			}
			if tt.env != nil {
				opts.Environment, opts.EnvironmentSet = *tt.env, true
			}
			err := runEval(context.Background(), opts)
			var ee *ExitError
			switch {
			case tt.wantCode == 0 && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantCode != 0 && (!errors.As(err, &ee) || ee.Code != tt.wantCode):
				t.Fatalf("err = %v, want exit %d", err, tt.wantCode)
			}
			res, rerr := eval.ReadResultFile(opts.Out)
			if rerr != nil {
				t.Fatal(rerr)
			}
			if res.Passed != tt.passed {
				t.Fatalf("result passed = %v, want %v", res.Passed, tt.passed)
			}
			md, _ := os.ReadFile(opts.ReportOut)
			if !bytes.HasPrefix(md, []byte("<!-- mlship:report:iris -->")) {
				t.Fatalf("report: %.100s", md)
			}
			out, _ := os.ReadFile(env["GITHUB_OUTPUT"])
			for _, want := range []string{"passed", "result-path", "report-path", opts.Out} {
				if !bytes.Contains(out, []byte(want)) {
					t.Errorf("GITHUB_OUTPUT lacks %q:\n%s", want, out)
				}
			}
			if sum, _ := os.ReadFile(env["GITHUB_STEP_SUMMARY"]); !bytes.Contains(sum, []byte("mlship eval")) {
				t.Errorf("no job summary line: %q", sum)
			}
			if !tt.passed {
				// A failed metric is annotated at its spec line.
				if !strings.Contains(stdout.String(), "::error file=model.cue,line=8") {
					t.Errorf("no annotation at model.cue:8 in:\n%s", stdout)
				}
			}
		})
	}
}

func TestRunEvalJSON(t *testing.T) {
	t.Parallel()
	dir := evalSpec(t)
	ios, stdout, _ := iostreams.Test(nil)
	ios.Format = iostreams.JSON
	opts := &EvalOptions{F: NewFactory(ios, "test"), EvalRequest: pipeline.EvalRequest{SpecDir: dir, MetricsFile: filepath.Join(dir, "eval.json"), NoBaseline: true,
		Out: filepath.Join(dir, "r.json"), ReportOut: ""}}
	if err := runEval(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	var got eval.Result
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, stdout)
	}
	if got.SchemaVersion != eval.SchemaVersion || !got.Passed || got.Model.Name != "iris" || got.Metrics["accuracy"] != 0.93 {
		t.Fatalf("%+v", got)
	}
	if len(got.Datasets) != 1 || !strings.HasPrefix(got.Datasets[0].Digest, "sha256:") {
		t.Fatalf("datasets: %+v", got.Datasets)
	}
	if got.Environments["staging"].Passed != true || got.Environments["prod"].Passed != true {
		t.Fatalf("environments: %+v", got.Environments)
	}
}

// The eval result is the eval attestation's predicate: sign must accept it
// as written, and read the failed gates from it.
func TestEvalResultIsAnAttestablePredicate(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		metrics string
		passed  bool
	}{{"eval.json", true}, {"bad.json", false}} {
		dir := evalSpec(t)
		ios, _, _ := iostreams.Test(nil)
		out := filepath.Join(dir, "r.json")
		if err := runEval(context.Background(), &EvalOptions{F: NewFactory(ios, "test"), EvalRequest: pipeline.EvalRequest{SpecDir: dir, MetricsFile: filepath.Join(dir, c.metrics),
			BaselineFile: filepath.Join(dir, "base.json"), Out: out, Environment: "staging", EnvironmentSet: true}, NoFail: true}); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(out)
		p, err := sign.ParseEvalResult(b)
		if err != nil {
			t.Fatalf("%s: sign refuses the eval result: %v", c.metrics, err)
		}
		if p.Passed != c.passed || p.Baseline == nil || p.Baseline.Metrics["accuracy"] != 0.95 || len(p.Gates) == 0 {
			t.Fatalf("%s: predicate as sign reads it: %+v", c.metrics, p)
		}
		err = p.CheckGates(nil)
		if c.passed && err != nil || !c.passed && (err == nil || !strings.Contains(err.Error(), "accuracy 0.0") || !strings.Contains(err.Error(), "> 0.02")) {
			t.Fatalf("%s: CheckGates = %v", c.metrics, err)
		}
	}
}

// The baseline comes from the registry: the prod tag's dev.mlship.metrics
// annotation, with per-example results giving confidence intervals.
func TestRunEvalRegistryBaseline(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(registry.New())
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	ref, err := name.ParseReference(host+"/acme/iris:prod", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img := mutate.Annotations(empty.Image, map[string]string{eval.AnnotationMetrics: `{"accuracy":0.95,"log_loss":0.3}`, "org.opencontainers.image.version": "1.0.0"}).(v1.Image)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	dir := evalSpec(t)
	var cur, base strings.Builder
	for i := range 200 {
		fmt.Fprintf(&cur, "{\"id\":%d,\"accuracy\":%d}\n", i, evalB2I(i < 186))
		// The baseline got 0-9 wrong, the current model 186-199:
		// discordant pairs both ways, as real models disagree.
		fmt.Fprintf(&base, "{\"id\":%d,\"accuracy\":%d}\n", i, evalB2I(i >= 10))
	}
	os.WriteFile(filepath.Join(dir, "cur.jsonl"), []byte(cur.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "base.jsonl"), []byte(base.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "m.json"), []byte(`{"accuracy":0.93,"log_loss":0.3}`), 0o644)

	ios, _, _ := iostreams.Test(nil)
	out := filepath.Join(dir, "r.json")
	err = runEval(context.Background(), &EvalOptions{F: NewFactory(ios, "test"), EvalRequest: pipeline.EvalRequest{SpecDir: dir, Repository: host + "/acme/iris",
		MetricsFile: filepath.Join(dir, "m.json"), ExamplesFile: filepath.Join(dir, "cur.jsonl"), BaselineExamplesFile: filepath.Join(dir, "base.jsonl"),
		Out: out, ReportOut: filepath.Join(dir, "r.md")}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := eval.ReadResultFile(out)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	if res.Baseline == nil || res.Baseline.Source != "registry" || res.Baseline.Digest != d.String() || res.Baseline.Version != "1.0.0" {
		t.Fatalf("baseline %+v", res.Baseline)
	}
	var acc eval.Comparison
	for _, c := range res.Comparisons {
		if c.Metric == "accuracy" {
			acc = c
		}
	}
	// 0.93 vs 0.95: within the 0.02 max regression, and the paired
	// interval (10 better, 14 worse of 200) includes 0; its mean is the delta.
	if !res.Passed || acc.CI == nil || acc.CI.N != 200 || acc.Significant == nil || *acc.Significant || math.Abs(acc.CI.Mean-*acc.Delta) > 1e-12 {
		t.Fatalf("passed=%v accuracy=%+v ci=%+v", res.Passed, acc, acc.CI)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "r.md"))
	if !strings.Contains(string(md), "| `accuracy` ↑ | 0.95 | 0.93 | −0.02 | [") {
		t.Fatalf("report row missing:\n%s", md)
	}
}

func evalB2I(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestEvalStaleMetricsFile: eval.json with passing values from an earlier
// run and an eval command that writes nothing: eval fails naming the
// file, and writes no passing result.
func TestEvalStaleMetricsFile(t *testing.T) {
	t.Parallel()
	dir := evalSpec(t)
	spec := filepath.Join(dir, "model.cue")
	b, err := os.ReadFile(spec)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, spec, strings.Replace(string(b), `metricsFile: "eval.json"`, `metricsFile: "eval.json"
	command: ["true"]`, 1))
	out := filepath.Join(dir, "out", "eval-result.json")
	code, stdout, stderr := mlship(t, nil, "eval", dir, "--no-baseline", "--out", out, "--report", "")
	if code == 0 {
		t.Fatalf("eval passed on a stale metrics file:\n%s%s", stdout, stderr)
	}
	if !strings.Contains(stderr, filepath.Join(dir, "eval.json")) || !strings.Contains(stderr, "wrote no metrics file") {
		t.Errorf("exit %d, error does not name the metrics file:\n%s", code, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed eval wrote %s (%v)", out, err)
	}
}
