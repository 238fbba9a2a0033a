package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlship/mlship/internal/iostreams"
	"github.com/mlship/mlship/internal/pipeline"
	"github.com/mlship/mlship/internal/testenv"
	"github.com/mlship/mlship/internal/train/lineage"
)

// runCLI runs mlship with args and returns stdout.
func ociRun(t *testing.T, env map[string]string, args ...string) (string, int) {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	if _, ok := env["MLSHIP_CACHE_DIR"]; !ok {
		env["MLSHIP_CACHE_DIR"] = t.TempDir()
	}
	ios, stdout, stderr := iostreams.Test(env)
	code := Execute(context.Background(), NewFactory(ios, "test"), args)
	if code != 0 {
		t.Logf("mlship %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
	}
	return stdout.String(), code
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPushPullCommands(t *testing.T) {
	t.Parallel()
	host := testenv.InProcessRegistry(t)
	model := t.TempDir()
	writeFiles(t, model, map[string]string{"model.safetensors": "weights", "config.json": "{}", "README.md": "# m", "infer.py": "print()"})
	env := map[string]string{"SOURCE_DATE_EPOCH": "1700000000", "MLSHIP_CACHE_DIR": t.TempDir()}

	out, code := ociRun(t, env, "push", model, host+"/acme/m:1.0.0", "--output", "json", "--tag", "latest")
	if code != 0 {
		t.Fatal("push failed")
	}
	var po pipeline.PushResult
	if err := json.Unmarshal([]byte(out), &po); err != nil {
		t.Fatalf("push JSON %q: %v", out, err)
	}
	if !strings.HasPrefix(po.Digest, "sha256:") || po.Ref != host+"/acme/m@"+po.Digest || po.Layers != 4 || len(po.Tags) != 1 {
		t.Errorf("push output %+v", po)
	}
	// Text mode prints the digest alone; the same inputs give the same digest.
	out, code = ociRun(t, env, "push", model, host+"/acme/m:1.0.0")
	if code != 0 || strings.TrimSpace(out) != po.Digest {
		t.Errorf("text push printed %q, want %s", out, po.Digest)
	}

	out, code = ociRun(t, env, "ls", host+"/acme/m", "-o", "json")
	if code != 0 || !strings.Contains(out, `"tag": "latest"`) || !strings.Contains(out, po.Digest) {
		t.Errorf("ls = %s", out)
	}
	out, code = ociRun(t, env, "tag", "--repository", host+"/acme/m", "1.0.0", "prod")
	if code != 0 || !strings.Contains(out, host+"/acme/m:prod -> "+po.Digest) {
		t.Errorf("tag = %q", out)
	}
	out, code = ociRun(t, env, "inspect", host+"/acme/m:prod")
	if code != 0 || !strings.Contains(out, "weight") || !strings.Contains(out, "model.safetensors") || !strings.Contains(out, "2023-11-14T22:13:20Z") {
		t.Errorf("inspect = %s", out)
	}
	dir := filepath.Join(t.TempDir(), "pulled")
	out, code = ociRun(t, env, "pull", host+"/acme/m:prod", dir, "--filter", "weight,code", "-o", "json")
	if code != 0 {
		t.Fatal("pull failed")
	}
	var pl pipeline.PullResult
	if err := json.Unmarshal([]byte(out), &pl); err != nil || pl.Digest != po.Digest || len(pl.Files) != 2 {
		t.Errorf("pull output %+v (%v)", pl, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "model.safetensors")); string(b) != "weights" {
		t.Errorf("pulled weights = %q", b)
	}
	// A second pull into the now non-empty directory is refused.
	if _, code := ociRun(t, env, "pull", host+"/acme/m:prod", dir); code == 0 {
		t.Error("pull into a non-empty directory succeeded")
	}
}

func TestPushSpecAndPackage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"model.json": `{"name": "tiny", "version": "2.0.0", "registry": {"repository": "oci:./store"}, "environments": {"dev": {}},
			"package": {"files": [{"path": "out/w.bin", "role": "weight"}, {"path": "docs", "role": "doc", "compress": "gzip"}], "format": "bin"}}`,
		"out/w.bin":    "weights",
		"out/run.json": `{"inputDigest": "sha256:` + strings.Repeat("ab", 32) + `"}`,
		"docs/a.md":    "a",
	})
	layout := filepath.Join(t.TempDir(), "layout")
	out, code := ociRun(t, map[string]string{"GITHUB_SHA": "deadbeef"}, "package", dir, layout, "-o", "json", "--input-digest", "sha256:"+strings.Repeat("cd", 32))
	if code != 0 {
		t.Fatal("package failed")
	}
	var po pipeline.PushResult
	if err := json.Unmarshal([]byte(out), &po); err != nil {
		t.Fatal(err)
	}
	if po.Tag != "oci:"+layout+":2.0.0" || len(po.Tags) != 1 || !strings.HasSuffix(po.Tags[0], ":input-cdcdcdcdcdcd") {
		t.Errorf("package output %+v", po)
	}
	out, code = ociRun(t, nil, "inspect", "oci:"+layout+":2.0.0", "-o", "json")
	if code != 0 {
		t.Fatal("inspect failed")
	}
	for _, want := range []string{`"dev.mlship.input-digest": "sha256:cdcd`, `"org.opencontainers.image.revision": "deadbeef"`, `"org.opencontainers.image.version": "2.0.0"`, `"dev.mlship.spec-digest": "sha256:`, `application/vnd.cncf.model.doc.v1.tar+gzip`, `"format": "bin"`} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect JSON lacks %s:\n%s", want, out)
		}
	}
}

