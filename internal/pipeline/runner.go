package pipeline

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"

	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/train/gpu"
)

// RegisterRunnerRequest is what `mlship runner register` asks for.
type RegisterRunnerRequest struct {
	// Repo is owner/repo (default: the run's repository).
	Repo string
	// Name defaults to mlship-<hostname>-<pid>.
	Name   string
	Labels []string
	// GroupID is the runner group (0: the default group).
	GroupID int64
	// NoDiscover skips GPU discovery (no gpu-* labels are added).
	NoDiscover bool
	// NoDefaultLabels leaves out self-hosted, the OS and the architecture.
	NoDefaultLabels bool
	// ConfigFile, when set, receives the encoded JIT config (mode 0600).
	ConfigFile string
	// LookupEnv reads PATH and CUDA_VISIBLE_DEVICES for discovery (nil: the process's).
	LookupEnv func(string) (string, bool)
}

// RegisterRunnerResult is the registered runner; --output json prints it.
type RegisterRunnerResult struct {
	RunnerID   int64          `json:"runnerId"`
	Name       string         `json:"name"`
	Repository string         `json:"repository"`
	Labels     []string       `json:"labels"`
	GPU        *gpu.Inventory `json:"gpu"`
	ConfigFile string         `json:"configFile,omitempty"`
	// EncodedJITConfig is the credential for ./run.sh --jitconfig; empty
	// when it went to ConfigFile.
	EncodedJITConfig string `json:"encodedJITConfig,omitempty"`
}

// RegisterRunner asks GitHub for the JIT configuration of an ephemeral
// self-hosted runner labelled with req's labels, the defaults and the GPUs
// found. The configuration is masked before anything prints it, written to
// ConfigFile when set, and set as the jitconfig step output.
func RegisterRunner(ctx context.Context, r *Run, req RegisterRunnerRequest) (*RegisterRunnerResult, error) {
	repoFull := req.Repo
	if repoFull == "" {
		repoFull = r.Env.Repository
	}
	owner, repo, err := gha.SplitRepo(repoFull)
	if err != nil {
		return nil, usage(fmt.Errorf("--repo: %w", err))
	}
	name := req.Name
	if name == "" {
		host, _ := os.Hostname()
		name = fmt.Sprintf("mlship-%s-%d", host, os.Getpid())
	}
	labels, inv, err := runnerLabels(ctx, r, req)
	if err != nil {
		return nil, err
	}
	if len(labels) == 0 {
		return nil, usage(fmt.Errorf("runner %s has no labels: give --labels", name))
	}
	client, err := r.GitHubClient(ctx)
	if err != nil {
		return nil, err
	}
	cfg, id, err := client.GenerateJITConfig(ctx, owner, repo, name, labels, req.GroupID)
	if err != nil {
		return nil, fmt.Errorf("registering runner %s on %s/%s: %w", name, owner, repo, err)
	}
	r.Actions.Mask(cfg)
	res := &RegisterRunnerResult{RunnerID: id, Name: name, Repository: owner + "/" + repo, Labels: labels, GPU: inv, ConfigFile: req.ConfigFile}
	if req.ConfigFile != "" {
		if err := os.WriteFile(req.ConfigFile, []byte(cfg), 0o600); err != nil {
			return nil, fmt.Errorf("writing the JIT config: %w", err)
		}
	} else {
		res.EncodedJITConfig = cfg
	}
	for k, v := range map[string]string{"runner-id": fmt.Sprint(id), "runner-name": name, "labels": strings.Join(labels, ","), "jitconfig": cfg} {
		if err := r.Actions.SetOutput(k, v); err != nil {
			return nil, err
		}
	}
	_ = r.Summary(fmt.Sprintf("### mlship runner register\n\nEphemeral runner `%s` (id %d) on `%s/%s` with labels `%s`.\n", name, id, owner, repo, strings.Join(labels, "`, `")))
	r.Logf("mlship runner: registered ephemeral runner %s (id %d) on %s/%s with labels %s\n", name, id, owner, repo, strings.Join(labels, ","))
	return res, nil
}

// runnerLabels is the defaults, then req.Labels, then the GPU labels,
// without case-insensitive duplicates.
func runnerLabels(ctx context.Context, r *Run, req RegisterRunnerRequest) ([]string, *gpu.Inventory, error) {
	labels := []string{}
	add := func(ls ...string) {
		for _, l := range ls {
			l = strings.TrimSpace(l)
			if l != "" && !slices.ContainsFunc(labels, func(x string) bool { return strings.EqualFold(x, l) }) {
				labels = append(labels, l)
			}
		}
	}
	if !req.NoDefaultLabels {
		add("self-hosted", runtime.GOOS, runnerArch())
	}
	add(req.Labels...)
	if req.NoDiscover {
		return labels, nil, nil
	}
	var dopts []gpu.Option
	if req.LookupEnv != nil {
		dopts = append(dopts, gpu.WithLookupEnv(req.LookupEnv))
	}
	inv, err := gpu.Discover(ctx, dopts...)
	if err != nil {
		return nil, nil, err
	}
	if len(inv.Devices) == 0 {
		reason := inv.Error
		if reason == "" {
			reason = "nvidia-smi lists no visible device"
		}
		r.Logf("mlship runner: no GPU label added: %s\n", reason)
	}
	add(inv.Labels()...)
	return labels, inv, nil
}

// runnerArch is the Actions runner's architecture label for this machine.
func runnerArch() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x64"
	case "arm":
		return "arm"
	}
	return runtime.GOARCH
}
