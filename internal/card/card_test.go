package card

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mlship/mlship/internal/attest"
	"github.com/mlship/mlship/internal/drift"
	"github.com/mlship/mlship/internal/spec"
	"github.com/mlship/mlship/internal/train/lineage"
)

func irisSpec() *spec.Model {
	return &spec.Model{
		Name: "iris", Version: "1.0.0", License: "Apache-2.0", Description: "Iris species classifier",
		Owners:   []string{"ml-team"},
		Registry: spec.Registry{Repository: "ghcr.io/acme/iris"},
		Datasets: map[string]spec.Dataset{
			"iris-train": {URI: "data/train.csv", Role: "train"},
			"iris-eval":  {URI: "data/eval.csv", Role: "eval"},
			"iris-ref":   {URI: "data/train.csv", Role: "reference"},
		},
		Train: &spec.Train{Hyperparameters: map[string]any{"learning_rate": 0.1, "epochs": 200}, Seed: 7},
		Eval:  &spec.Eval{Metrics: map[string]spec.Metric{"accuracy": {Direction: "maximize"}, "log_loss": {Direction: "minimize"}}},
		Package: spec.Package{Architecture: "softmax-regression", Format: "json",
			Framework: &spec.Framework{Name: "mlship-go-trainer"}},
		Digest: "sha256:" + strings.Repeat("5", 64),
	}
}

func irisEval() *attest.EvalResult {
	return &attest.EvalResult{
		SchemaVersion: attest.EvalSchemaVersion, Model: attest.ModelRef{Name: "iris", Version: "1.0.0"}, Passed: true,
		Metrics:     attest.Metrics{"accuracy": 0.9666666666666667, "log_loss": 0.1234, "f1_macro": 0.96},
		Datasets:    []attest.Dataset{{Name: "iris-eval", URI: "data/eval.csv", Role: "eval", Digest: "sha256:" + strings.Repeat("e", 64)}},
		EvaluatedAt: "2026-12-02T06:00:00Z",
	}
}

func irisRun() *lineage.Record {
	return &lineage.Record{
		SchemaVersion: lineage.SchemaVersion, InputDigest: "sha256:" + strings.Repeat("1", 64), Status: "succeeded",
		Inputs: lineage.Inputs{Datasets: map[string]string{"iris-train": "sha256:" + strings.Repeat("d", 64)}, Code: "sha256:" + strings.Repeat("c", 64),
			Hyperparameters: map[string]any{"learning_rate": 0.3, "epochs": float64(200), "l2": 0.001}, Seed: 7},
		Git:    &lineage.Git{Commit: strings.Repeat("a", 40)},
		Runner: lineage.Runner{OS: "linux", Arch: "amd64", Name: "gpu-1", Labels: []string{"self-hosted", "gpu"}},
		End:    time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC),
	}
}

// TestGenerateIsHuggingFaceFrontMatter: the card is YAML front matter
// (parsed by a YAML library, not by Parse alone) plus Markdown, with the
// Hugging Face keys, and model-index carries every eval metric with its
// value.
func TestGenerateIsHuggingFaceFrontMatter(t *testing.T) {
	t.Parallel()
	ev := irisEval()
	b, err := Generate(Input{Spec: irisSpec(), Eval: ev, Run: irisRun(), Drift: &drift.Result{Columns: []drift.ColumnResult{{Name: "petal_width", Test: "ks", Drift: true}}, DriftedColumns: 1, DriftShare: 1, ShareThreshold: 0.5, DatasetDrift: true}})
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.HasPrefix(s, "---\n") {
		t.Fatalf("card does not start with front matter:\n%s", s)
	}
	front, body, ok := strings.Cut(s[4:], "\n---\n")
	if !ok {
		t.Fatalf("front matter not closed:\n%s", s)
	}
	var raw map[string]any
	if err := yaml.Unmarshal([]byte(front), &raw); err != nil {
		t.Fatalf("front matter is not YAML: %v\n%s", err, front)
	}
	for _, k := range []string{"license", "datasets", "metrics", "model-index", "mlship"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("front matter has no %q:\n%s", k, front)
		}
	}
	if raw["license"] != "apache-2.0" {
		t.Errorf("license = %v, want the Hub's lower-case id apache-2.0", raw["license"])
	}
	mi := raw["model-index"].([]any)[0].(map[string]any)
	res := mi["results"].([]any)[0].(map[string]any)
	got := map[string]float64{}
	for _, m := range res["metrics"].([]any) {
		mm := m.(map[string]any)
		got[mm["type"].(string)] = mm["value"].(float64)
	}
	for k, v := range ev.Metrics {
		if got[k] != v {
			t.Errorf("model-index %s = %v, want %v (the eval result's)", k, got[k], v)
		}
	}
	if len(got) != len(ev.Metrics) {
		t.Errorf("model-index metrics %v, want exactly %v", got, ev.Metrics)
	}
	if ds := res["dataset"].(map[string]any); ds["name"] != "iris-eval" || ds["revision"] != "sha256:"+strings.Repeat("e", 64) {
		t.Errorf("model-index dataset %v", ds)
	}
	for _, want := range []string{GeneratedMarker, "# iris 1.0.0", "## Evaluation", "| accuracy | 0.966667 |", "## Data drift", "petal\\_width", "## Lineage", "learning\\_rate", "`0.3`"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	c, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if c.Meta.MLShip == nil || c.Meta.MLShip.InputDigest != irisRun().InputDigest || c.Meta.MLShip.Seed == nil || *c.Meta.MLShip.Seed != 7 || c.Meta.MLShip.Hyperparameters["learning_rate"] != 0.3 {
		t.Errorf("lineage read back %+v", c.Meta.MLShip)
	}
	if m := c.EvalMetrics(); len(m) != 3 || m["accuracy"] != ev.Metrics["accuracy"] {
		t.Errorf("EvalMetrics = %v", m)
	}
	again, _ := Generate(Input{Spec: irisSpec(), Eval: ev, Run: irisRun(), Drift: &drift.Result{Columns: []drift.ColumnResult{{Name: "petal_width", Test: "ks", Drift: true}}, DriftedColumns: 1, DriftShare: 1, ShareThreshold: 0.5, DatasetDrift: true}})
	if !bytes.Equal(b, again) {
		t.Error("the same input gave a different card: the digest of an unchanged model would move")
	}
}

