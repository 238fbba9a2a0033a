package train_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/mlship/mlship/internal/spec"
	"github.com/mlship/mlship/internal/testenv"
	"github.com/mlship/mlship/internal/train"
	"github.com/mlship/mlship/internal/train/gpu"
	"github.com/mlship/mlship/internal/train/gpu/gputest"
	"github.com/mlship/mlship/internal/train/lineage"
)

// shellSpec is a spec whose training is a shell script run in dir. The
// script gets the spec dir as $1.
func shellSpec(t *testing.T, script string) *spec.Model {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "data.csv"), []byte("x,y\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "train.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return &spec.Model{
		Name: "toy", Version: "0.1.0", Dir: dir, Digest: "sha256:" + strings.Repeat("ab", 32),
		Datasets: map[string]spec.Dataset{"toy-train": {URI: "data.csv", Role: "train", Format: "csv"}},
		Train: &spec.Train{
			Command:         []string{"sh", "train.sh"},
			Workdir:         ".",
			Env:             map[string]string{"FROM_SPEC": "yes"},
			Hyperparameters: map[string]any{"learning_rate": 0.1, "epochs": int64(3), "optimizer": "adam"},
			Seed:            7,
			Timeout:         "1m",
			GracePeriod:     "2s",
			Outputs:         spec.Outputs{Model: "model", Metrics: "metrics.json"},
		},
	}
}

// okScript trains a toy model. Side files of the test go under .probe/,
// which is not source (a dot-directory), so they leave the code digest alone.
const okScript = `set -e
mkdir -p model .probe
echo "weights $MLSHIP_PARAM_LEARNING_RATE $MLSHIP_SEED" > model/weights.bin
env | sort > .probe/env.txt
cp "$MLSHIP_PARAMS_FILE" .probe/params.json
printf '{"step":1,"loss":0.5}\n{"step":2,"loss":0.25,"accuracy":0.9}\n' > metrics.json
`

func baseEnv(extra ...string) []string {
	return append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, extra...)
}

func TestRunPassesParamsSeedAndRecordsLineage(t *testing.T) {
	t.Parallel()
	m := shellSpec(t, okScript)
	res, err := train.Run(context.Background(), m, train.WithEnv(baseEnv("PYTHONHASHSEED=99", "MLSHIP_PARAM_STALE=1")), train.WithParams(map[string]any{"epochs": 5}))
	if err != nil {
		t.Fatal(err)
	}
	env, _ := os.ReadFile(filepath.Join(m.Dir, ".probe", "env.txt"))
	for _, want := range []string{"MLSHIP_PARAM_LEARNING_RATE=0.1\n", "MLSHIP_PARAM_EPOCHS=5\n", "MLSHIP_PARAM_OPTIMIZER=adam\n", "MLSHIP_SEED=7\n",
		"PYTHONHASHSEED=99\n", "FROM_SPEC=yes\n", "MLSHIP_INPUT_DIGEST=" + res.InputDigest + "\n"} {
		if !strings.Contains(string(env), want) {
			t.Errorf("training env lacks %q", want)
		}
	}
	if strings.Contains(string(env), "MLSHIP_PARAM_STALE") {
		t.Error("a stale MLSHIP_PARAM_ variable from the caller leaked into the training")
	}
	var params map[string]any
	b, _ := os.ReadFile(filepath.Join(m.Dir, ".probe", "params.json"))
	if err := json.Unmarshal(b, &params); err != nil || params["epochs"] != 5.0 || params["optimizer"] != "adam" {
		t.Errorf("params file %s (%v)", b, err)
	}
	if res.Metrics.Final["loss"] != 0.25 || res.Metrics.Final["accuracy"] != 0.9 || len(res.Metrics.History) != 2 {
		t.Errorf("metrics %+v", res.Metrics)
	}
	rec, err := lineage.Read(res.RunPath)
	if err != nil {
		t.Fatal(err)
	}
	if res.RunPath != filepath.Join(m.Dir, "run.json") || rec.InputDigest != res.InputDigest || rec.Status != "succeeded" || rec.ExitCode != 0 ||
		rec.Inputs.Seed != 7 || rec.SpecDigest != m.Digest || rec.Outputs.Files["weights.bin"] == "" || rec.End.Before(rec.Start) {
		t.Errorf("run.json %+v", rec)
	}
	if d := rec.Inputs.Datasets["toy-train"]; d != "sha256:"+sha("x,y\n1,2\n") {
		t.Errorf("dataset digest %s", d)
	}
	if !strings.HasPrefix(res.InputDigest, "sha256:") || len(res.InputDigest) != 71 {
		t.Errorf("input digest %q", res.InputDigest)
	}
}

