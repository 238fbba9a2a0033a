package eval

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlship/mlship/internal/spec"
)

func f64(v float64) *float64 { return &v }

// testModel is the iris example's eval section.
func testModel(dir string) *spec.Model {
	return &spec.Model{
		Name: "iris", Version: "1.1.0", Dir: dir,
		Registry: spec.Registry{Repository: "localhost:5000/mlship/iris"},
		Datasets: map[string]spec.Dataset{
			"iris-eval": {URI: "data/eval.csv", Role: "eval"},
			"iris-ref":  {URI: "data/ref.csv", Role: "reference", Digest: "sha256:" + strings.Repeat("a", 64)},
		},
		Eval: &spec.Eval{
			MetricsFile: "eval.json",
			Baseline:    "prod",
			Metrics: map[string]spec.Metric{
				"accuracy": {Direction: "maximize", Min: f64(0.8), MaxRegression: f64(0.02)},
				"log_loss": {Direction: "minimize", Max: f64(0.8)},
			},
			Bootstrap: spec.Bootstrap{Samples: 500, Confidence: 0.95, Seed: 1},
		},
		Environments: map[string]spec.Environment{
			"dev":     {},
			"staging": {Gates: map[string]spec.Gate{"accuracy": {Min: f64(0.85)}}},
			"prod":    {Gates: map[string]spec.Gate{"accuracy": {Min: f64(0.9)}}},
		},
	}
}

func comparison(t *testing.T, r *Result, metric string) Comparison {
	t.Helper()
	for _, c := range r.Comparisons {
		if c.Metric == metric {
			return c
		}
	}
	t.Fatalf("no comparison for %s in %+v", metric, r.Comparisons)
	return Comparison{}
}

func TestCompare(t *testing.T) {
	t.Parallel()
	prod := &Baseline{Environment: "prod", Source: "file", Metrics: Metrics{"accuracy": 0.95, "log_loss": 0.3}}
	tests := []struct {
		name       string
		cur        Metrics
		base       *Baseline
		env        *string
		passed     bool
		failMetric string
		failWhy    string
		gates      map[string]bool
	}{
		{name: "better than baseline", cur: Metrics{"accuracy": 0.96, "log_loss": 0.25, "f1": 0.9}, base: prod, passed: true,
			gates: map[string]bool{"dev": true, "staging": true, "prod": true}},
		{name: "regression beyond max", cur: Metrics{"accuracy": 0.92, "log_loss": 0.3}, base: prod, failMetric: "accuracy", failWhy: "dropped by 0.03 vs baseline 0.95 (max regression 0.02)",
			gates: map[string]bool{"dev": false, "staging": false, "prod": false}},
		{name: "regression within max", cur: Metrics{"accuracy": 0.935, "log_loss": 0.3}, base: prod, passed: true},
		{name: "below min, no baseline", cur: Metrics{"accuracy": 0.7, "log_loss": 0.3}, failMetric: "accuracy", failWhy: "0.7 is below min 0.8"},
		{name: "above max", cur: Metrics{"accuracy": 0.95, "log_loss": 0.9}, base: prod, failMetric: "log_loss", failWhy: "0.9 is above max 0.8"},
		{name: "prod gate only", cur: Metrics{"accuracy": 0.87, "log_loss": 0.3}, failMetric: "accuracy", failWhy: "0.87 is below gate min 0.9",
			gates: map[string]bool{"dev": true, "staging": true, "prod": false}},
		{name: "staging target passes", cur: Metrics{"accuracy": 0.87, "log_loss": 0.3}, env: new("staging"), passed: true},
		{name: "no environment: spec bounds only", cur: Metrics{"accuracy": 0.81, "log_loss": 0.3}, env: new(""), passed: true},
		{name: "missing metric", cur: Metrics{"accuracy": 0.95}, base: prod, failMetric: "log_loss", failWhy: "missing from the metrics file"},
		{name: "float noise at the bound", cur: Metrics{"accuracy": 0.1 + 0.2 + 0.6, "log_loss": 0.8}, env: new(""), passed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := []Option{WithClock(func() time.Time { return time.Unix(0, 0) })}
			if tt.env != nil {
				opts = append(opts, WithEnvironment(*tt.env))
			}
			r, err := Compare(testModel(""), Current{Metrics: tt.cur}, tt.base, opts...)
			if err != nil {
				t.Fatal(err)
			}
			if r.Passed != tt.passed {
				t.Fatalf("passed = %v, want %v; failures %v", r.Passed, tt.passed, r.Failures())
			}
			if tt.failMetric != "" {
				c := comparison(t, r, tt.failMetric)
				if c.Verdict != VerdictFail || !strings.Contains(strings.Join(c.Failed, "; "), tt.failWhy) {
					t.Fatalf("%s: verdict %s, failed %q; want a failure saying %q", tt.failMetric, c.Verdict, c.Failed, tt.failWhy)
				}
			}
			for env, want := range tt.gates {
				if got := r.Environments[env].Passed; got != want {
					t.Errorf("environments[%s].passed = %v, want %v (%v)", env, got, want, r.Environments[env].Failures)
				}
			}
			if tt.base == nil && (len(r.Notes) == 0 || !strings.Contains(r.Notes[0], "No baseline")) {
				t.Errorf("no note about the missing baseline: %v", r.Notes)
			}
			if f1, ok := r.Metrics["f1"]; ok {
				if c := comparison(t, r, "f1"); c.Verdict != VerdictInfo || c.Gated || *c.Current != f1 {
					t.Errorf("ungated metric judged: %+v", c)
				}
			}
		})
	}
}

