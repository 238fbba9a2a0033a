package monitor

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mlship/mlship/internal/drift"
	"github.com/mlship/mlship/internal/spec"
)

// TestRedteamHostileSample: a production sample shaped to look healthy
// must never come out as "no alert, nothing drifted" without a word: a
// column the profile holds that the sample lacks (dropped, renamed), or
// that holds no value at all, is an error, an alert or a drifted column.
func TestRedteamHostileSample(t *testing.T) {
	t.Parallel()
	m := &spec.Model{
		Name:         "m",
		Environments: map[string]spec.Environment{"prod": {}},
		Drift:        &spec.Drift{ShareThreshold: 0.5},
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
	good := writeSample(t, "good.csv", 2000, 0, 0, 2)
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	rewrite := func(f func(cols []string) []string) string {
		var b strings.Builder
		for _, l := range lines {
			b.WriteString(strings.Join(f(strings.Split(l, ",")), ","))
			b.WriteString("\n")
		}
		return b.String()
	}
	cases := map[string]string{
		"x dropped":         rewrite(func(c []string) []string { return c[1:] }),
		"x renamed":         strings.Replace(string(raw), "x,kind", "x2,kind", 1),
		"x empty":           strings.Replace(rewrite(func(c []string) []string { c[0] = ""; return c }), ",kind", "x,kind", 1),
		"x NaN":             strings.Replace(rewrite(func(c []string) []string { c[0] = "NaN"; return c }), "NaN,kind", "x,kind", 1),
		"only the header":   lines[0] + "\n",
		"every column gone": "other\n1\n2\n3\n",
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(t.TempDir(), "cur.csv")
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			rep, err := Check(context.Background(), Input{Model: m, Environment: "prod", Profile: prof, Current: []string{p}, Config: cfg})
			if err != nil {
				t.Logf("refused: %v", err)
				return
			}
			if !rep.Alert && !strings.Contains(strings.Join(rep.DriftedColumns, ","), "x") {
				t.Errorf("neither an alert nor x drifted on a sample with %s: drifted %v, reasons %v", name, rep.DriftedColumns, rep.Reasons)
			}
		})
	}
	// The byte-order mark and CRLF of a spreadsheet export are not an
	// attack: the same healthy data reads the same (no alert, no error).
	for name, body := range map[string]string{
		"BOM":  "\ufeff" + string(raw),
		"CRLF": strings.ReplaceAll(string(raw), "\n", "\r\n"),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(t.TempDir(), "cur.csv")
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			rep, err := Check(context.Background(), Input{Model: m, Environment: "prod", Profile: prof, Current: []string{p}, Config: cfg})
			if err != nil {
				t.Fatalf("healthy sample with %s refused: %v", name, err)
			}
			if rep.Alert {
				t.Errorf("healthy sample with %s alerts: %v", name, rep.Reasons)
			}
		})
	}
}

// TestRedteamSampleFilesDisagree: several files (a glob) are one sample
// only if each is read by its own header: a second file whose columns
// are in another order is read by name, and one that lacks a column is
// refused, never read by the first file's positions.
func TestRedteamSampleFilesDisagree(t *testing.T) {
	t.Parallel()
	m := &spec.Model{
		Name:         "m",
		Environments: map[string]spec.Environment{"prod": {}},
		Drift:        &spec.Drift{ShareThreshold: 0.5},
		Monitor:      &spec.Monitor{Prediction: "pred", Label: "label"},
		Eval:         &spec.Eval{Metrics: map[string]spec.Metric{"accuracy": {Direction: "maximize"}}},
	}
	cfg, err := ConfigFor(m)
	if err != nil {
		t.Fatal(err)
	}
	prof, err := drift.BuildProfile(context.Background(), drift.File(writeSample(t, "ref.csv", 3000, 0, 0, 1)), cfg)
	if err != nil {
		t.Fatal(err)
	}
	a := writeSample(t, "a.csv", 2000, 0, 0, 2)
	// b: the same healthy data, columns reversed (pred,label,kind,x).
	raw, err := os.ReadFile(writeSample(t, "b.csv", 2000, 0, 0, 3))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		c := strings.Split(l, ",")
		b.WriteString(c[3] + "," + c[2] + "," + c[1] + "," + c[0] + "\n")
	}
	pb := filepath.Join(t.TempDir(), "b.csv")
	if err := os.WriteFile(pb, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := Check(context.Background(), Input{Model: m, Environment: "prod", Profile: prof, Current: []string{a, pb}, Config: cfg})
	if err != nil {
		t.Fatalf("two healthy files, columns in another order: %v", err)
	}
	if rep.Alert || len(rep.DriftedColumns) > 0 || rep.Metrics["accuracy"] != 1 || rep.MetricRows != 4000 {
		t.Errorf("two healthy files read as alert %v drifted %v accuracy %v rows %d (a file read by another's header?)", rep.Alert, rep.DriftedColumns, rep.Metrics["accuracy"], rep.MetricRows)
	}
	pc := filepath.Join(t.TempDir(), "c.csv")
	if err := os.WriteFile(pc, []byte("kind,label,pred\nu,a,a\nv,b,b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if rep, err := Check(context.Background(), Input{Model: m, Environment: "prod", Profile: prof, Current: []string{a, pc}, Config: cfg}); err == nil {
		t.Errorf("a second file without x accepted: alert %v drifted %v", rep.Alert, rep.DriftedColumns)
	}
}

// TestRedteamConfusionBounded: the confusion table is bounded in cells,
// not only in classes: 2,000 labels × 2,000 predictions (4,000 classes,
// under the class bound) in distinct pairs would be 4 million cells, and
// 10,000 × 10,000 a hundred million (gigabytes from a sample of a few
// hundred megabytes). Past the bound the classification metrics are not
// computed, and say so.
func TestRedteamConfusionBounded(t *testing.T) {
	t.Parallel()
	m := NewMetrics()
	for i := range 2000 {
		for j := range 2000 {
			m.Add("p"+strconv.Itoa(j), "l"+strconv.Itoa(i))
		}
	}
	if n := len(m.confusion); n > maxConfusionCells {
		t.Fatalf("%d confusion cells held, bound %d", n, maxConfusionCells)
	}
	if _, err := m.Compute("accuracy"); err == nil {
		t.Error("accuracy computed from a truncated confusion table")
	}
	if m.Rows() != 2000*2000 {
		t.Errorf("rows %d", m.Rows())
	}
}
