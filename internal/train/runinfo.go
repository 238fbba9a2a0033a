package train

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/train/gpu"
	"github.com/mlship/mlship/internal/train/lineage"
)

func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			m[k] = v
		}
	}
	return m
}

func envList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// runnerInfo describes the machine from the run context; labels given
// with WithRunnerLabels win over the run context's, which win over the
// spec's train.runner.labels.
func runnerInfo(run gha.Env, labels, specLabels []string) lineage.Runner {
	r := lineage.Runner{Name: run.RunnerName, OS: runtime.GOOS, Arch: runtime.GOARCH, Environment: run.RunnerEnvironment}
	if len(labels) == 0 {
		if run.RunnerLabels != "" {
			labels = strings.Split(run.RunnerLabels, ",")
		} else {
			labels = specLabels
		}
	}
	r.Labels = labels
	r.Hostname, _ = os.Hostname()
	return r
}

// ciInfo records the workflow run in run.json, keyed by the variables'
// names (a stable part of the run.json format).
func ciInfo(run gha.Env) map[string]string {
	out := map[string]string{}
	for k, v := range map[string]string{
		gha.VarRepository: run.Repository, gha.VarSHA: run.SHA, gha.VarRef: run.Ref, gha.VarRunID: run.RunID,
		gha.VarRunAttempt: run.RunAttempt, gha.VarWorkflowRef: run.WorkflowRef, gha.VarJob: run.Job, gha.VarServerURL: run.ServerURL,
	} {
		if v != "" {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func toolchain(ctx context.Context, env map[string]string, version string, inv *gpu.Inventory) map[string]string {
	tc := map[string]string{"mlship-go": runtime.Version()}
	if version != "" {
		tc["mlship"] = version
	}
	probe := func(name string, args ...string) string {
		path := findExecutable(name, env["PATH"])
		if path == "" {
			return ""
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, path, args...)
		cmd.Env = envList(env)
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		if cmd.Run() != nil {
			return ""
		}
		l, _, _ := strings.Cut(strings.TrimSpace(buf.String()), "\n")
		return l
	}
	if v := probe("go", "env", "GOVERSION"); v != "" {
		tc["go"] = v
	}
	if v := probe("python3", "--version"); v != "" {
		tc["python"] = strings.TrimPrefix(v, "Python ")
	}
	if inv != nil {
		if inv.Driver != "" {
			tc["nvidia-driver"] = inv.Driver
		}
		if inv.CUDA != "" {
			tc["cuda"] = inv.CUDA
		}
	}
	return tc
}

func hasExecutable(name, pathVar string) bool { return findExecutable(name, pathVar) != "" }

func findExecutable(name, pathVar string) string {
	if strings.Contains(name, "/") {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		return ""
	}
	for _, d := range strings.Split(pathVar, ":") {
		if d == "" {
			continue
		}
		if p, err := exec.LookPath(filepath.Join(d, name)); err == nil {
			return p
		}
	}
	return ""
}