func TestCompareCI(t *testing.T) {
	t.Parallel()
	cur := &Examples{IDs: []string{"a", "b", "c", "d", "e", "f"}, Values: map[string][]float64{"accuracy": {1, 1, 0, 1, 1, 0}}}
	base := &Examples{IDs: []string{"f", "e", "d", "c", "b", "a", "z"}, Values: map[string][]float64{"accuracy": {1, 1, 1, 0, 1, 1, 1}}}
	r, err := Compare(testModel(""), Current{Metrics: Metrics{"accuracy": 4.0 / 6, "log_loss": 0.3}, Examples: cur, BaselineExamples: base},
		&Baseline{Source: "file", Metrics: Metrics{"accuracy": 5.0 / 6, "log_loss": 0.3}})
	if err != nil {
		t.Fatal(err)
	}
	c := comparison(t, r, "accuracy")
	if c.CI == nil || c.CI.N != 6 || c.Significant == nil {
		t.Fatalf("no CI on 6 paired examples: %+v", c)
	}
	if !(c.CI.Low <= *c.Delta && *c.Delta <= c.CI.High) {
		t.Fatalf("CI [%v, %v] misses delta %v", c.CI.Low, c.CI.High, *c.Delta)
	}
	if *c.Significant || !strings.Contains(strings.Join(c.Reasons, " "), "may be noise") {
		t.Fatalf("a 1-in-6 drop should be flagged as possible noise: %+v", c)
	}
	if r.Bootstrap == nil || r.Bootstrap.Samples != 500 {
		t.Fatalf("bootstrap config not recorded: %+v", r.Bootstrap)
	}
	if comparison(t, r, "log_loss").CI != nil {
		t.Fatal("CI for a metric without per-example values")
	}
}