func TestInputDigest(t *testing.T) {
	t.Parallel()
	m := shellSpec(t, okScript)
	digest := func(m *spec.Model, opts ...train.Option) string {
		t.Helper()
		p, err := train.Prepare(context.Background(), m, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return p.InputDigest()
	}
	base := digest(m)
	if again := digest(m); again != base {
		t.Fatalf("same inputs, different digests: %s %s", base, again)
	}
	// Running does not change the inputs (outputs and run.json are not code).
	if _, err := train.Run(context.Background(), m, train.WithEnv(baseEnv())); err != nil {
		t.Fatal(err)
	}
	if after := digest(m); after != base {
		t.Fatalf("the run's own outputs changed the input digest")
	}
	// Nor does packaging, which writes the model card and the reference
	// profile beside the spec.
	for _, name := range spec.GeneratedFiles {
		write(t, filepath.Join(m.Dir, name), "generated by package\n")
	}
	if after := digest(m); after != base {
		t.Fatalf("a file package generates (%v) changed the input digest", spec.GeneratedFiles)
	}
	if d := digest(m, train.WithParams(map[string]any{"epochs": int64(3)})); d != base {
		t.Error("overriding a parameter with its own value changed the digest")
	}
	changed := map[string]string{
		"hyperparameter": digest(m, train.WithParams(map[string]any{"learning_rate": 0.3})),
		"seed":           digest(m, train.WithSeed(8)),
	}
	// Changed data, code and command.
	write(t, filepath.Join(m.Dir, "data.csv"), "x,y\n1,3\n")
	changed["dataset"] = digest(m)
	write(t, filepath.Join(m.Dir, "data.csv"), "x,y\n1,2\n")
	if digest(m) != base {
		t.Fatal("restoring the data did not restore the digest")
	}
	// Promotion state is not an input.
	os.MkdirAll(filepath.Join(m.Dir, "mlship"), 0o755)
	write(t, filepath.Join(m.Dir, "mlship", "environments.cue"), "environments: prod: digest: \"sha256:"+strings.Repeat("a", 64)+"\"\n")
	if digest(m) != base {
		t.Error("the environments file changed the input digest")
	}
	write(t, filepath.Join(m.Dir, "helper.py"), "print(1)\n")
	changed["code"] = digest(m)
	os.Remove(filepath.Join(m.Dir, "helper.py"))
	m2 := *m
	t2 := *m.Train
	t2.Command = []string{"sh", "train.sh", "--fast"}
	m2.Train = &t2
	changed["command"] = digest(&m2)
	// Not inputs: timeout, runner labels, the spec's other sections.
	t3 := *m.Train
	t3.Timeout, t3.Runner.Labels = "2h", []string{"gpu"}
	m3 := *m
	m3.Train, m3.Digest, m3.Environments = &t3, "sha256:"+strings.Repeat("cd", 32), map[string]spec.Environment{"prod": {}}
	if digest(&m3) != base {
		t.Error("timeout, runner labels or the spec digest changed the input digest")
	}
	seen := map[string]string{base: "base"}
	for what, d := range changed {
		if prev, dup := seen[d]; dup {
			t.Errorf("changing the %s gives the same digest as %s", what, prev)
		}
		seen[d] = what
	}
}

func TestGPURequirementCheckedBeforeStart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		host    string
		visible string
		gpu     spec.GPU
		wantErr []string
		wantCVD string
	}{
		{name: "0 GPUs, 1 needed", host: "0", gpu: spec.GPU{Count: 1}, wantErr: []string{"needs 1 GPU", "no devices", "not started"}},
		{name: "broken driver", host: "broken", gpu: spec.GPU{Count: 1}, wantErr: []string{"needs 1 GPU", "couldn't communicate"}},
		{name: "1 GPU, 2 needed", host: "1", gpu: spec.GPU{Count: 2}, wantErr: []string{"needs 2 GPUs", "1 matching of 1 visible"}},
		{name: "8 GPUs, A100 needed", host: "8", gpu: spec.GPU{Count: 1, Type: "A100"}, wantErr: []string{"type A100", "0 matching of 8 visible"}},
		{name: "8 GPUs, 4 needed, 2 visible", host: "8", visible: "3,4", gpu: spec.GPU{Count: 4}, wantErr: []string{"needs 4 GPUs", "2 matching of 2 visible", `CUDA_VISIBLE_DEVICES="3,4"`}},
		{name: "1 GPU, 1 needed", host: "1", gpu: spec.GPU{Count: 1, Type: "H100", MinMemoryMiB: 80000}, wantCVD: "GPU-a46c28be-11ce-eddd-74f8-6e8255050b20"},
		{name: "8 GPUs, 2 needed, subset visible", host: "8", visible: "6,7", gpu: spec.GPU{Count: 2}, wantCVD: "GPU-b2f06d1a-e93c-47b8-c52d-0a8e7f41b6c9,GPU-58e1a9c7-2d04-b36f-e9a8-7c5b0d2f13e6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			host := gputest.Install(t, tt.host)
			m := shellSpec(t, "mkdir -p .probe; touch .probe/started.marker\n"+okScript)
			m.Train.GPU = tt.gpu
			env := []string{"PATH=" + host.Path()}
			if tt.visible != "" {
				env = append(env, "CUDA_VISIBLE_DEVICES="+tt.visible)
			}
			start := time.Now()
			res, err := train.Run(context.Background(), m, train.WithEnv(env))
			_, statErr := os.Stat(filepath.Join(m.Dir, ".probe", "started.marker"))
			if tt.wantErr != nil {
				if err == nil {
					t.Fatal("training ran although the GPU requirement is not met")
				}
				if !errors.Is(err, gpu.ErrUnmet) {
					t.Errorf("error %v does not wrap gpu.ErrUnmet", err)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				if statErr == nil {
					t.Error("the training command was started")
				}
				if time.Since(start) > 5*time.Second {
					t.Errorf("failing took %s", time.Since(start))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if statErr != nil {
				t.Fatal("the training command did not run")
			}
			env2, _ := os.ReadFile(filepath.Join(m.Dir, ".probe", "env.txt"))
			if !strings.Contains(string(env2), "CUDA_VISIBLE_DEVICES="+tt.wantCVD+"\n") {
				t.Errorf("training saw no CUDA_VISIBLE_DEVICES=%s", tt.wantCVD)
			}
			if res.Record.GPU == nil || res.Record.Toolchain["cuda"] != "13.0" || res.Record.Toolchain["nvidia-driver"] != "580.159.04" {
				t.Errorf("run.json GPU %+v toolchain %v", res.Record.GPU, res.Record.Toolchain)
			}
		})
	}
}

func TestNoGPUNeededNoNvidiaSMI(t *testing.T) {
	t.Parallel()
	host := gputest.Install(t, "broken")
	m := shellSpec(t, okScript)
	// nvidia-smi absent: fine. Present but broken: fine, recorded only.
	for _, path := range []string{os.Getenv("PATH"), host.Path()} {
		if _, err := train.Run(context.Background(), m, train.WithEnv([]string{"PATH=" + path})); err != nil {
			t.Fatalf("PATH=%s: %v", path, err)
		}
	}
	if _, err := train.Run(context.Background(), m, train.WithEnv([]string{"PATH=" + host.Path()}), train.WithoutGPUProbe()); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(host.Marker)
	if n := strings.Count(string(b), "--query-gpu"); n != 1 {
		t.Errorf("nvidia-smi asked %d times, want once (the probe for the record), then never with WithoutGPUProbe", n)
	}
}

func TestFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		script   string
		timeout  string
		wantCode int
		wantErr  string
		status   string
	}{
		{name: "exit status passed through", script: "echo failing; exit 3", wantCode: 3, wantErr: "exited with status 3", status: "failed"},
		{name: "timeout", script: "sleep 30", timeout: "300ms", wantCode: 124, wantErr: "timed out after 300ms", status: "timed-out"},
		{name: "no model dir", script: `echo '{"a":1}' > metrics.json`, wantCode: 1, wantErr: "did not create its model directory", status: "failed"},
		{name: "empty model dir", script: `mkdir -p model; echo '{"a":1}' > metrics.json`, wantCode: 1, wantErr: "is empty", status: "failed"},
		{name: "no metrics", script: "mkdir -p model; echo w > model/w", wantCode: 1, wantErr: "metrics file", status: "failed"},
		{name: "bad metrics", script: "mkdir -p model; echo w > model/w; echo 'loss=1' > metrics.json", wantCode: 1, wantErr: "metrics file", status: "failed"},
		{name: "killed by signal", script: "kill -9 $$", wantCode: 137, wantErr: "killed by signal", status: "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := shellSpec(t, tt.script)
			if tt.timeout != "" {
				m.Train.Timeout = tt.timeout
			}
			res, err := train.Run(context.Background(), m, train.WithEnv(baseEnv()))
			var ee *train.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("error %v, want an ExitError", err)
			}
			if ee.Code != tt.wantCode || !strings.Contains(ee.Error(), tt.wantErr) {
				t.Errorf("exit %d %q, want %d %q", ee.Code, ee.Error(), tt.wantCode, tt.wantErr)
			}
			rec, rerr := lineage.Read(res.RunPath)
			if rerr != nil || rec.Status != tt.status {
				t.Errorf("run.json status %v (%v), want %s", rec, rerr, tt.status)
			}
		})
	}
}

