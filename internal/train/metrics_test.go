package train

import (
	"reflect"
	"testing"
)

func TestParseMetrics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		final   map[string]float64
		history int
		wantErr bool
	}{
		{name: "object", in: `{"accuracy": 0.96, "loss": 0.1, "model": "x"}`, final: map[string]float64{"accuracy": 0.96, "loss": 0.1}},
		{name: "nested", in: `{"per_class": {"setosa": 1, "virginica": 0.9}}`, final: map[string]float64{"per_class.setosa": 1, "per_class.virginica": 0.9}},
		{name: "json lines", in: "{\"step\":1,\"loss\":0.9}\n{\"step\":2,\"loss\":0.5,\"accuracy\":0.8}\n\n{\"step\":3,\"loss\":0.4}\n",
			final: map[string]float64{"step": 3, "loss": 0.4, "accuracy": 0.8}, history: 3},
		{name: "array", in: `[{"step":1,"loss":2},{"step":2,"loss":1}]`, final: map[string]float64{"step": 2, "loss": 1}, history: 2},
		{name: "empty", in: "", wantErr: true},
		{name: "scalar", in: "3", wantErr: true},
		{name: "python NaN", in: `{"loss": NaN}`, wantErr: true},
		{name: "truncated line", in: "{\"step\":1}\n{\"step\":", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := ParseMetrics([]byte(tt.in))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("no error for %q", tt.in)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(m.Final, tt.final) {
				t.Errorf("final %v, want %v", m.Final, tt.final)
			}
			if len(m.History) != tt.history {
				t.Errorf("history %d, want %d", len(m.History), tt.history)
			}
		})
	}
}

func FuzzParseMetrics(f *testing.F) {
	f.Add([]byte(`{"accuracy": 0.96}`))
	f.Add([]byte("{\"step\":1,\"loss\":0.9}\n{\"step\":2}\n"))
	f.Add([]byte(`[{"a":{"b":{"c":1e308}}}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMetrics(b)
		if err != nil {
			return
		}
		if len(m.Final) == 0 && len(m.History) == 0 && m.Final == nil {
			t.Fatal("nil metrics without error")
		}
	})
}
