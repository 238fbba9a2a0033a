package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlship/mlship/internal/iostreams"
)

const (
	driftRef = "../drift/testdata/reference.csv"
	driftCur = "../drift/testdata/current.csv"
)

func TestDriftJSONContract(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "res", "drift.json")
	summary := filepath.Join(dir, "summary.md")
	outputs := filepath.Join(dir, "outputs")
	env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary, "GITHUB_OUTPUT": outputs}
	code, stdout, stderr := mlship(t, env, "drift", "--reference", driftRef, "--current", driftCur, "--output", "json", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// The contract: columns[{name,type,test,statistic,pValue?,threshold,drift}], driftShare, datasetDrift.
	var doc map[string]any
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if doc["driftShare"] != 0.5 || doc["datasetDrift"] != true {
		t.Errorf("driftShare %v datasetDrift %v, want 0.5 true", doc["driftShare"], doc["datasetDrift"])
	}
	cols := doc["columns"].([]any)
	if len(cols) != 4 {
		t.Fatalf("%d columns, want 4", len(cols))
	}
	for _, c := range cols {
		m := c.(map[string]any)
		for _, k := range []string{"name", "type", "test", "statistic", "threshold", "drift"} {
			if _, ok := m[k]; !ok {
				t.Errorf("column %v lacks %q", m["name"], k)
			}
		}
		_, hasP := m["pValue"]
		if want := m["test"] == "ks" || m["test"] == "chisquare"; hasP != want {
			t.Errorf("column %v (%v): pValue present %v, want %v", m["name"], m["test"], hasP, want)
		}
	}
	written, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var fileDoc map[string]any
	if err := json.Unmarshal(written, &fileDoc); err != nil || fileDoc["driftShare"] != 0.5 {
		t.Errorf("--out file: %v %v", err, fileDoc["driftShare"])
	}
	o, _ := os.ReadFile(outputs)
	for _, want := range []string{"drift<<", "\ntrue\n", "drift-share<<", "\n0.5\n", "result-path<<", out} {
		if !strings.Contains(string(o), want) {
			t.Errorf("GITHUB_OUTPUT lacks %q:\n%s", want, o)
		}
	}
	s, _ := os.ReadFile(summary)
	for _, want := range []string{"Data drift detected: 2 of 4 columns", "| column | type | test |", "| c | categorical | chisquare |", "1 unseen categories"} {
		if !strings.Contains(string(s), want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
}

func TestDriftExitCodesAndErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ragged := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(ragged, []byte("a,b,c,d\n1,2,x,3\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"drift without --fail-on-drift exits 0", []string{"drift", "--reference", driftRef, "--current", driftCur}, 0, "Data drift detected", ""},
		{"--fail-on-drift", []string{"drift", "--reference", driftRef, "--current", driftCur, "--fail-on-drift"}, 1, "", "data drift: 2 of 4 columns drifted"},
		{"threshold raises the bar", []string{"drift", "--reference", driftRef, "--current", driftCur, "--threshold", "0.75", "--fail-on-drift"}, 0, "No data drift", ""},
		{"extra tests", []string{"drift", "--reference", driftRef, "--current", driftCur, "--extra-tests", "psi", "-o", "json"}, 0, `"test": "psi"`, ""},
		{"small memory budget is approximate", []string{"drift", "--reference", driftRef, "--current", driftCur, "--memory-budget", "40KiB", "-o", "json"}, 0, `"mode": "approximate"`, ""},
		{"a budget too small even for histograms is refused", []string{"drift", "--reference", driftRef, "--current", driftCur, "--memory-budget", "1KiB"}, 1, "", "raise it to at least"},
		{"bad data names file, row, column", []string{"drift", "--reference", driftRef, "--current", ragged}, 1, "", `bad.csv:3: row 2, column "c": ragged row`},
		{"missing inputs", []string{"drift", "--reference", driftRef}, 2, "", "--reference and --current are required"},
		{"bad budget", []string{"drift", "--reference", driftRef, "--current", driftCur, "--memory-budget", "lots"}, 2, "", "--memory-budget"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := mlship(t, nil, c.args...)
			if code != c.code || !strings.Contains(stdout, c.stdout) || !strings.Contains(stderr, c.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, stdout ~%q, stderr ~%q", code, stdout, stderr, c.code, c.stdout, c.stderr)
			}
		})
	}
}

func TestDriftFromSpec(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := mlship(t, nil, "drift", "--spec", "../../examples/iris", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res struct {
		Columns []struct{ Name, Type, Test string }
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Columns {
		if c.Name == "species" && (c.Type != "categorical" || c.Test != "chisquare") {
			t.Errorf("species: %s/%s, want categorical/chisquare from the spec", c.Type, c.Test)
		}
	}
	if len(res.Columns) != 5 {
		t.Errorf("%d columns, want 5", len(res.Columns))
	}
}

func TestDriftHelpHasExamples(t *testing.T) {
	t.Parallel()
	code, stdout, _ := mlship(t, nil, "drift", "--help")
	if code != 0 || !strings.Contains(stdout, "Examples:") || !strings.Contains(stdout, "mlship drift --reference") {
		t.Errorf("help: exit %d\n%s", code, stdout)
	}
}

func TestNewCmdDriftFlags(t *testing.T) {
	t.Parallel()
	ios, _, _ := iostreams.Test(nil)
	var got *DriftOptions
	cmd := NewCmdDrift(NewFactory(ios, "test"), func(o *DriftOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--reference", "r.csv", "--current", "c.parquet", "--spec", "s", "--out", "o.json", "--memory-budget", "2GiB", "--threshold", "0.3", "--fail-on-drift", "--extra-tests", "ks,psi"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Reference != "r.csv" || got.Current != "c.parquet" || got.SpecDir != "s" || got.Out != "o.json" || got.MemoryBudget != "2GiB" || got.Threshold != 0.3 || !got.FailOnDrift || strings.Join(got.ExtraTests, ",") != "ks,psi" {
		t.Errorf("options %+v", got)
	}
}
