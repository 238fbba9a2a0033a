package alert

import (
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/alert -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the rendering (go test ./internal/alert -run %s -update after checking):\n%s", path, t.Name(), got)
	}
}

func TestRenderGolden(t *testing.T) {
	t.Parallel()
	k := Key{Model: "iris", Environment: "prod"}
	obs := func(i int, alert bool, cols ...string) Observation {
		return Observation{
			Time: time.Date(2026, 12, 1, 6+i, 0, 0, 0, time.UTC), SampleSize: 12345, DriftedColumns: cols, DatasetDriftShare: float64(len(cols)) / 4,
			Metrics: map[string]float64{"accuracy": 0.9 - float64(i)/100, "f1": math.NaN()}, Alert: alert,
			ReportURL: "https://github.com/acme/iris/actions/runs/42", Digest: "sha256:" + strings.Repeat("ab", 32),
			Reasons: []string{"dataset drift share 0.5 > 0.3", "accuracy 0.87 < 0.9 @team"},
		}
	}
	tests := []struct {
		name string
		runs []Observation
	}{
		{"alerting.golden", []Observation{obs(0, true, "petal_length", "sepal|width"), obs(1, true, "petal_length", "`x`", "<img src=x>", "@everyone")}},
		{"resolved.golden", []Observation{obs(0, true, "petal_length"), obs(1, false)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := defaults()
			o.runURL = "https://github.com/acme/iris/actions/runs/42"
			st := &state{V: 1, Model: k.Model, Environment: k.Environment, Episode: episodeActive, Since: tt.runs[0].Time}
			for _, r := range tt.runs {
				st.Rows = append(st.Rows, newRow(r, r.Time))
				st.Runs++
			}
			last := tt.runs[len(tt.runs)-1]
			if !last.Alert {
				st.Episode, st.Resolved = episodeResolved, last.Time
			}
			body := render(k, st, last, o)
			golden(t, tt.name, body)
			back, err := decodeState(body, k)
			if err != nil || len(back.Rows) != len(tt.runs) || back.Episode != st.Episode {
				t.Fatalf("state does not round-trip: %v %+v", err, back)
			}
		})
	}
}

func TestMarkerEscapesNames(t *testing.T) {
	t.Parallel()
	for _, k := range []Key{{"a -->", "b"}, {"a", "b\u2028"}, {"x environment=y", "z"}, {"<script>", "--!>"}} {
		m := Marker(k)
		inner := strings.TrimSuffix(strings.TrimPrefix(m, "<!-- "), " -->")
		if strings.Contains(inner, ">") || strings.Contains(inner, "--") || strings.Count(m, "environment=") != 1 {
			t.Errorf("Marker(%q) = %q: a name leaks into the comment syntax", k, m)
		}
	}
}

func TestLinkOnlyHTTP(t *testing.T) {
	t.Parallel()
	tests := []struct{ raw, want string }{
		{"https://github.com/acme/iris/actions/runs/1", "[r](https://github.com/acme/iris/actions/runs/1)"},
		{"javascript:alert(1)", "`javascript:alert(1)`"},
		{"https://x.test/a) [click](https://evil.test", "`https://x.test/a) [click](https://evil.test`"},
		{"report.html", "`report.html`"},
		{"https://x.test/`a`", "`https://x.test/'a'`"},
	}
	for _, tt := range tests {
		if got := link("r", tt.raw); got != tt.want {
			t.Errorf("link(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

func FuzzDecodeState(f *testing.F) {
	k := Key{Model: "iris", Environment: "prod"}
	st := &state{V: 1, Model: "iris", Environment: "prod", Episode: episodeActive, Rows: []row{{SampleSize: 1, Drifted: []string{"a"}, DriftedCount: 1}}}
	f.Add(Marker(k) + "\n" + st.encode() + "\nbody")
	f.Add(Marker(k) + "\n<!-- mlship:alert-state e30= -->\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, body string) {
		s, err := decodeState(body, k)
		if err != nil {
			return
		}
		if len(s.Rows) > MaxHistory || s.Model != k.Model || s.Runs < len(s.Rows) {
			t.Fatalf("unbounded or foreign state: %d rows, model %q", len(s.Rows), s.Model)
		}
		for _, r := range s.Rows {
			if len(r.Drifted) > maxColumnsPerRow || len(r.Metrics) > maxMetricsPerRow {
				t.Fatalf("row not bounded: %+v", r)
			}
		}
		_ = render(k, s, Observation{}, defaults())
	})
}
