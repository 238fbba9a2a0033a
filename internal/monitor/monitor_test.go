package monitor

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlship/mlship/internal/drift"
	"github.com/mlship/mlship/internal/spec"
)

func TestMetrics(t *testing.T) {
	t.Parallel()
	m := NewMetrics()
	// labels a a b b c, predictions a b b b a; one missing row.
	for _, r := range [][2]string{{"a", "a"}, {"b", "a"}, {"b", "b"}, {"b", "b"}, {"a", "c"}, {"", "c"}} {
		m.Add(r[0], r[1])
	}
	// sklearn: accuracy 0.6; per class p/r: a 1/2=0.5,1/2 ; b 2/3,1 ; c 0,0
	// (labels = classes of y_true: a, b, c).
	want := map[string]float64{
		"accuracy": 0.6, "error_rate": 0.4,
		"precision": (0.5 + 2.0/3 + 0) / 3, "recall": (0.5 + 1 + 0) / 3,
		"f1_macro": (0.5 + 0.8 + 0) / 3,
	}
	for k, w := range want {
		got, err := m.Compute(k)
		if err != nil || math.Abs(got-w) > 1e-12 {
			t.Errorf("%s = %v (%v), want %v", k, got, err, w)
		}
	}
	if m.Rows() != 5 || m.Missing() != 1 {
		t.Errorf("rows %d missing %d", m.Rows(), m.Missing())
	}
	if _, err := m.Compute("rmse"); err == nil {
		t.Error("rmse of labels that are not numbers")
	}
	if _, err := m.Compute("auc"); err == nil || !strings.Contains(err.Error(), "computable") {
		t.Errorf("auc: %v", err)
	}
	r := NewMetrics()
	for _, p := range [][2]string{{"1", "1.5"}, {"2", "2"}, {"4", "3"}} {
		r.Add(p[0], p[1])
	}
	// errors -0.5, 0, 1: mae 0.5, mse 1.25/3; labels mean 13/6.
	mean := 6.5 / 3
	ss := (1.5-mean)*(1.5-mean) + (2-mean)*(2-mean) + (3-mean)*(3-mean)
	for k, w := range map[string]float64{"mae": 0.5, "mse": 1.25 / 3, "rmse": math.Sqrt(1.25 / 3), "r2": 1 - 1.25/ss} {
		got, err := r.Compute(k)
		if err != nil || math.Abs(got-w) > 1e-12 {
			t.Errorf("%s = %v (%v), want %v", k, got, err, w)
		}
	}
}

func writeSample(t *testing.T, name string, rows int, shift float64, wrong float64, seed uint64) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	var b strings.Builder
	b.WriteString("x,kind,label,pred\n")
	for range rows {
		l := []string{"a", "b"}[rng.IntN(2)]
		p := l
		if rng.Float64() < wrong {
			p = map[string]string{"a": "b", "b": "a"}[l]
		}
		fmt.Fprintf(&b, "%.5f,%s,%s,%s\n", rng.NormFloat64()+shift, []string{"u", "v", "w"}[rng.IntN(3)], l, p)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheck(t *testing.T) {
	t.Parallel()
	min := 0.9
	m := &spec.Model{
		Name: "m",
		Eval: &spec.Eval{Metrics: map[string]spec.Metric{"accuracy": {Direction: "maximize"}, "auc": {Direction: "maximize"}}},
		Environments: map[string]spec.Environment{
			"prod": {Gates: map[string]spec.Gate{"accuracy": {Min: &min}}},
			"dev":  {},
		},
		Drift:   &spec.Drift{ShareThreshold: 0.5},
		Monitor: &spec.Monitor{Prediction: "pred", Label: "label"},
	}
	cfg, err := ConfigFor(m)
	if err != nil {
		t.Fatal(err)
	}
	ref := writeSample(t, "ref.csv", 3000, 0, 0, 1)
	prof, err := drift.BuildProfile(context.Background(), drift.File(ref), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range prof.Columns {
		if c.Name == "pred" || c.Name == "label" {
			t.Fatalf("the profile holds %s, which monitoring scores rather than tests", c.Name)
		}
	}
	cases := []struct {
		name          string
		env           string
		shift, wrong  float64
		alert         bool
		drifted       []string
		reasonContain string
	}{
		{"healthy", "prod", 0, 0.02, false, nil, ""},
		{"drifted", "prod", 3, 0.02, true, []string{"x"}, "data drift"},
		{"accuracy", "prod", 0, 0.3, true, nil, "accuracy 0.7"},
		{"no gate in dev", "dev", 0, 0.3, false, nil, ""},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cur := writeSample(t, "cur.csv", 2000, c.shift, c.wrong, uint64(10+i))
			rep, err := Check(context.Background(), Input{Model: m, Environment: c.env, Profile: prof, Current: []string{cur}, Config: cfg})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Alert != c.alert || fmt.Sprint(rep.DriftedColumns) != fmt.Sprint(append([]string{}, c.drifted...)) {
				t.Fatalf("alert %v drifted %v reasons %v, want %v %v", rep.Alert, rep.DriftedColumns, rep.Reasons, c.alert, c.drifted)
			}
			if c.reasonContain != "" && !strings.Contains(strings.Join(rep.Reasons, "; "), c.reasonContain) {
				t.Errorf("reasons %v, want %q", rep.Reasons, c.reasonContain)
			}
			if _, ok := rep.Metrics["accuracy"]; !ok || rep.MetricRows != 2000 || len(rep.MetricNotes) != 1 {
				t.Errorf("metrics %v rows %d notes %v", rep.Metrics, rep.MetricRows, rep.MetricNotes)
			}
		})
	}
	// A gate on a metric that cannot be computed fails (fail closed).
	m2 := *m
	m2.Environments = map[string]spec.Environment{"prod": {Gates: map[string]spec.Gate{"auc": {Min: &min}}}}
	cur := writeSample(t, "cur.csv", 500, 0, 0, 99)
	rep, err := Check(context.Background(), Input{Model: &m2, Environment: "prod", Profile: prof, Current: []string{cur}, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Alert || len(rep.Gates) != 1 || rep.Gates[0].Passed {
		t.Fatalf("gate on auc: %+v", rep)
	}
	if _, err := Check(context.Background(), Input{Model: m, Environment: "qa", Profile: prof, Current: []string{cur}, Config: cfg}); err == nil {
		t.Error("an unknown environment was accepted")
	}
}