func TestApplyRepository(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ ref, repo, want string }{
		{"1.0.0", "ghcr.io/acme/m", "ghcr.io/acme/m:1.0.0"},
		{"@sha256:abc", "ghcr.io/acme/m", "ghcr.io/acme/m@sha256:abc"},
		{"localhost:5000/x/y:v2", "ghcr.io/acme/m", "ghcr.io/acme/m:v2"},
		{"localhost:5000/x/y", "ghcr.io/acme/m", "ghcr.io/acme/m"},
		{"localhost:5000/x/y@sha256:abc", "ghcr.io/acme/m", "ghcr.io/acme/m@sha256:abc"},
		{"localhost:5000/x/y:v2", "", "localhost:5000/x/y:v2"},
		{"oci:/tmp/l:v1", "ghcr.io/acme/m", "oci:/tmp/l:v1"},
	} {
		if got := pipeline.ApplyRepository(tc.ref, tc.repo); got != tc.want {
			t.Errorf("pipeline.ApplyRepository(%q, %q) = %q, want %q", tc.ref, tc.repo, got, tc.want)
		}
	}
}

func TestOCICommandFlags(t *testing.T) {
	t.Parallel()
	ios, _, _ := iostreams.Test(nil)
	f := NewFactory(ios, "test")
	var got *PullOptions
	cmd := NewCmdPull(f, func(o *PullOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"r/x:1", "d", "--filter", "weight,doc", "--allow-unknown", "--force", "--jobs", "7"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Ref != "r/x:1" || got.Dir != "d" || len(got.Filter) != 2 || !got.AllowUnknown || !got.Force || got.Registry.Jobs != 7 {
		t.Errorf("pull options %+v", got)
	}
	var pushed *PushOptions
	pc := NewCmdPush(f, func(o *PushOptions) error { pushed = o; return nil })
	pc.SetArgs([]string{"src", "--role", "*.npz=weight", "--annotation", "a=b", "--monolithic", "--repository", "h/r"})
	if err := pc.Execute(); err != nil {
		t.Fatal(err)
	}
	if pushed.Source != "src" || pushed.Ref != "" || len(pushed.Roles) != 1 || !pushed.Monolithic || pushed.Registry.Repository != "h/r" {
		t.Errorf("push options %+v", pushed)
	}
}

func TestOCICommandErrors(t *testing.T) {
	t.Parallel()
	model := t.TempDir()
	writeFiles(t, model, map[string]string{"weird.xyz": "?"})
	if _, code := ociRun(t, nil, "push", model, "oci:"+t.TempDir()); code == 0 {
		t.Error("push of a file with no inferable role succeeded")
	}
	if _, code := ociRun(t, nil, "push", model, "oci:"+t.TempDir(), "--role", "bad"); code != 2 {
		t.Errorf("bad --role exit %d, want 2", code)
	}
	if _, code := ociRun(t, nil, "pull", "oci:"+t.TempDir(), filepath.Join(t.TempDir(), "x"), "--filter", "nope"); code != 2 {
		t.Errorf("bad --filter exit %d, want 2", code)
	}
	if _, code := ociRun(t, nil, "ls"); code != 2 {
		t.Errorf("ls without a repository exit %d, want 2", code)
	}
}

func TestPushInActions(t *testing.T) {
	t.Parallel()
	model := t.TempDir()
	writeFiles(t, model, map[string]string{"model.onnx": "onnx"})
	dir := t.TempDir()
	outputs, summary := filepath.Join(dir, "out"), filepath.Join(dir, "summary")
	os.WriteFile(outputs, nil, 0o644)
	os.WriteFile(summary, nil, 0o644)
	env := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": outputs, "GITHUB_STEP_SUMMARY": summary,
		"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/m", "GITHUB_RUN_ID": "42", "GITHUB_SHA": "abc123",
	}
	layout := filepath.Join(t.TempDir(), "l")
	out, code := ociRun(t, env, "push", model, "oci:"+layout+":v1")
	if code != 0 {
		t.Fatal("push failed")
	}
	digest := strings.TrimSpace(out)
	b, _ := os.ReadFile(outputs)
	if !strings.Contains(string(b), digest) || !strings.Contains(string(b), "ref") || !strings.Contains(string(b), "oci:"+layout+"@"+digest) {
		t.Errorf("GITHUB_OUTPUT = %q", b)
	}
	if s, _ := os.ReadFile(summary); !strings.Contains(string(s), digest) {
		t.Errorf("step summary = %q", s)
	}
	js, _ := ociRun(t, nil, "inspect", "oci:"+layout+":v1", "-o", "json")
	for _, want := range []string{`"org.opencontainers.image.source": "https://github.com/acme/m"`, `"dev.mlship.run-url": "https://github.com/acme/m/actions/runs/42"`, `"org.opencontainers.image.revision": "abc123"`} {
		if !strings.Contains(js, want) {
			t.Errorf("lineage annotation missing: %s", want)
		}
	}
}

// trainedSpec trains a toy spec (package: model/w.txt and a README outside
// the model directory) and returns its directory and run.json.
func trainedSpec(t *testing.T) (string, *lineage.Record) {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"model.cue": `name:    "toy"
version: "0.1.0"
registry: repository: "oci:layout"
datasets: "toy-train": {uri: "data.csv", role: "train"}
train: {command: ["sh", "train.sh"], seed: 5}
package: files: [{path: "model/w.txt", role: "weight"}, {path: "model/cfg", role: "weight-config"}, {path: "README.md", role: "doc"}]
environments: dev: {}
signing: {}
`,
		"data.csv":  "x,y\n1,2\n",
		"README.md": "# toy\n",
		"train.sh":  "set -e\nmkdir -p model/cfg\necho weights > model/w.txt\necho '{}' > model/cfg/config.json\nprintf '{\"loss\":0.2}\\n' > metrics.json\n",
	})
	if code, _, stderr := mlship(t, map[string]string{"MLSHIP_CACHE_DIR": t.TempDir()}, "train", dir); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	rec, err := lineage.Read(filepath.Join(dir, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	return dir, rec
}

// TestPushStampsOnlyTheRunsOwnFiles: push and package put a training run's
// input digest and input-<hex12> tag on an artifact only when the packaged
// files are the ones run.json lists; otherwise they push without the
// lineage and say which file differs, or refuse with --require-run.
func TestPushStampsOnlyTheRunsOwnFiles(t *testing.T) {
	t.Parallel()
	host := testenv.InProcessRegistry(t)
	tests := []struct {
		name       string
		cmd        string // push or package
		modify     map[string]string
		requireRun bool
		explicit   bool // pass the run's digest as --input-digest, as a workflow wires train's output
		wantCode   int
		stamped    bool
		warn       string // in stderr
	}{
		{name: "matching run", cmd: "push", stamped: true},
		{name: "matching run, --require-run", cmd: "push", requireRun: true, stamped: true},
		{name: "matching run, package", cmd: "package", requireRun: true, stamped: true},
		{name: "doc outside the model dir changed", cmd: "push", modify: map[string]string{"README.md": "# edited\n"}, stamped: true},
		{name: "weights modified after training", cmd: "push", modify: map[string]string{"model/w.txt": "tampered\n"}, warn: "model/w.txt"},
		{name: "file added to a packaged directory", cmd: "push", modify: map[string]string{"model/cfg/extra.json": "{}"}, warn: "model/cfg/extra.json"},
		{name: "weights modified, the run's digest given explicitly", cmd: "push", modify: map[string]string{"model/w.txt": "tampered\n"}, explicit: true, warn: "model/w.txt"},
		{name: "matching run, the run's digest given explicitly", cmd: "push", explicit: true, requireRun: true, stamped: true},
		{name: "weights modified, --require-run", cmd: "push", modify: map[string]string{"model/w.txt": "tampered\n"}, requireRun: true, wantCode: 1, warn: "model/w.txt"},
		{name: "weights modified, package --require-run", cmd: "package", modify: map[string]string{"model/w.txt": "tampered\n"}, requireRun: true, wantCode: 1, warn: "model/w.txt"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir, rec := trainedSpec(t)
			writeFiles(t, dir, tt.modify)
			inputTag, err := lineage.InputTag(rec.InputDigest)
			if err != nil {
				t.Fatal(err)
			}
			repo := fmt.Sprintf("%s/acme/toy%d", host, i)
			dest := repo + ":0.1.0"
			if tt.cmd == "package" {
				dest = "oci:" + filepath.Join(t.TempDir(), "layout") + ":0.1.0"
			}
			args := []string{tt.cmd, dir, dest, "-o", "json"}
			if tt.requireRun {
				args = append(args, "--require-run")
			}
			if tt.explicit {
				args = append(args, "--input-digest", rec.InputDigest)
			}
			code, stdout, stderr := mlship(t, map[string]string{"MLSHIP_CACHE_DIR": t.TempDir()}, args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d:\n%s%s", code, tt.wantCode, stdout, stderr)
			}
			if tt.warn != "" && !strings.Contains(stderr, tt.warn) {
				t.Errorf("stderr does not name %s:\n%s", tt.warn, stderr)
			}
			if code != 0 {
				if tt.cmd == "push" {
					if c, out, _ := mlship(t, nil, "ls", repo, "-o", "json"); c == 0 && strings.Contains(out, "0.1.0") {
						t.Errorf("a refused push pushed:\n%s", out)
					}
				} else if _, err := os.Stat(strings.TrimSuffix(strings.TrimPrefix(dest, "oci:"), ":0.1.0")); !os.IsNotExist(err) {
					t.Errorf("a refused package wrote its layout (%v)", err)
				}
				return
			}
			var po pipeline.PushResult
			if err := json.Unmarshal([]byte(stdout), &po); err != nil {
				t.Fatalf("%v: %s", err, stdout)
			}
			hasTag := false
			for _, tg := range po.Tags {
				hasTag = hasTag || strings.HasSuffix(tg, ":"+inputTag)
			}
			_, js, _ := mlship(t, nil, "inspect", po.Ref, "-o", "json")
			hasAnn := strings.Contains(js, rec.InputDigest)
			if hasTag != tt.stamped || hasAnn != tt.stamped {
				t.Errorf("stamped: tag %s %v, annotation %v; want %v\ntags %v\n%s", inputTag, hasTag, hasAnn, tt.stamped, po.Tags, stderr)
			}
			if !tt.stamped && !strings.Contains(stderr, "without the training run's lineage") {
				t.Errorf("no warning that the lineage was left off:\n%s", stderr)
			}
		})
	}
}