func TestFileBaseline(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plain := filepath.Join(dir, "m.json")
	os.WriteFile(plain, []byte(`{"accuracy":0.9}`), 0o644)
	prev := &Result{SchemaVersion: SchemaVersion, Model: ModelRef{Name: "iris", Version: "1.0.0", Digest: "sha256:" + strings.Repeat("b", 64)}, Metrics: Metrics{"accuracy": 0.91}}
	b, _ := json.Marshal(prev)
	result := filepath.Join(dir, "r.json")
	os.WriteFile(result, b, 0o644)
	old := filepath.Join(dir, "old.json")
	os.WriteFile(old, []byte(`{"schemaVersion":"mlship.dev/eval/v0","metrics":{}}`), 0o644)

	got, err := FileBaseline{Path: plain}.Baseline(context.Background(), nil, "prod")
	if err != nil || got.Metrics["accuracy"] != 0.9 || got.Source != "file" || got.Environment != "prod" {
		t.Fatalf("plain metrics: %+v, %v", got, err)
	}
	got, err = FileBaseline{Path: result}.Baseline(context.Background(), nil, "prod")
	if err != nil || got.Metrics["accuracy"] != 0.91 || got.Version != "1.0.0" || got.Digest != prev.Model.Digest {
		t.Fatalf("eval result: %+v, %v", got, err)
	}
	if _, err := (FileBaseline{Path: old}).Baseline(context.Background(), nil, "prod"); err == nil || !strings.Contains(err.Error(), "schemaVersion") {
		t.Fatalf("old schema: %v", err)
	}
	if _, err := (FileBaseline{Path: filepath.Join(dir, "nope")}).Baseline(context.Background(), nil, "prod"); err == nil || errors.Is(err, ErrNoBaseline) {
		t.Fatalf("a missing baseline file must be an error, not 'no baseline': %v", err)
	}
}

func TestRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "data"), 0o755)
	os.WriteFile(filepath.Join(dir, "data", "eval.csv"), []byte("a,b\n1,2\n"), 0o644)
	m := testModel(dir)
	m.Eval.ExamplesFile = "examples.jsonl"
	m.Eval.Command = []string{"sh", "-c", `printf '{"accuracy":0.5}\n{"accuracy":0.96,"log_loss":0.2}\n' > "$MLSHIP_EVAL_METRICS_FILE" && printf '{"id":1,"accuracy":1}\n{"id":2,"accuracy":1}\n' > examples.jsonl`}
	basePath := filepath.Join(dir, "base.jsonl")
	os.WriteFile(basePath, []byte("{\"id\":1,\"accuracy\":1}\n{\"id\":2,\"accuracy\":0}\n"), 0o644)

	r, err := Run(context.Background(), m,
		WithBaselineSource(BaselineFunc(func(_ context.Context, _ *spec.Model, env string) (*Baseline, error) {
			return &Baseline{Environment: env, Source: "test", Metrics: Metrics{"accuracy": 0.5, "log_loss": 0.2}}, nil
		})),
		WithBaselineExamplesFile(basePath))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Passed || r.Metrics["accuracy"] != 0.96 {
		t.Fatalf("passed=%v metrics=%v failures=%v", r.Passed, r.Metrics, r.Failures())
	}
	if c := comparison(t, r, "accuracy"); c.CI == nil || c.CI.N != 2 {
		t.Fatalf("examples not used: %+v", c)
	}
	var evalDS DatasetRef
	for _, d := range r.Datasets {
		if d.Name == "iris-eval" {
			evalDS = d
		}
	}
	if !strings.HasPrefix(evalDS.Digest, "sha256:") {
		t.Fatalf("eval dataset not hashed: %+v", r.Datasets)
	}

	// No baseline, metrics file given: the command does not run.
	m2 := testModel(dir)
	m2.Eval.Command = []string{"false"}
	mf := filepath.Join(dir, "given.json")
	os.WriteFile(mf, []byte(`{"accuracy":0.95,"log_loss":0.1}`), 0o644)
	r, err = Run(context.Background(), m2, WithMetricsFile(mf), WithBaselineSource(NoBaseline()))
	if err != nil {
		t.Fatal(err)
	}
	if r.Baseline != nil || !r.Passed || len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "No baseline") {
		t.Fatalf("bounds-only run: %+v", r)
	}

	// A failing eval command is an error naming the command.
	if _, err := Run(context.Background(), m2); err == nil || !strings.Contains(err.Error(), `eval command "false"`) {
		t.Fatalf("failing command: %v", err)
	}
}

