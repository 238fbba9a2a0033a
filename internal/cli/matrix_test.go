package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlship/mlship/internal/train"
	"github.com/mlship/mlship/internal/train/lineage"
)

func TestMatrix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		dir   string
		names []string
	}{
		{name: "iris sweep", dir: "../../examples/iris", names: []string{"learning_rate=0.05", "learning_rate=0.1", "learning_rate=0.3"}},
		{name: "two parameters", dir: "../../examples/pytorch-gpu", names: []string{
			"hidden=16,learning_rate=0.003", "hidden=16,learning_rate=0.01", "hidden=16,learning_rate=0.03",
			"hidden=64,learning_rate=0.003", "hidden=64,learning_rate=0.01", "hidden=64,learning_rate=0.03"}},
		{name: "no sweep", dir: trainToySpec(t, "true", ""), names: []string{"default"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			actions := actionsEnv(t.TempDir())
			code, stdout, stderr := mlship(t, actions, "matrix", tt.dir)
			if code != 0 {
				t.Fatalf("code %d: %s", code, stderr)
			}
			if strings.Count(strings.TrimSpace(stdout), "\n") != 0 {
				t.Errorf("text output is not one line: %q", stdout)
			}
			var mx train.Matrix
			if err := json.Unmarshal([]byte(stdout), &mx); err != nil {
				t.Fatal(err)
			}
			var got []string
			for i, e := range mx.Include {
				got = append(got, e.Name)
				if e.ID != "run-"+string(rune('0'+i)) || len(e.RunsOn) == 0 {
					t.Errorf("entry %+v", e)
				}
				// params round-trips through mlship train --param.
				for _, line := range strings.Split(e.Params, "\n") {
					if line == "" {
						continue
					}
					k, v, err := train.ParseParam(line)
					a, _ := json.Marshal(v)
					b, _ := json.Marshal(e.Hyperparameters[k])
					if err != nil || string(a) != string(b) {
						t.Errorf("param %q → %v %v, want %v", line, v, err, e.Hyperparameters[k])
					}
				}
			}
			if strings.Join(got, " ") != strings.Join(tt.names, " ") {
				t.Errorf("entries %v, want %v", got, tt.names)
			}
			outputs, _ := os.ReadFile(actions["GITHUB_OUTPUT"])
			if !strings.Contains(string(outputs), strings.TrimSpace(stdout)) {
				t.Errorf("matrix output %q", outputs)
			}
		})
	}
}

func TestMatrixTooLarge(t *testing.T) {
	t.Parallel()
	dir := trainToySpec(t, "true", `train: sweep: {
	parameters: {learning_rate: [1, 2, 3, 4, 5, 6, 7, 8], epochs: [1, 2, 3, 4, 5, 6, 7, 8]}
	metric: "accuracy"
	maxRuns: 10
}
`)
	code, _, stderr := mlship(t, nil, "matrix", dir)
	if code != 1 || !strings.Contains(stderr, "64 combinations, more than maxRuns (10)") {
		t.Errorf("code %d: %s", code, stderr)
	}
}

func writeRun(t *testing.T, path, status string, final map[string]float64, hp map[string]any) {
	t.Helper()
	in := lineage.Inputs{Hyperparameters: hp, Seed: 1}
	d, _ := in.Digest()
	rec := &lineage.Record{SchemaVersion: lineage.SchemaVersion, InputDigest: d, Inputs: in, Status: status}
	if final != nil {
		rec.Metrics = &lineage.Metrics{Final: final}
	}
	if err := rec.Write(path); err != nil {
		t.Fatal(err)
	}
}

func TestMatrixSelect(t *testing.T) {
	t.Parallel()
	runs := t.TempDir()
	writeRun(t, filepath.Join(runs, "run-0", "run.json"), "succeeded", map[string]float64{"accuracy": 0.91, "loss": 0.3}, map[string]any{"learning_rate": 0.05})
	writeRun(t, filepath.Join(runs, "run-1", "run.json"), "succeeded", map[string]float64{"accuracy": 0.97, "loss": 0.2}, map[string]any{"learning_rate": 0.1})
	writeRun(t, filepath.Join(runs, "run-2", "run.json"), "failed", map[string]float64{"accuracy": 0.99}, map[string]any{"learning_rate": 0.3})
	writeRun(t, filepath.Join(runs, "run-3", "run.json"), "succeeded", map[string]float64{"loss": 0.1}, map[string]any{"learning_rate": 1})
	os.WriteFile(filepath.Join(runs, "notes.json"), []byte("{}"), 0o644)

	actions := actionsEnv(t.TempDir())
	code, stdout, stderr := mlship(t, actions, "matrix", "select", "--spec", "../../examples/iris", runs)
	if code != 0 {
		t.Fatalf("code %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "best accuracy = 0.97 (maximize) of 2 runs") || !strings.Contains(stdout, "learning_rate=0.1") {
		t.Errorf("stdout %q", stdout)
	}
	if !strings.Contains(stderr, "status failed") || !strings.Contains(stderr, "no final value of accuracy") {
		t.Errorf("skips not reported: %q", stderr)
	}
	outputs, _ := os.ReadFile(actions["GITHUB_OUTPUT"])
	if !strings.Contains(string(outputs), filepath.Join(runs, "run-1")) {
		t.Errorf("best-dir not in outputs: %s", outputs)
	}

	code, stdout, _ = mlship(t, nil, "matrix", "select", "--metric", "loss", "--goal", "minimize", "-o", "json", runs)
	var sel train.Selection
	if code != 0 || json.Unmarshal([]byte(stdout), &sel) != nil || sel.Best.Value != 0.1 || len(sel.Runs) != 3 {
		t.Errorf("minimize loss: %d %s", code, stdout)
	}
	if code, _, stderr := mlship(t, nil, "matrix", "select", "--metric", "f1", runs); code != 1 || !strings.Contains(stderr, "no successful run with metric f1") {
		t.Errorf("absent metric: %d %s", code, stderr)
	}
	if code, _, _ := mlship(t, nil, "matrix", "select", "--metric", "loss", "--goal", "up", runs); code != 2 {
		t.Errorf("bad goal: exit %d, want 2", code)
	}
}
