package eval

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParseMetrics checks eval reads metrics through the one parser
// (internal/metrics holds the format's cases).
func TestParseMetrics(t *testing.T) {
	t.Parallel()
	m, err := ParseMetrics(strings.NewReader("{\"loss\": 0.9}\n{\"loss\": 0.5, \"eval\": {\"ok\": true}}"))
	if err != nil || len(m) != 2 || m["loss"] != 0.5 || m["eval.ok"] != 1 {
		t.Fatalf("m = %v, err = %v", m, err)
	}
	if _, err := ParseMetrics(strings.NewReader(`{"loss": 1e999}`)); err == nil || !strings.Contains(err.Error(), "loss") {
		t.Fatalf("an overflowing number: err = %v, want a refusal naming the metric", err)
	}
}

// TestGateOnNumberWrittenAsString: a gated metric the eval command wrote
// as a string fails its gate, saying what the file held, and a later
// string never leaves an older number standing.
func TestGateOnNumberWrittenAsString(t *testing.T) {
	t.Parallel()
	m := testModel("")
	m.Dir = t.TempDir()
	path := filepath.Join(m.Dir, "eval.json")
	if err := os.WriteFile(path, []byte("{\"accuracy\": 0.99, \"log_loss\": 0.1}\n{\"accuracy\": \"0.5\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Run(context.Background(), m, WithMetricsFile(path), WithoutDatasetHashing())
	if err != nil {
		t.Fatal(err)
	}
	if r.Passed {
		t.Fatalf("passed on an older accuracy: %+v", r.Metrics)
	}
	if got := strings.Join(r.Failures(), "; "); !strings.Contains(got, `accuracy: missing from the metrics file, which holds the string "0.5"`) {
		t.Fatalf("failures %q, want the string named", got)
	}
}

func TestParseExamples(t *testing.T) {
	t.Parallel()
	ex, err := ParseExamples(strings.NewReader("{\"id\":\"a\",\"acc\":1,\"label\":\"x\"}\n\n{\"id\":2,\"acc\":0,\"loss\":0.5}\n{\"id\":\"c\",\"acc\":true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ex.IDs, ","); got != "a,2,c" {
		t.Fatalf("ids = %s", got)
	}
	if acc := ex.Values["acc"]; acc[0] != 1 || acc[1] != 0 || acc[2] != 1 {
		t.Fatalf("acc = %v", acc)
	}
	if loss := ex.Values["loss"]; !math.IsNaN(loss[0]) || loss[1] != 0.5 || !math.IsNaN(loss[2]) {
		t.Fatalf("loss = %v", loss)
	}
	if _, ok := ex.Values["label"]; ok {
		t.Fatal("string field kept as a metric")
	}

	bad := []struct{ in, want string }{
		{"{\"acc\":1}", "line 1: no \"id\""},
		{"{\"id\":1}\n{\"id\":1}", "line 2: duplicate id"},
		{"{\"id\":1}\nnot json", "line 2"},
		{"{\"id\":[1]}", "want a string or a number"},
		{"", "no examples"},
		{"{\"id\":1,\"acc\":1e999}", "field \"acc\""},
	}
	for _, b := range bad {
		if _, err := ParseExamples(strings.NewReader(b.in)); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("ParseExamples(%q) err = %v, want %q", b.in, err, b.want)
		}
	}
}

func FuzzParseExamples(f *testing.F) {
	f.Add("{\"id\":1,\"a\":1}\n{\"id\":\"2\",\"a\":0.5}")
	f.Add("{\"id\":1}\n{\"id\":1}")
	f.Fuzz(func(t *testing.T, s string) {
		ex, err := ParseExamples(strings.NewReader(s))
		if err != nil {
			return
		}
		for k, col := range ex.Values {
			if len(col) != len(ex.IDs) {
				t.Fatalf("column %s has %d values for %d ids", k, len(col), len(ex.IDs))
			}
		}
	})
}
