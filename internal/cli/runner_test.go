package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlship/mlship/internal/githubtest"
	"github.com/mlship/mlship/internal/iostreams"
	"github.com/mlship/mlship/internal/train/gpu/gputest"
)

func TestRunnerRegister(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		gpus       string
		visible    string
		labels     []string
		wantLabels string
	}{
		{name: "8 GPUs", gpus: "8", labels: []string{"a100-pool"}, wantLabels: "self-hosted,linux,x64,a100-pool,gpu,gpu-8,gpu-h100,cuda-13"},
		{name: "2 of 8 visible", gpus: "8", visible: "0,1", wantLabels: "self-hosted,linux,x64,gpu,gpu-2,gpu-h100,cuda-13"},
		{name: "1 GPU, label given twice", gpus: "1", labels: []string{"GPU", "big"}, wantLabels: "self-hosted,linux,x64,GPU,big,gpu-1,gpu-h100,cuda-13"},
		{name: "no GPU", gpus: "0", labels: []string{"cpu"}, wantLabels: "self-hosted,linux,x64,cpu"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := githubtest.New(t)
			host := gputest.Install(t, tt.gpus)
			dir := t.TempDir()
			env := actionsEnv(dir)
			env["GITHUB_TOKEN"], env["GITHUB_API_URL"] = srv.Token, srv.URL
			ios, out, errOut := iostreams.Test(env)
			var extra []string
			if tt.visible != "" {
				extra = append(extra, "CUDA_VISIBLE_DEVICES="+tt.visible)
			}
			opts := &RunnerRegisterOptions{F: NewFactory(ios, "test"), Repo: "acme/iris", Name: "gpu-host-" + string(rune('a'+i)),
				Labels: tt.labels, LookupEnv: host.Lookup(extra...)}
			if err := runRunnerRegister(context.Background(), opts); err != nil {
				t.Fatalf("%v\n%s", err, errOut)
			}
			js := srv.JITConfigs()
			if len(js) != 1 {
				t.Fatalf("%d JIT configs", len(js))
			}
			j := js[0]
			if got := strings.Join(j.Labels, ","); got != tt.wantLabels || j.Name != opts.Name || j.Owner != "acme" || j.Repo != "iris" {
				t.Errorf("registered %+v, labels %s, want %s", j, got, tt.wantLabels)
			}
			// The config is masked, then printed alone on stdout.
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if lines[len(lines)-1] != j.EncodedConfig || !strings.Contains(out.String(), "::add-mask::"+j.EncodedConfig) {
				t.Errorf("stdout %q", out.String())
			}
			if _, err := base64.StdEncoding.DecodeString(j.EncodedConfig); err != nil {
				t.Errorf("config is not base64: %v", err)
			}
			for _, r := range srv.Requests() {
				if r.Operation == "" {
					t.Errorf("request %+v matched no operation of the OpenAPI description", r)
				}
			}
		})
	}
}

func TestRunnerRegisterConfigFileAndErrors(t *testing.T) {
	t.Parallel()
	srv := githubtest.New(t)
	env := map[string]string{"GITHUB_TOKEN": srv.Token, "GITHUB_API_URL": srv.URL, "GITHUB_REPOSITORY": "acme/iris"}
	ios, out, _ := iostreams.Test(env)
	ios.Format = iostreams.JSON
	file := filepath.Join(t.TempDir(), "jit")
	opts := &RunnerRegisterOptions{F: NewFactory(ios, "test"), Name: "gpu-1", Labels: []string{"gpu"}, NoDiscover: true, NoDefaultLabels: true, ConfigFile: file}
	if err := runRunnerRegister(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	var res map[string]any
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if _, leaked := res["encodedJITConfig"]; leaked || res["configFile"] != file || res["runnerId"] == nil {
		t.Errorf("JSON %v", res)
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config file: %v %v", fi, err)
	}
	if b, _ := os.ReadFile(file); string(b) != srv.JITConfigs()[0].EncodedConfig {
		t.Error("config file content differs")
	}
	if got := srv.JITConfigs()[0].Labels; strings.Join(got, ",") != "gpu" {
		t.Errorf("labels %v", got)
	}
	// The same name again: GitHub answers 409; the error names the runner.
	err = runRunnerRegister(context.Background(), opts)
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 1 || !strings.Contains(err.Error(), "gpu-1") || !strings.Contains(err.Error(), "409") {
		t.Errorf("duplicate: %v", err)
	}
	if strings.Contains(err.Error(), srv.Token) {
		t.Error("token in the error")
	}
	// No token, no repository.
	ios2, _, _ := iostreams.Test(map[string]string{"GITHUB_REPOSITORY": "acme/iris"})
	if err := runRunnerRegister(context.Background(), &RunnerRegisterOptions{F: NewFactory(ios2, "test"), Name: "x", Labels: []string{"gpu"}, NoDiscover: true}); err == nil || !strings.Contains(err.Error(), "GITHUB_TOKEN") {
		t.Errorf("no token: %v", err)
	}
	ios3, _, _ := iostreams.Test(nil)
	if err := runRunnerRegister(context.Background(), &RunnerRegisterOptions{F: NewFactory(ios3, "test"), Name: "x", NoDiscover: true}); err == nil || !strings.Contains(err.Error(), "GITHUB_REPOSITORY") {
		t.Errorf("no repo: %v", err)
	}
}