func TestStaleOutputsDoNotCount(t *testing.T) {
	t.Parallel()
	m := shellSpec(t, "true")
	os.MkdirAll(filepath.Join(m.Dir, "model"), 0o755)
	write(t, filepath.Join(m.Dir, "model", "old.bin"), "old")
	write(t, filepath.Join(m.Dir, "metrics.json"), `{"accuracy": 1}`)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(m.Dir, "model", "old.bin"), old, old)
	_, err := train.Run(context.Background(), m, train.WithEnv(baseEnv()))
	if err == nil || !strings.Contains(err.Error(), "wrote nothing") {
		t.Fatalf("err %v, want one about stale outputs", err)
	}
}

func TestDatasetDigestMismatch(t *testing.T) {
	t.Parallel()
	m := shellSpec(t, "mkdir -p .probe; touch .probe/started.marker\n"+okScript)
	ds := m.Datasets["toy-train"]
	ds.Digest = "sha256:" + strings.Repeat("0", 64)
	m.Datasets["toy-train"] = ds
	_, err := train.Run(context.Background(), m, train.WithEnv(baseEnv()))
	if err == nil || !strings.Contains(err.Error(), "dataset toy-train (data.csv) has digest sha256:") || !strings.Contains(err.Error(), "but the spec pins sha256:000") {
		t.Fatalf("err %v", err)
	}
	if _, err := os.Stat(filepath.Join(m.Dir, ".probe", "started.marker")); err == nil {
		t.Error("training started despite the data mismatch")
	}
	ds.Digest = "sha256:" + sha("x,y\n1,2\n")
	m.Datasets["toy-train"] = ds
	if _, err := train.Run(context.Background(), m, train.WithEnv(baseEnv())); err != nil {
		t.Fatalf("pinned, matching digest: %v", err)
	}
}

