package report

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mlship/mlship/internal/drift"
	"github.com/mlship/mlship/internal/eval"
	"github.com/mlship/mlship/internal/spec"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func f64(v float64) *float64 { return &v }

func irisModel() *spec.Model {
	return &spec.Model{
		Name: "iris", Version: "1.1.0", Digest: "sha256:" + strings.Repeat("5", 64),
		Datasets: map[string]spec.Dataset{"iris-eval": {URI: "data/eval.csv", Role: "eval", Digest: "sha256:" + strings.Repeat("e", 64)}},
		Eval: &spec.Eval{
			Baseline: "prod",
			Metrics: map[string]spec.Metric{
				"accuracy": {Direction: "maximize", Min: f64(0.8), MaxRegression: f64(0.02)},
				"log_loss": {Direction: "minimize", Max: f64(0.8)},
			},
			Bootstrap: spec.Bootstrap{Samples: 1000, Confidence: 0.95, Seed: 1},
		},
		Environments: map[string]spec.Environment{
			"staging": {Gates: map[string]spec.Gate{"accuracy": {Min: f64(0.85)}}},
			"prod":    {Gates: map[string]spec.Gate{"accuracy": {Min: f64(0.9)}}},
		},
	}
}

// examples gives n per-example 0/1 results with the first k correct.
func examples(n, k int) *eval.Examples {
	ex := &eval.Examples{Values: map[string][]float64{"accuracy": make([]float64, n)}}
	for i := range n {
		ex.IDs = append(ex.IDs, fmt.Sprint(i))
		if i < k {
			ex.Values["accuracy"][i] = 1
		}
	}
	return ex
}

func evalResult(t *testing.T, cur eval.Metrics, curCorrect int) *eval.Result {
	t.Helper()
	base := &eval.Baseline{Environment: "prod", Source: "registry", Ref: "ghcr.io/acme/iris:prod", Version: "1.0.0",
		Digest: "sha256:" + strings.Repeat("b", 64), Metrics: eval.Metrics{"accuracy": 0.95, "log_loss": 0.3}}
	r, err := eval.Compare(irisModel(), eval.Current{Metrics: cur, Examples: examples(100, curCorrect), BaselineExamples: examples(100, 95)}, base,
		eval.WithClock(func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func driftResult(n, drifted int) *drift.Result {
	d := &drift.Result{Mode: "exact", Reference: drift.DatasetInfo{Path: "data/train.csv", Format: "csv", Rows: 150}, Current: drift.DatasetInfo{Path: "data/current.csv", Format: "csv", Rows: 60}, ShareThreshold: 0.5}
	for i := range n {
		c := drift.ColumnResult{Name: fmt.Sprintf("feature_%03d", i), Type: "numerical", Test: "wasserstein", Statistic: 0.01 * float64(i%7), Threshold: 0.1}
		if i%5 == 4 {
			c = drift.ColumnResult{Name: fmt.Sprintf("category_%03d", i), Type: "categorical", Test: "chisquare", Statistic: 3.2, PValue: f64(0.2), Threshold: 0.05}
		}
		if i == 4 {
			c.Missing = drift.Missing{Reference: 0, Current: 3}
			c.UnseenCategories, c.UnseenCount, c.UnseenRows = []string{"virginica-x", "a|b"}, 2, 7
		}
		if i < drifted {
			c.Drift = true
			if c.PValue != nil {
				c.PValue = f64(0.001)
			} else {
				c.Statistic = 0.25
			}
		}
		d.Columns = append(d.Columns, c)
	}
	d.DriftShare = float64(drifted) / float64(n)
	d.DatasetDrift = d.DriftShare >= 0.5
	return d
}

func TestRenderGolden(t *testing.T) {
	t.Parallel()
	plan := Section{Title: "Promotion plan", Priority: PriorityPlan, Markdown: "### Promotion plan\n\n- `staging`: `sha256:5555` ← `sha256:bbbb`\n"}
	tests := []struct {
		name string
		in   Input
		lim  Limits
	}{
		{name: "passing", in: Input{Eval: evalResult(t, eval.Metrics{"accuracy": 0.96, "log_loss": 0.25, "f1_macro": 0.95}, 96), Drift: driftResult(5, 0)}, lim: CommentLimits},
		{name: "failing", in: Input{Eval: evalResult(t, eval.Metrics{"accuracy": 0.88, "log_loss": 0.9}, 88), Drift: driftResult(5, 1), Sections: []Section{plan},
			FullReportURL: "https://github.com/acme/iris/actions/runs/42"}, lim: CommentLimits},
		{name: "drifted", in: Input{Model: "iris", Drift: driftResult(10, 6)}, lim: CommentLimits},
		{name: "no-baseline", in: Input{Eval: func() *eval.Result {
			r, _ := eval.Compare(irisModel(), eval.Current{Metrics: eval.Metrics{"accuracy": 0.93, "log_loss": 0.3}}, nil,
				eval.WithClock(func() time.Time { return time.Unix(0, 0) }))
			return r
		}()}, lim: CommentLimits},
		{name: "oversized", in: Input{Eval: evalResult(t, eval.Metrics{"accuracy": 0.96, "log_loss": 0.25}, 96), Drift: driftResult(4000, 2100),
			FullReportURL: "https://github.com/acme/iris/actions/runs/42"}, lim: CommentLimits},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Render(tt.in, tt.lim)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) > tt.lim.MaxBytes {
				t.Fatalf("rendered %d bytes, over the limit %d", len(got), tt.lim.MaxBytes)
			}
			if !strings.HasPrefix(got, Marker(tt.in.ModelName())+"\n") {
				t.Fatalf("report does not start with its marker:\n%.200s", got)
			}
			golden := filepath.Join("testdata", tt.name+".md")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/report -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("rendered report differs from %s (run with -update if intended):\n%s", golden, firstDiff(string(want), got))
			}
		})
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\nwant: %s\ngot:  %s", i+1, w, g)
		}
	}
	return "(no line differs)"
}

