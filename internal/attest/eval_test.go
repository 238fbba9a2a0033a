package attest

import (
	"strings"
	"testing"
)

func floatp(f float64) *float64 { return &f }

func TestParseEvalPredicate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"ok", `{"metrics":{"accuracy":0.9},"passed":true}`, ""},
		{"not json", `[`, "not a JSON object"},
		{"no passed", `{"metrics":{"accuracy":0.9}}`, `no "passed"`},
		{"no metrics", `{"passed":true}`, `no "metrics"`},
		{"inconsistent", `{"metrics":{"a":1},"passed":true,"gates":[{"metric":"a","passed":false}]}`, "inconsistent"},
		{"bad dataset digest", `{"metrics":{"a":1},"passed":true,"datasets":[{"name":"d","digest":"abc"}]}`, "want algorithm:hex"},
		{"bad baseline", `{"metrics":{"a":1},"passed":true,"baseline":{"digest":"md5:x"}}`, "baseline digest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseEvalPredicate([]byte(tt.in))
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestParseEvalResultSchema(t *testing.T) {
	t.Parallel()
	if _, err := ParseEvalResult([]byte(`{"schemaVersion":"other/v9","metrics":{"a":1}}`)); err == nil || !strings.Contains(err.Error(), "schemaVersion") {
		t.Fatalf("err = %v, want a schemaVersion refusal", err)
	}
	r, err := ParseEvalResult([]byte(`{"schemaVersion":"` + EvalSchemaVersion + `"}`))
	if err != nil || r.Metrics == nil {
		t.Fatalf("r = %+v, err = %v", r, err)
	}
}

func TestCheckGates(t *testing.T) {
	t.Parallel()
	p := &EvalResult{Metrics: Metrics{"accuracy": 0.92, "log_loss": 0.4}, Passed: true}
	tests := []struct {
		name   string
		p      *EvalResult
		bounds map[string]Bounds
		want   string
	}{
		{"passes", p, map[string]Bounds{"accuracy": {Min: floatp(0.9)}, "log_loss": {Max: floatp(0.5)}}, ""},
		{"min", p, map[string]Bounds{"accuracy": {Min: floatp(0.95)}}, "accuracy 0.92 < 0.95"},
		{"max", p, map[string]Bounds{"log_loss": {Max: floatp(0.3)}}, "log_loss 0.4 > 0.3"},
		{"missing metric", p, map[string]Bounds{"f1": {Min: floatp(0.1)}}, "metric f1 is missing"},
		{"recorded failure", &EvalResult{Metrics: Metrics{"a": 1}, Gates: []GateCheck{{Metric: "a", Value: 1, Op: "<=", Bound: 0.5}}}, nil, "a 1 > 0.5"},
		{"recorded failure without gates", &EvalResult{Metrics: Metrics{"a": 1}}, nil, "passed=false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.p.CheckGates(tt.bounds)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || err.Error() != tt.want && !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func FuzzParseEvalPredicate(f *testing.F) {
	f.Add([]byte(`{"metrics":{"accuracy":0.9},"passed":true}`))
	f.Add([]byte(`{"metrics":{"a":1},"passed":false,"gates":[{"metric":"a","value":1,"op":">=","bound":2,"passed":false}]}`))
	f.Add([]byte(`{"passed":true,"metrics":{"a":1e309}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseEvalPredicate(b)
		if err != nil {
			return
		}
		if len(p.Metrics) == 0 {
			t.Fatal("accepted a result without metrics")
		}
		_ = p.CheckGates(map[string]Bounds{"a": {Min: floatp(0)}})
	})
}