func TestCancelStopsTraining(t *testing.T) {
	t.Parallel()
	m := shellSpec(t, `sleep 300 & echo $! > gc.pid; touch started; wait`)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for i := 0; i < 500; i++ {
			if _, err := os.Stat(filepath.Join(m.Dir, "started")); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
	}()
	start := time.Now()
	_, err := train.Run(ctx, m, train.WithEnv(baseEnv()))
	var ee *train.ExitError
	if !errors.As(err, &ee) || ee.Code != 130 {
		t.Fatalf("err %v, want exit 130", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("cancel took %s", time.Since(start))
	}
	b, _ := os.ReadFile(filepath.Join(m.Dir, "gc.pid"))
	if pid := strings.TrimSpace(string(b)); pid == "" || exec.Command("sh", "-c", "kill -0 "+pid+" 2>/dev/null && ! grep -q '^State:.*Z' /proc/"+pid+"/status").Run() == nil {
		t.Errorf("grandchild %q still runs", pid)
	}
}

func TestReuse(t *testing.T) {
	t.Parallel()
	host := testenv.InProcessRegistry(t)
	repo := host + "/acme/toy"
	m := shellSpec(t, "mkdir -p .probe; touch .probe/started.marker\n"+okScript)
	p, err := train.Prepare(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := lineage.InputTag(p.InputDigest())
	reg := train.Registry{Repository: repo}

	// Empty registry: trains.
	res, err := train.Run(context.Background(), m, train.WithEnv(baseEnv()), train.WithReuse(reg))
	if err != nil || res.Reused != nil {
		t.Fatalf("empty registry: %v %+v", err, res)
	}
	os.Remove(filepath.Join(m.Dir, ".probe", "started.marker"))

	// A tag whose annotation names another digest (a prefix collision): trains.
	push(t, repo+":"+tag, "sha256:"+strings.Repeat("f", 64))
	res, err = train.Run(context.Background(), m, train.WithEnv(baseEnv()), train.WithReuse(reg))
	if err != nil || res.Reused != nil {
		t.Fatalf("mismatched annotation: %v %+v", err, res)
	}
	os.Remove(filepath.Join(m.Dir, ".probe", "started.marker"))

	// The packaged artifact of these inputs: reused, nothing runs.
	want := push(t, repo+":"+tag, p.InputDigest())
	res, err = train.Run(context.Background(), m, train.WithEnv(baseEnv()), train.WithReuse(reg))
	if err != nil {
		t.Fatal(err)
	}
	if res.Reused == nil || res.Reused.Digest != want || res.Reused.Ref != repo+"@"+want {
		t.Fatalf("reused %+v, want %s", res.Reused, want)
	}
	if _, err := os.Stat(filepath.Join(m.Dir, ".probe", "started.marker")); err == nil {
		t.Error("training ran although the registry has its artifact")
	}
	rec, err := lineage.Read(res.RunPath)
	if err != nil || rec.Status != "reused" || rec.Reused.Digest != want {
		t.Errorf("run.json %+v %v", rec, err)
	}
	// Another seed: another digest, trains.
	res, err = train.Run(context.Background(), m, train.WithEnv(baseEnv()), train.WithReuse(reg), train.WithSeed(8))
	if err != nil || res.Reused != nil {
		t.Fatalf("other seed: %v %+v", err, res)
	}
	// An unreachable registry is an error naming it.
	_, err = train.Run(context.Background(), m, train.WithEnv(baseEnv()), train.WithReuse(train.Registry{Repository: "127.0.0.1:1/acme/toy"}))
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("unreachable registry: %v", err)
	}
}

func TestReuseFromLayout(t *testing.T) {
	t.Parallel()
	m := shellSpec(t, okScript)
	p, err := train.Prepare(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "layout")
	art, err := train.FindTrained(context.Background(), train.Registry{Repository: "oci:" + dir}, p.InputDigest())
	if err != nil || art != nil {
		t.Fatalf("missing layout: %v %v", art, err)
	}
	want := writeLayout(t, dir, p.InputDigest())
	art, err = train.FindTrained(context.Background(), train.Registry{Repository: "oci:" + dir}, p.InputDigest())
	if err != nil || art == nil || art.Digest != want {
		t.Fatalf("layout: %+v %v, want %s", art, err, want)
	}
}

// push writes a random image annotated with an input digest to ref.
func push(t *testing.T, ref, inputDigest string) string {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.Annotations(img, map[string]string{lineage.AnnotationInputDigest: inputDigest}).(v1.Image)
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return d.String()
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// writeLayout writes an OCI layout holding one image annotated with inputDigest.
func writeLayout(t *testing.T, dir, inputDigest string) string {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.Annotations(img, map[string]string{lineage.AnnotationInputDigest: inputDigest}).(v1.Image)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return d.String()
}
