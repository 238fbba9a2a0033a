package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlship/mlship/internal/spec"
	"github.com/mlship/mlship/internal/testenv"
)

// buildMlship builds the mlship binary of this checkout into a temporary
// directory: the tests below run it as a user would, with the Python
// interpreter they choose first on PATH.
func buildMlship(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mlship")
	cmd := testenv.Command(t, testenv.RepoRoot(t), "go", "build", "-o", bin, "./cmd/mlship")
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	testenv.RunCmd(t, cmd)
	return bin
}

// mlshipJSON runs the mlship binary with --output json in dir and decodes
// its standard output into v.
func mlshipJSON(t *testing.T, bin, dir string, env []string, v any, args ...string) {
	t.Helper()
	cmd := testenv.Command(t, dir, bin, append(args, "--output", "json")...)
	cmd.Env = env
	out := testenv.RunCmd(t, cmd)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("mlship %s --output json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestPytorchCPU proves the PyTorch example's trainer, evaluator and
// packaging with Debian's python3-torch (1.13, CPU), through its CPU spec
// (examples/pytorch-gpu/cpu/model.cue), which runs the very train.py and
// evaluate.py of the GPU spec with --device cpu. The GPU spec keeps its
// requirement (checked here; TestTrainPytorchGPUWithoutGPU in internal/cli
// shows it refusing to start without a GPU).
func TestPytorchCPU(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: builds mlship and trains a PyTorch model; skipped under -short")
	}
	t.Parallel()
	root := testenv.RepoRoot(t)
	gpuSpec, err := spec.Load(t.Context(), filepath.Join(root, "examples", "pytorch-gpu"))
	if err != nil {
		t.Fatal(err)
	}
	if g := gpuSpec.Train.GPU; g.Count < 1 || g.MinMemoryMiB < 8000 || !slices.Contains(gpuSpec.Train.Command, "cuda") {
		t.Fatalf("examples/pytorch-gpu/model.cue no longer requires a GPU and --device cuda (gpu %+v, command %q): the CPU variant is cpu/model.cue", g, gpuSpec.Train.Command)
	}

	path := testenv.PythonPATH(t, "torch")
	bin := buildMlship(t)
	repo := filepath.Join(t.TempDir(), "iris-torch")
	copyTree(t, filepath.Join(sourceSnapshot(t, root), "examples", "pytorch-gpu"), repo)
	// The CPU spec shares the code one directory up: inside a git work
	// tree, as in a repository of its own.
	git(t, repo, "init", "--quiet", "--initial-branch=main")
	var env []string
	for _, kv := range hostEnv(t) {
		if !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	env = append(env, "PATH="+path)

	cmd := testenv.Command(t, repo, bin, "validate", "cpu", ".")
	cmd.Env = env
	testenv.RunCmd(t, cmd)

	type trainResult struct {
		InputDigest string             `json:"inputDigest"`
		ModelDir    string             `json:"modelDir"`
		Metrics     map[string]float64 `json:"metrics"`
	}
	var tr trainResult
	mlshipJSON(t, bin, repo, env, &tr, "train", "cpu")
	if tr.Metrics["accuracy"] < 0.9 {
		t.Errorf("training accuracy %v, want at least 0.9 (metrics %v)", tr.Metrics["accuracy"], tr.Metrics)
	}
	weights := filepath.Join(repo, "cpu", "model", "model.pt")
	first := fileSHA256(t, weights)

	// Deterministic on a CPU: the same seed trains the same bytes.
	var again trainResult
	mlshipJSON(t, bin, repo, env, &again, "train", "cpu")
	if got := fileSHA256(t, weights); got != first || again.InputDigest != tr.InputDigest {
		t.Errorf("a second training gave model.pt %s (input digest %s), the first %s (%s): train.py is not deterministic on a CPU",
			got, again.InputDigest, first, tr.InputDigest)
	}

	var ev struct {
		Passed  bool               `json:"passed"`
		Metrics map[string]float64 `json:"metrics"`
	}
	mlshipJSON(t, bin, repo, env, &ev, "eval", "cpu", "--no-baseline")
	if !ev.Passed || ev.Metrics["accuracy"] < 0.9 || ev.Metrics["n"] != 30 {
		t.Errorf("eval: passed %v, metrics %v; want passed, accuracy ≥ 0.9 on the 30 held-out flowers", ev.Passed, ev.Metrics)
	}
	for _, f := range []string{"cpu/eval.json", "cpu/examples.jsonl"} {
		if _, err := os.Stat(filepath.Join(repo, f)); err != nil {
			t.Errorf("evaluate.py did not write %s: %v", f, err)
		}
	}

	layout := filepath.Join(t.TempDir(), "layout")
	var pk struct {
		Digest  string `json:"digest"`
		Layers  int    `json:"layers"`
		Lineage struct {
			InputDigest string `json:"inputDigest"`
		} `json:"lineage"`
	}
	mlshipJSON(t, bin, repo, env, &pk, "package", "cpu", "oci:"+layout+":0.1.0")
	if pk.Layers < 1 || pk.Lineage.InputDigest != tr.InputDigest {
		t.Errorf("package: %+v; want the model.pt layer and the training's input digest %s", pk, tr.InputDigest)
	}
	// The weight layer is model.pt byte for byte (weights stay raw).
	if _, err := os.Stat(filepath.Join(layout, "blobs", "sha256", strings.TrimPrefix(first, "sha256:"))); err != nil {
		t.Errorf("the layout has no blob %s (model.pt): %v", first, err)
	}
	t.Logf("iris-torch-cpu: train accuracy %v, eval accuracy %v log_loss %v, packaged %s", tr.Metrics["accuracy"], ev.Metrics["accuracy"], ev.Metrics["log_loss"], pk.Digest)
}

func fileSHA256(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
