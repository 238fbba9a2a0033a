package eval

import (
	"math"
	"strings"
	"testing"
)

func TestParseMetrics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    Metrics
		wantErr string
	}{
		{name: "object", in: `{"accuracy": 0.93, "log_loss": 0.2}`, want: Metrics{"accuracy": 0.93, "log_loss": 0.2}},
		{name: "pretty object", in: "{\n  \"accuracy\": 1\n}\n", want: Metrics{"accuracy": 1}},
		{name: "json lines last wins", in: "{\"loss\": 0.9, \"epoch\": 1}\n{\"loss\": 0.5, \"epoch\": 2}\n{\"acc\": 0.7}\n", want: Metrics{"loss": 0.5, "epoch": 2, "acc": 0.7}},
		{name: "nested and bool, strings ignored", in: `{"model":"x","eval":{"f1":0.5,"ok":true},"n":null}`, want: Metrics{"eval.f1": 0.5, "eval.ok": 1}},
		{name: "empty", in: "", wantErr: "empty"},
		{name: "blank lines only", in: "\n\n", wantErr: "empty"},
		{name: "array", in: `[1,2]`, wantErr: "array"},
		{name: "no numbers", in: `{"a":"b"}`, wantErr: "no numeric metrics"},
		{name: "overflow", in: `{"a": 1e999}`, wantErr: "not a finite number"},
		{name: "broken second line", in: "{\"a\":1}\n{\"b\":", wantErr: "object 2"},
		{name: "scalar", in: `3`, wantErr: "number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseMetrics(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v", k, got[k], v)
				}
			}
		})
	}
}

func FuzzParseMetrics(f *testing.F) {
	for _, s := range []string{`{"a":1}`, "{\"a\":1}\n{\"a\":2}", `{"x":{"y":{"z":true}}}`, `[`, `{"a":1e400}`, "", `{"":1}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMetrics(strings.NewReader(s))
		if err != nil {
			if m != nil {
				t.Fatalf("metrics %v returned with error %v", m, err)
			}
			return
		}
		if len(m) == 0 {
			t.Fatal("no error and no metrics")
		}
		for k, v := range m {
			if k == "" || math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("bad metric %q = %v", k, v)
			}
		}
	})
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