func TestRenderTrimming(t *testing.T) {
	t.Parallel()
	in := Input{Eval: evalResult(t, eval.Metrics{"accuracy": 0.96, "log_loss": 0.25}, 96), Drift: driftResult(4000, 2100),
		Sections:      []Section{{Title: "Promotion plan", Priority: PriorityPlan, Markdown: "### Promotion plan\n\nmoves staging\n"}},
		FullReportURL: "https://github.com/acme/iris/actions/runs/42"}
	full, err := Render(in, NoLimits)
	if err != nil {
		t.Fatal(err)
	}
	if len(full) < CommentLimits.MaxBytes {
		t.Fatalf("fixture too small to trim: %d bytes", len(full))
	}
	for _, lim := range []Limits{CommentLimits, CheckSummaryLimits, StepSummaryLimits, {MaxBytes: 3000, Name: "tiny"}, {MaxBytes: 600, Name: "tinier"}} {
		got, err := Render(in, lim)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) > lim.MaxBytes || !utf8.ValidString(got) {
			t.Fatalf("%s: %d bytes (limit %d), valid UTF-8 %v", lim.Name, len(got), lim.MaxBytes, utf8.ValidString(got))
		}
		if strings.Count(got, "```")%2 != 0 {
			t.Fatalf("%s: unbalanced code fence", lim.Name)
		}
		if len(full) > lim.MaxBytes && !strings.Contains(got, "https://github.com/acme/iris/actions/runs/42") {
			t.Fatalf("%s: trimmed report has no pointer to the full one", lim.Name)
		}
		if lim.MaxBytes >= 3000 {
			// The verdict and the metrics (highest priority) survive;
			// charts (lowest) go first.
			for _, want := range []string{"eval gates passed", "### Metrics", "`accuracy`"} {
				if !strings.Contains(got, want) {
					t.Errorf("%s: %q was trimmed away", lim.Name, want)
				}
			}
			if len(full) > lim.MaxBytes && strings.Contains(got, "xychart-beta") {
				t.Errorf("%s: charts kept while more important sections were trimmed", lim.Name)
			}
		}
	}
	if got, _ := Render(in, StepSummaryLimits); got != full {
		t.Error("a report under 1 MiB was trimmed for the step summary")
	}
}

func TestRenderEscapes(t *testing.T) {
	t.Parallel()
	d := &drift.Result{Columns: []drift.ColumnResult{{Name: "a|b`<script>\n## x", Type: "categorical", Test: "chisquare", PValue: f64(0.5), Threshold: 0.05}}}
	got, err := Render(Input{Model: "m", Drift: d}, CommentLimits)
	if err != nil {
		t.Fatal(err)
	}
	table := got[strings.Index(got, "| Column"):strings.Index(got, "### Charts")]
	if strings.Contains(got, "\n## x") || strings.Contains(table, "a|b") || strings.Count(table, "\n") != 4 {
		t.Fatalf("untrusted column name broke the Markdown:\n%s", got)
	}
	if _, err := Render(Input{}, CommentLimits); err == nil {
		t.Fatal("empty input rendered")
	}
}

func TestConclusion(t *testing.T) {
	t.Parallel()
	pass := &eval.Result{Passed: true}
	fail := &eval.Result{Passed: false}
	for _, c := range []struct {
		in   Input
		want string
	}{
		{Input{Eval: pass}, "success"},
		{Input{Eval: fail, Drift: &drift.Result{DatasetDrift: true}}, "failure"},
		{Input{Eval: pass, Drift: &drift.Result{DatasetDrift: true}}, "neutral"},
		{Input{Drift: &drift.Result{}}, "success"},
	} {
		if got := c.in.Conclusion(); got != c.want {
			t.Errorf("%+v: %s, want %s", c.in, got, c.want)
		}
	}
}

// TestRenderNotComputedScore: a statistic that could not be computed reads
// as such, not as a score of 0.
func TestRenderNotComputedScore(t *testing.T) {
	t.Parallel()
	dr := driftResult(5, 0)
	dr.Columns[0].NotComputed, dr.Columns[0].Drift, dr.Columns[0].Note = true, true, "wasserstein statistic not computed"
	md, err := Render(Input{Drift: dr}, NoLimits)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md, "| not computed |") || !strings.Contains(md, "wasserstein statistic not computed") {
		t.Fatalf("not-computed column not shown:\n%s", md)
	}
}
