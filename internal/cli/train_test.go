package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/mlship/mlship/internal/iostreams"
	"github.com/mlship/mlship/internal/pipeline"
	"github.com/mlship/mlship/internal/testenv"
	"github.com/mlship/mlship/internal/train/gpu/gputest"
	"github.com/mlship/mlship/internal/train/lineage"
)

// trainToySpec writes a spec whose training is a shell script.
func trainToySpec(t *testing.T, script, extra string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"model.cue": `name:    "toy"
version: "0.1.0"
registry: repository: "oci:layout"
datasets: "toy-train": {uri: "data.csv", role: "train"}
train: {
	command: ["sh", "train.sh"]
	hyperparameters: {learning_rate: 0.1, epochs: 3}
	seed: 5
	gracePeriod: "2s"
}
environments: dev: {}
signing: {}
` + extra,
		"data.csv": "x,y\n1,2\n",
		"train.sh": script,
	}
	for n, body := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const trainToyScript = `set -e
mkdir -p model .probe
touch .probe/started
echo "w $MLSHIP_PARAM_LEARNING_RATE" > model/w.txt
printf '{"accuracy":0.9,"loss":0.2}\n' > metrics.json
`

func TestTrainFlags(t *testing.T) {
	t.Parallel()
	ios, _, _ := iostreams.Test(nil)
	f := NewFactory(ios, "test")
	var got *TrainOptions
	cmd := NewCmdTrain(f, func(o *TrainOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"specs/x", "--param", "lr=0.3", "-p", "opt=adam", "--seed", "0", "--timeout", "90s", "--reuse", "--run-file", "r.json"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.SpecDir != "specs/x" || strings.Join(got.Params, " ") != "lr=0.3 opt=adam" || !got.SeedSet || got.Seed != 0 ||
		got.Timeout != 90*time.Second || !got.Reuse || got.RunFile != "r.json" {
		t.Errorf("options %+v", got)
	}
	cmd = NewCmdTrain(f, func(o *TrainOptions) error { got = o; return nil })
	cmd.SetArgs(nil)
	if err := cmd.Execute(); err != nil || got.SpecDir != "." || got.SeedSet {
		t.Errorf("defaults %+v %v", got, err)
	}
}

// irisCopy copies examples/iris into a temporary module of its own, in a
// workspace with the checkout, so tests never write into the checkout and
// run the spec's own `go run ./trainer` unchanged.
func irisCopy(t *testing.T) string {
	t.Helper()
	src := "../../examples/iris"
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if rel == "model" || rel == "metrics.json" || rel == "run.json" || rel == "eval.json" || rel == "examples.jsonl" {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	// The trainer imports packages of the mlship module: a workspace holding
	// the copy and the checkout resolves them to the code under test.
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"go.mod":  "module iris.example\n\ngo 1.26\n",
		"go.work": "go 1.26.8\n\nuse (\n\t.\n\t" + root + "\n)\n",
	} {
		if err := os.WriteFile(filepath.Join(dst, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func trainJSON(t *testing.T, stdout string) pipeline.TrainResult {
	t.Helper()
	var out pipeline.TrainResult
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("train --output json printed %q: %v", stdout, err)
	}
	return out
}

func TestTrainIrisDeterministic(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the iris trainer three times")
	}
	dir := irisCopy(t)
	env := os.Environ()
	env = append(env, "GOWORK="+filepath.Join(dir, "go.work"), "GOFLAGS=")
	run := func(args ...string) (pipeline.TrainResult, map[string][]byte) {
		t.Helper()
		ios, out, errOut := iostreams.Test(nil)
		ios.Format = iostreams.JSON
		f := NewFactory(ios, "test")
		opts := &TrainOptions{F: f, TrainRequest: pipeline.TrainRequest{SpecDir: dir, Env: env, Params: args}}
		if err := runTrain(context.Background(), opts); err != nil {
			t.Fatalf("train %v: %v\n%s", args, err, errOut)
		}
		res := trainJSON(t, out.String())
		files := map[string][]byte{}
		for _, n := range []string{"weights.json", "config.json"} {
			b, err := os.ReadFile(filepath.Join(res.ModelDir, n))
			if err != nil {
				t.Fatal(err)
			}
			files[n] = b
		}
		return res, files
	}
	first, model1 := run()
	second, model2 := run()
	if first.InputDigest != second.InputDigest || !strings.HasPrefix(first.InputDigest, "sha256:") {
		t.Errorf("same inputs, digests %s and %s", first.InputDigest, second.InputDigest)
	}
	for n := range model1 {
		if !bytes.Equal(model1[n], model2[n]) {
			t.Errorf("model/%s differs between two runs with seed 7", n)
		}
	}
	if first.ModelDir != filepath.Join(dir, "model") || first.Metrics["accuracy"] < 0.9 || first.Metrics["loss"] <= 0 || first.Status != "succeeded" {
		t.Errorf("output %+v", first)
	}
	changed, model3 := run("learning_rate=0.3")
	if changed.InputDigest == first.InputDigest {
		t.Error("a changed hyperparameter kept the input digest")
	}
	if bytes.Equal(model3["weights.json"], model1["weights.json"]) {
		t.Error("a changed learning rate gave the same weights")
	}
	rec, err := lineage.Read(filepath.Join(dir, "run.json"))
	if err != nil || rec.Inputs.Hyperparameters["learning_rate"] != 0.3 || rec.Toolchain["go"] == "" {
		t.Errorf("run.json %+v %v", rec, err)
	}
}

func TestTrainPytorchGPUWithoutGPU(t *testing.T) {
	t.Parallel()
	spec := "../../examples/pytorch-gpu"
	broken := gputest.Install(t, "broken")
	tests := []struct {
		name string
		path string
		want string
	}{
		{name: "no nvidia-smi", path: t.TempDir() + ":/usr/bin:/bin", want: "nvidia-smi not found on PATH"},
		{name: "broken driver", path: broken.Path(), want: "couldn't communicate with the NVIDIA driver"},
		{name: "no device", path: gputest.Install(t, "0").Path(), want: "nvidia-smi lists no devices"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			actions := actionsEnv(t.TempDir())
			ios, out, _ := iostreams.Test(actions)
			f := NewFactory(ios, "test")
			start := time.Now()
			err := runTrain(context.Background(), &TrainOptions{F: f, TrainRequest: pipeline.TrainRequest{SpecDir: spec, Env: []string{"PATH=" + tt.path}}})
			var ee *ExitError
			if !errors.As(err, &ee) || ee.Code != 1 {
				t.Fatalf("err %v, want exit 1", err)
			}
			for _, w := range []string{"training needs 1 GPU (at least 8000 MiB memory)", tt.want, "not started"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if el := time.Since(start); el > 10*time.Second {
				t.Errorf("failing took %s", el)
			}
			if !strings.Contains(out.String(), "::error file=") || !strings.Contains(out.String(), "title=GPU requirement not met::") {
				t.Errorf("no annotation in %q", out.String())
			}
			for _, p := range []string{"model", "metrics.json", "run.json"} {
				if _, err := os.Stat(filepath.Join(spec, p)); err == nil {
					t.Errorf("%s exists: train.py ran", p)
				}
			}
		})
	}
}

func TestTrainExitStatusAndOutputs(t *testing.T) {
	t.Parallel()
	dir := trainToySpec(t, "echo oops >&2; exit 7\n", "")
	code, stdout, stderr := mlship(t, nil, "train", dir)
	if code != 7 || !strings.Contains(stderr, "oops") || !strings.Contains(stderr, "exited with status 7") {
		t.Errorf("code %d stdout %q stderr %q", code, stdout, stderr)
	}

	dir = trainToySpec(t, trainToyScript, "")
	actions := actionsEnv(t.TempDir())
	code, stdout, stderr = mlship(t, actions, "train", dir, "--output", "json")
	if code != 0 {
		t.Fatalf("code %d: %s", code, stderr)
	}
	out := trainJSON(t, stdout)
	if out.Metrics["accuracy"] != 0.9 || out.RunPath != filepath.Join(dir, "run.json") || out.Reused {
		t.Errorf("output %+v", out)
	}
	if !strings.Contains(stderr, "::group::Training toy: sh train.sh") || !strings.Contains(stderr, "::endgroup::") {
		t.Errorf("no log group in %q", stderr)
	}
	outputs, _ := os.ReadFile(actions["GITHUB_OUTPUT"])
	for _, k := range []string{"input-digest", "model-dir", "metrics-path", "run-path", "reused"} {
		if !strings.Contains(string(outputs), k+"<<") {
			t.Errorf("output %s not set: %s", k, outputs)
		}
	}
	if !strings.Contains(string(outputs), out.InputDigest) {
		t.Error("input-digest output differs from the JSON")
	}
	summary, _ := os.ReadFile(actions["GITHUB_STEP_SUMMARY"])
	if !strings.Contains(string(summary), "| accuracy | 0.9 |") {
		t.Errorf("summary %s", summary)
	}
	// A bad --param is a usage error.
	if code, _, stderr := mlship(t, nil, "train", dir, "--param", "9lives=1"); code != 2 || !strings.Contains(stderr, "9lives") {
		t.Errorf("bad param: %d %s", code, stderr)
	}
}

func TestTrainReuse(t *testing.T) {
	t.Parallel()
	host := testenv.InProcessRegistry(t)
	repo := host + "/acme/toy"
	dir := trainToySpec(t, trainToyScript, "")
	code, stdout, stderr := mlship(t, nil, "train", dir, "--digest-only")
	if code != 0 {
		t.Fatal(stderr)
	}
	digest := strings.TrimSpace(stdout)
	tag, err := lineage.InputTag(digest)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := random.Image(32, 1)
	img = mutate.Annotations(img, map[string]string{lineage.AnnotationInputDigest: digest}).(v1.Image)
	ref, _ := name.ParseReference(repo + ":" + tag)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()

	actions := actionsEnv(t.TempDir())
	code, stdout, stderr = mlship(t, actions, "train", dir, "--reuse", "--repository", repo, "-o", "json")
	if code != 0 {
		t.Fatalf("code %d: %s", code, stderr)
	}
	out := trainJSON(t, stdout)
	if !out.Reused || out.Artifact == nil || out.Artifact.Digest != want.String() || out.InputDigest != digest {
		t.Errorf("output %+v, want reuse of %s", out, want)
	}
	if _, err := os.Stat(filepath.Join(dir, ".probe", "started")); err == nil {
		t.Error("training ran")
	}
	outputs, _ := os.ReadFile(actions["GITHUB_OUTPUT"])
	if !strings.Contains(string(outputs), "reused<<") || !strings.Contains(string(outputs), want.String()) {
		t.Errorf("outputs %s", outputs)
	}
	// Another seed: trains.
	code, stdout, stderr = mlship(t, nil, "train", dir, "--reuse", "--repository", repo, "--seed", "6", "-o", "json")
	if code != 0 || trainJSON(t, stdout).Reused {
		t.Fatalf("code %d, %s %s", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, ".probe", "started")); err != nil {
		t.Error("training did not run for other inputs")
	}
}

func TestTrainInvalidSpecAnnotates(t *testing.T) {
	t.Parallel()
	dir := trainToySpec(t, trainToyScript, "train: seed: -1\n")
	code, stdout, _ := mlship(t, actionsEnv(t.TempDir()), "train", dir)
	if code != 1 || !strings.Contains(stdout, "::error file=") {
		t.Errorf("code %d stdout %q", code, stdout)
	}
}

// TestTrainReuseAfterPush is train once, promote many across the two
// steps: what `mlship push` uploads after a training, `train --reuse` finds.
func TestTrainReuseAfterPush(t *testing.T) {
	t.Parallel()
	repo := testenv.InProcessRegistry(t) + "/acme/toy"
	dir := trainToySpec(t, trainToyScript, "package: files: [{path: \"model/w.txt\", role: \"weight\"}]\n")
	code, stdout, stderr := mlship(t, nil, "train", dir, "-o", "json")
	if code != 0 {
		t.Fatalf("train: %d %s", code, stderr)
	}
	trained := trainJSON(t, stdout)
	code, stdout, stderr = mlship(t, nil, "push", dir, "--repository", repo, "--plain-http", "-o", "json")
	if code != 0 {
		t.Fatalf("push: %d %s", code, stderr)
	}
	var pushed struct {
		Digest string `json:"digest"`
	}
	if err := json.Unmarshal([]byte(stdout), &pushed); err != nil || pushed.Digest == "" {
		t.Fatalf("push output %q: %v", stdout, err)
	}
	os.RemoveAll(filepath.Join(dir, ".probe"))
	code, stdout, stderr = mlship(t, nil, "train", dir, "--reuse", "--repository", repo, "-o", "json")
	if code != 0 {
		t.Fatalf("train --reuse: %d %s", code, stderr)
	}
	out := trainJSON(t, stdout)
	if !out.Reused || out.Artifact.Digest != pushed.Digest || out.InputDigest != trained.InputDigest {
		t.Errorf("reuse %+v, want the pushed %s", out, pushed.Digest)
	}
	if _, err := os.Stat(filepath.Join(dir, ".probe", "started")); err == nil {
		t.Error("training ran although its artifact was pushed")
	}
}

// TestTrainUndeclaredParam: -p KEY=V with a KEY the spec does not declare is
// a usage error before anything runs, as sweep keys are.
func TestTrainUndeclaredParam(t *testing.T) {
	t.Parallel()
	dir := trainToySpec(t, trainToyScript, "")
	code, _, stderr := mlship(t, nil, "train", dir, "-p", "learning_rte=0.3")
	if code != 2 || !strings.Contains(stderr, `"learning_rte" is not a declared hyperparameter (declared: epochs, learning_rate)`) {
		t.Errorf("exit %d, stderr %q: want a usage error naming the key and the declared ones", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, ".probe", "started")); err == nil {
		t.Error("training ran with an undeclared parameter")
	}
}
