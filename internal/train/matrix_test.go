package train_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/mlship/mlship/internal/spec"
	"github.com/mlship/mlship/internal/train"
)

func TestBuildMatrix(t *testing.T) {
	t.Parallel()
	m := &spec.Model{Train: &spec.Train{
		Runner: spec.Runner{Labels: []string{"self-hosted", "gpu"}},
		GPU:    spec.GPU{Count: 2},
		Sweep: &spec.Sweep{Parameters: map[string][]any{
			"lr":  {0.1, 0.01},
			"opt": {"adam", "0.5", true},
		}, MaxRuns: 256},
	}}
	mx, err := train.BuildMatrix(m)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range mx.Include {
		names = append(names, e.Name)
		if e.GPUs != 2 || strings.Join(e.RunsOn, ",") != "self-hosted,gpu" {
			t.Errorf("entry %+v", e)
		}
	}
	want := `lr=0.1,opt=adam lr=0.1,opt="0.5" lr=0.1,opt=true lr=0.01,opt=adam lr=0.01,opt="0.5" lr=0.01,opt=true`
	if got := strings.Join(names, " "); got != want {
		t.Errorf("names\n%s\nwant\n%s", got, want)
	}
	// The quoted string survives the round trip through --param.
	_, v, err := train.ParseParam(`opt="0.5"`)
	if err != nil || v != "0.5" {
		t.Errorf("ParseParam: %v %v", v, err)
	}
	b, _ := json.Marshal(mx)
	if !strings.HasPrefix(string(b), `{"include":[{"id":"run-0"`) {
		t.Errorf("JSON %s", b)
	}

	m.Train.Sweep.MaxRuns = 5
	if _, err := train.BuildMatrix(m); err == nil || !strings.Contains(err.Error(), "expands to 6 runs, more than 5") {
		t.Errorf("maxRuns: %v", err)
	}
	m.Train.Sweep = nil
	mx, err = train.BuildMatrix(m)
	if err != nil || len(mx.Include) != 1 || mx.Include[0].Params != "" {
		t.Errorf("no sweep: %+v %v", mx, err)
	}
}

func TestParseParam(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want any
		bad  bool
	}{
		{in: "lr=0.3", want: 0.3},
		{in: "epochs=200", want: int64(200)},
		{in: "flag=false", want: false},
		{in: "opt=adam", want: "adam"},
		{in: `s="42"`, want: "42"},
		{in: "expr=a=b", want: "a=b"},
		{in: "nan=NaN", want: "NaN"},
		{in: "x=", want: ""},
		{in: "=1", bad: true},
		{in: "no-dash=1", bad: true},
		{in: "noequals", bad: true},
		{in: `q="unterminated`, bad: true},
	}
	for _, tt := range tests {
		k, v, err := train.ParseParam(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("ParseParam(%q) = %s %v, want an error", tt.in, k, v)
			}
			continue
		}
		if err != nil || v != tt.want {
			t.Errorf("ParseParam(%q) = %#v %v, want %#v", tt.in, v, err, tt.want)
		}
	}
}

func FuzzParseParam(f *testing.F) {
	f.Add("lr=0.3")
	f.Add(`s="x"`)
	f.Fuzz(func(t *testing.T, s string) {
		k, v, err := train.ParseParam(s)
		if err != nil {
			return
		}
		// What FormatParam writes, ParseParam reads back as the same value.
		k2, v2, err := train.ParseParam(train.FormatParam(k, v))
		if err != nil || k2 != k {
			t.Fatalf("round trip of %q: %q %v", s, k2, err)
		}
		a, _ := json.Marshal(v)
		b, _ := json.Marshal(v2)
		if string(a) != string(b) {
			t.Fatalf("round trip of %q: %s != %s", s, a, b)
		}
	})
}
