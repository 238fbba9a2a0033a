package metrics

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

// TestParse holds the cases of the two parsers this one replaced (eval's
// and train's), and the rules where they disagreed.
func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    map[string]float64
		records int
		wantErr string
	}{
		// eval's cases
		{name: "object", in: `{"accuracy": 0.93, "log_loss": 0.2}`, want: map[string]float64{"accuracy": 0.93, "log_loss": 0.2}, records: 1},
		{name: "pretty object", in: "{\n  \"accuracy\": 1\n}\n", want: map[string]float64{"accuracy": 1}, records: 1},
		{name: "json lines last wins", in: "{\"loss\": 0.9, \"epoch\": 1}\n{\"loss\": 0.5, \"epoch\": 2}\n{\"acc\": 0.7}\n", want: map[string]float64{"loss": 0.5, "epoch": 2, "acc": 0.7}, records: 3},
		{name: "nested and bool, strings ignored", in: `{"model":"x","eval":{"f1":0.5,"ok":true},"n":null}`, want: map[string]float64{"eval.f1": 0.5, "eval.ok": 1}, records: 1},
		{name: "empty", in: "", wantErr: "empty"},
		{name: "blank lines only", in: "\n\n", wantErr: "empty"},
		{name: "array of numbers", in: `[1,2]`, wantErr: "array"},
		{name: "no numbers", in: `{"a":"b"}`, wantErr: "no numeric metrics"},
		{name: "overflow", in: `{"a": 1e999}`, wantErr: "not a finite number"},
		{name: "broken second line", in: "{\"a\":1}\n{\"b\":", wantErr: "object 2"},
		{name: "scalar", in: `3`, wantErr: "number"},
		// train's cases
		{name: "train object", in: `{"accuracy": 0.96, "loss": 0.1, "model": "x"}`, want: map[string]float64{"accuracy": 0.96, "loss": 0.1}, records: 1},
		{name: "train nested", in: `{"per_class": {"setosa": 1, "virginica": 0.9}}`, want: map[string]float64{"per_class.setosa": 1, "per_class.virginica": 0.9}, records: 1},
		{name: "train json lines", in: "{\"step\":1,\"loss\":0.9}\n{\"step\":2,\"loss\":0.5,\"accuracy\":0.8}\n\n{\"step\":3,\"loss\":0.4}\n",
			want: map[string]float64{"step": 3, "loss": 0.4, "accuracy": 0.8}, records: 3},
		{name: "array of records", in: `[{"step":1,"loss":2},{"step":2,"loss":1}]`, want: map[string]float64{"step": 2, "loss": 1}, records: 2},
		{name: "python NaN", in: `{"loss": NaN}`, wantErr: "invalid character"},
		{name: "python Infinity", in: `{"loss": Infinity}`, wantErr: "invalid character"},
		{name: "truncated line", in: "{\"step\":1}\n{\"step\":", wantErr: "object 2"},
		// where the two disagreed, and what neither checked
		{name: "overflow in a later record is not dropped", in: "{\"loss\": 0.5}\n{\"loss\": 1e999}", wantErr: "not a finite number"},
		{name: "too deep", in: `{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":{"j":1}}}}}}}}}}`, wantErr: "nested more than 8"},
		{name: "number as string is not a metric", in: `{"accuracy": "0.93", "a": 1}`, want: map[string]float64{"a": 1}, records: 1},
		{name: "only a number as string", in: `{"accuracy": "0.93"}`, wantErr: "no numeric metrics"},
		{name: "string clears an older value", in: "{\"loss\": 0.9, \"a\": 1}\n{\"loss\": \"NaN\"}", want: map[string]float64{"a": 1}, records: 2},
		{name: "version string is not a metric", in: `{"version": "1.0.0", "a": 1}`, want: map[string]float64{"a": 1}, records: 1},
		{name: "null clears an older value", in: "{\"auc\": 0.9, \"a\": 1}\n{\"auc\": null}", want: map[string]float64{"a": 1}, records: 2},
		{name: "array value clears an older value", in: "{\"cm\": 1, \"a\": 1}\n{\"cm\": [[1,0],[0,1]]}", want: map[string]float64{"a": 1}, records: 2},
		{name: "empty name", in: `{"": 1}`, wantErr: "empty name"},
		{name: "empty nested name", in: `{"a": {"": 1}}`, wantErr: "empty name"},
		{name: "array with a non-object", in: `[{"a":1}, 2]`, wantErr: "element 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Final, tt.want) {
				t.Errorf("final %v, want %v", got.Final, tt.want)
			}
			if len(got.Records) != tt.records {
				t.Errorf("%d records, want %d", len(got.Records), tt.records)
			}
		})
	}
}

// TestNotMetrics: what a field held when it is not a metric, for the
// message of a gate on it; a later number takes the name back.
func TestNotMetrics(t *testing.T) {
	t.Parallel()
	f, err := Parse(strings.NewReader("{\"acc\": \"0.93\", \"auc\": 0.5, \"n\": 1, \"v\": \"1.0.0\"}\n{\"auc\": null, \"cm\": [1], \"n\": 2}"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"acc": `the string "0.93", not a JSON number`, "auc": "a JSON null", "cm": "a JSON array", "v": "a JSON string"}
	if !reflect.DeepEqual(f.NotMetrics, want) {
		t.Errorf("not metrics %v, want %v", f.NotMetrics, want)
	}
	f, err = Parse(strings.NewReader("{\"acc\": null}\n{\"acc\": 0.9}"))
	if err != nil || len(f.NotMetrics) != 0 || f.Final["acc"] != 0.9 {
		t.Errorf("a later number: %+v, %v", f, err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"a":1}`, "{\"a\":1}\n{\"a\":2}", `{"x":{"y":{"z":true}}}`, `[`, `{"a":1e400}`, "", `{"":1}`,
		`{"accuracy": 0.96}`, "{\"step\":1,\"loss\":0.9}\n{\"step\":2}\n", `[{"a":{"b":{"c":1e308}}}]`, `{"a":"1"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Parse(strings.NewReader(s))
		if err != nil {
			if m != nil {
				t.Fatalf("metrics %v returned with error %v", m, err)
			}
			return
		}
		if len(m.Final) == 0 || len(m.Records) == 0 {
			t.Fatal("no error and no metrics")
		}
		for _, rec := range append([]map[string]float64{m.Final}, m.Records...) {
			for k, v := range rec {
				if k == "" || math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("bad metric %q = %v", k, v)
				}
			}
		}
	})
}