// TestGenerateHostileSpec: names and descriptions from a pull request can
// neither end the front matter, inject YAML keys, nor inject HTML or
// links into the Markdown.
func TestGenerateHostileSpec(t *testing.T) {
	t.Parallel()
	m := irisSpec()
	m.Description = "nice\n---\nlicense: mit\n<img src=x onerror=alert(1)> [click](https://evil)"
	m.Name = "iris\n---\nevil: true"
	m.Owners = []string{"@octocat"}
	b, err := Generate(Input{Spec: m, Eval: irisEval(), Notes: []string{"<script>x</script>"}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if c.Meta.License != "apache-2.0" {
		t.Errorf("license = %q: the description injected front matter", c.Meta.License)
	}
	var raw map[string]any
	front, _, _ := strings.Cut(string(b)[4:], "\n---\n")
	if err := yaml.Unmarshal([]byte(front), &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw["evil"]; ok {
		t.Error("the model name injected a front matter key")
	}
	// What Escape neutralised (\< and \]) cannot open a tag or a link.
	plain := strings.NewReplacer(`\<`, "", `\]`, "").Replace(c.Body)
	for _, bad := range []string{"<img", "<script", "](https://evil)", "@octocat"} {
		if strings.Contains(plain, bad) {
			t.Errorf("body carries %q unescaped:\n%s", bad, c.Body)
		}
	}
}

// TestGenerateSaysWhatIsMissing: without an eval result or a run, the
// card says so instead of inventing values.
func TestGenerateSaysWhatIsMissing(t *testing.T) {
	t.Parallel()
	b, err := Generate(Input{Spec: irisSpec(), Notes: []string{"Evaluation: no eval-result.json."}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Meta.ModelIndex) != 0 {
		t.Errorf("model-index without an eval result: %+v", c.Meta.ModelIndex)
	}
	for _, want := range []string{"No evaluation result was available", "## Not on this card", "No training run matches the packaged files"} {
		if !strings.Contains(c.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, c.Body)
		}
	}
	if _, err := Generate(Input{}); err == nil {
		t.Error("a card without a spec was generated")
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		wantErr  string
		license  string
		body     string
	}{
		{name: "front matter and body", in: "---\nlicense: mit\n---\n# x\n", license: "mit", body: "# x\n"},
		{name: "CRLF", in: "---\r\nlicense: mit\r\n---\r\n# x\r\n", license: "mit", body: "# x\n"},
		{name: "empty front matter", in: "---\n---\nbody", body: "body"},
		{name: "closing at EOF", in: "---\nlicense: mit\n---", license: "mit"},
		{name: "no front matter", in: "# card\n", wantErr: "no YAML front matter"},
		{name: "unclosed", in: "---\nlicense: mit\n", wantErr: "not closed"},
		{name: "not YAML", in: "---\nlicense: [\n---\n", wantErr: "front matter"},
		{name: "wrong type", in: "---\nmodel-index: 3\n---\n", wantErr: "front matter"},
		{name: "too large", in: "---\n---\n" + strings.Repeat("x", MaxSize), wantErr: "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Parse([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Meta.License != tt.license || c.Body != tt.body {
				t.Errorf("got license %q body %q", c.Meta.License, c.Body)
			}
		})
	}
}

// FuzzParse: cards come from registries; Parse never panics and what it
// accepts round-trips through Render.
func FuzzParse(f *testing.F) {
	b, _ := Generate(Input{Spec: irisSpec(), Eval: irisEval(), Run: irisRun()})
	f.Add(b)
	f.Add([]byte("---\nmodel-index:\n- name: x\n  results: []\n---\n"))
	f.Add([]byte("---\n&a [*a]\n---\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := Parse(in)
		if err != nil {
			return
		}
		out, err := Render(c.Meta, c.Body)
		if err != nil {
			return
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("re-rendered card does not parse: %v\n%s", err, out)
		}
	})
}

// TestGenerateIsReproducible: a re-run of the same commit evaluates again
// (a new evaluatedAt) and trains again or reuses the run; the card is a
// layer, so it must be the same bytes or the re-run pushes a new digest.
func TestGenerateIsReproducible(t *testing.T) {
	t.Parallel()
	first, later := irisEval(), irisEval()
	later.EvaluatedAt = "2026-12-03T09:30:00Z"
	a, err := Generate(Input{Spec: irisSpec(), Eval: first, Run: irisRun()})
	if err != nil {
		t.Fatal(err)
	}
	again := irisRun()
	again.End, again.Duration, again.Runner.Name = again.End.Add(time.Hour), 42, "gpu-2"
	b, err := Generate(Input{Spec: irisSpec(), Eval: later, Run: again})
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Fatalf("the card changed with the evaluation time alone:\n%s\n---- vs ----\n%s", a, b)
	}
}