func TestLocateMetric(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "model.cue")
	os.WriteFile(p, []byte(`name: "iris"
eval: {
	metrics: {
		accuracy: {direction: "maximize", min: 0.8}
		log_loss: {direction: "minimize"}
	}
}
environments: {
	prod: gates: recall: min: 0.9
}
`), 0o644)
	m := &spec.Model{Dir: dir, Files: []string{p}}
	for metric, want := range map[string]int{"accuracy": 4, "log_loss": 5, "recall": 9, "f1": 2} {
		loc, ok := LocateMetric(m, metric)
		if !ok || loc.Line != want || loc.File != p {
			t.Errorf("%s: %+v %v, want line %d", metric, loc, ok, want)
		}
	}
	if _, ok := LocateMetric(&spec.Model{Files: []string{filepath.Join(dir, "nope.cue")}}, "x"); ok {
		t.Error("located in a missing file")
	}
}

func TestCompareGateChecks(t *testing.T) {
	t.Parallel()
	base := &Baseline{Source: "file", Metrics: Metrics{"accuracy": 0.95, "log_loss": 0.3}}
	r, err := Compare(testModel(""), Current{Metrics: Metrics{"accuracy": 0.92}}, base)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]GateCheck{}
	for _, g := range r.Gates {
		got[g.Metric+"/"+g.Rule] = g
	}
	want := map[string]struct {
		passed bool
		op     string
		bound  float64
	}{
		"accuracy/min":           {true, ">=", 0.8},
		"accuracy/gate.min":      {true, ">=", 0.9},
		"accuracy/maxRegression": {false, "<=", 0.02},
		"log_loss/present":       {false, "present", 0},
	}
	if len(got) != len(want) {
		t.Fatalf("checks %+v, want %v", r.Gates, want)
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok || g.Passed != w.passed || g.Op != w.op || g.Bound != w.bound {
			t.Errorf("%s: %+v, want %+v", k, g, w)
		}
	}
	if g := got["accuracy/maxRegression"]; g.Value < 0.0299 || g.Value > 0.0301 || g.Message == "" {
		t.Errorf("regression check: %+v", g)
	}
}

// TestRunStaleMetrics: a metrics (or examples) file left from an earlier
// run must never decide this run's gates. An eval command that writes
// nothing is an error naming the file, however good the stale values.
func TestRunStaleMetrics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		command  string
		examples bool
		want     string // error substring; "" means success
	}{
		{"command writes nothing", "true", false, "eval.json"},
		{"command writes only examples", `printf '{"id":1,"accuracy":1}\n' > examples.jsonl`, true, "eval.json"},
		{"command rewrites the metrics", `printf '{"accuracy":0.81,"log_loss":0.3}' > "$MLSHIP_EVAL_METRICS_FILE"`, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			stale := filepath.Join(dir, "eval.json")
			os.WriteFile(stale, []byte(`{"accuracy":0.99,"log_loss":0.01}`), 0o644)
			os.WriteFile(filepath.Join(dir, "examples.jsonl"), []byte("{\"id\":9,\"accuracy\":1}\n"), 0o644)
			m := testModel(dir)
			m.Eval.Command = []string{"sh", "-c", tt.command}
			if tt.examples {
				m.Eval.ExamplesFile = "examples.jsonl"
			}
			r, err := Run(context.Background(), m, WithBaselineSource(NoBaseline()))
			if tt.want != "" {
				if err == nil {
					t.Fatalf("a stale metrics file decided the gates: passed=%v metrics=%v", r.Passed, r.Metrics)
				}
				if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "wrote no") {
					t.Fatalf("error does not name the missing file %s: %v", tt.want, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Metrics["accuracy"] != 0.81 {
				t.Fatalf("metrics %v, want this run's", r.Metrics)
			}
		})
	}
	t.Run("stale examples are not used", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "examples.jsonl"), []byte("{\"id\":9,\"accuracy\":1}\n"), 0o644)
		m := testModel(dir)
		m.Eval.ExamplesFile = "examples.jsonl"
		m.Eval.Command = []string{"sh", "-c", `printf '{"accuracy":0.81,"log_loss":0.3}' > "$MLSHIP_EVAL_METRICS_FILE"`}
		if _, err := Run(context.Background(), m, WithBaselineSource(NoBaseline())); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, "examples.jsonl")); !os.IsNotExist(err) {
			t.Errorf("the stale examples file survived the eval command (%v)", err)
		}
	})
}
