package cli

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/ghapi"
	"github.com/mlship/mlship/internal/train/gpu"
)

// RunnerRegisterOptions are the inputs of `mlship runner register`.
type RunnerRegisterOptions struct {
	F *Factory
	// Repo is owner/repo (default: the run's repository).
	Repo   string
	Name   string
	Labels []string
	// GroupID is the runner group (0: the default group).
	GroupID int64
	// NoDiscover skips GPU discovery (no gpu-* labels are added).
	NoDiscover bool
	// NoDefaultLabels leaves out self-hosted, the OS and the architecture.
	NoDefaultLabels bool
	// ConfigFile, when set, receives the encoded JIT config (mode 0600)
	// instead of stdout.
	ConfigFile string
	// LookupEnv reads PATH and CUDA_VISIBLE_DEVICES for discovery (nil: the process's).
	LookupEnv func(string) (string, bool)
}

// NewCmdRunner builds `mlship runner`.
func NewCmdRunner(f *Factory, runF func(*RunnerRegisterOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "runner",
		Short:   "Manage self-hosted (GPU) runners",
		Example: `  ./run.sh --jitconfig "$(mlship runner register --repo acme/iris --name gpu-$(hostname))"`,
	}
	cmd.AddCommand(NewCmdRunnerRegister(f, runF))
	return cmd
}

// NewCmdRunnerRegister builds `mlship runner register`.
func NewCmdRunnerRegister(f *Factory, runF func(*RunnerRegisterOptions) error) *cobra.Command {
	opts := &RunnerRegisterOptions{F: f}
	cmd := &cobra.Command{
		Use:   "register --repo OWNER/REPO --name NAME [--labels L,...]",
		Short: "Register an ephemeral just-in-time runner with GPU labels",
		Long: `Register asks GitHub for a just-in-time (JIT) configuration of a new
ephemeral self-hosted runner on the repository: the runner takes exactly
one job and is removed afterwards, so a GPU host that comes and goes
registers itself each time, with no long-lived registration token on disk.

Labels are --labels plus, unless --no-default-labels, self-hosted and this
machine's OS and architecture (linux, x64), plus, unless --no-discover,
labels describing the GPUs nvidia-smi finds (honouring CUDA_VISIBLE_DEVICES):
gpu, gpu-<count>, gpu-<model> (gpu-h100, gpu-a100, ...) and cuda-<major>.

The encoded configuration is a credential: it is printed alone on stdout
(or written to --config-file with mode 0600) for the runner's
"./run.sh --jitconfig", and masked in Actions logs. The token (` + gha.VarToken + `)
needs administration: write on the repository (a fine-grained PAT or a
GitHub App installation token; the workflow ` + gha.VarToken + ` cannot do it).
` + gha.VarAPIURL + ` points it at GitHub Enterprise Server.`,
		Example: `  # on the GPU host, in the runner's directory
  export ` + gha.VarToken + `=...   # administration: write
  ./run.sh --jitconfig "$(mlship runner register --repo acme/iris --name gpu-$(hostname)-$$)"

  # labels only, see what would be registered
  mlship runner register --repo acme/iris --name gpu-1 --labels gpu,a100 --output json --config-file /run/jit`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runRunnerRegister(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Repo, "repo", "", "repository owner/repo (default: "+gha.VarRepository+")")
	fl.StringVar(&opts.Name, "name", "", "runner name, unique in the repository (default: mlship-<hostname>-<pid>)")
	fl.StringSliceVar(&opts.Labels, "labels", nil, "extra labels, comma-separated")
	fl.Int64Var(&opts.GroupID, "runner-group", 0, "runner group id (default: the Default group)")
	fl.BoolVar(&opts.NoDiscover, "no-discover", false, "do not add labels from GPU discovery")
	fl.BoolVar(&opts.NoDefaultLabels, "no-default-labels", false, "do not add self-hosted, OS and architecture labels")
	fl.StringVar(&opts.ConfigFile, "config-file", "", "write the encoded JIT config to this file (mode 0600) instead of stdout")
	return cmd
}

func runRunnerRegister(ctx context.Context, opts *RunnerRegisterOptions) error {
	f := opts.F
	repoFull := opts.Repo
	if repoFull == "" {
		repoFull = f.Run().Env.Repository
	}
	owner, repo, err := gha.SplitRepo(repoFull)
	if err != nil {
		return &ExitError{Code: 2, Err: fmt.Errorf("--repo: %w", err)}
	}
	name := opts.Name
	if name == "" {
		host, _ := os.Hostname()
		name = fmt.Sprintf("mlship-%s-%d", host, os.Getpid())
	}
	labels := []string{}
	add := func(ls ...string) {
		for _, l := range ls {
			l = strings.TrimSpace(l)
			if l != "" && !slices.ContainsFunc(labels, func(x string) bool { return strings.EqualFold(x, l) }) {
				labels = append(labels, l)
			}
		}
	}
	if !opts.NoDefaultLabels {
		add("self-hosted", runtime.GOOS, runnerArch())
	}
	add(opts.Labels...)
	var inv *gpu.Inventory
	if !opts.NoDiscover {
		var dopts []gpu.Option
		if opts.LookupEnv != nil {
			dopts = append(dopts, gpu.WithLookupEnv(opts.LookupEnv))
		}
		inv, err = gpu.Discover(ctx, dopts...)
		if err != nil {
			return err
		}
		if len(inv.Devices) == 0 {
			reason := inv.Error
			if reason == "" {
				reason = "nvidia-smi lists no visible device"
			}
			f.IO.Logf("mlship runner: no GPU label added: %s\n", reason)
		}
		add(inv.Labels()...)
	}
	if len(labels) == 0 {
		return &ExitError{Code: 2, Err: fmt.Errorf("runner %s has no labels: give --labels", name)}
	}
	client, err := ghapi.NewForEnv(ctx, f.Run().Env)
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	cfg, id, err := client.GenerateJITConfig(ctx, owner, repo, name, labels, opts.GroupID)
	if err != nil {
		return &ExitError{Code: 1, Err: fmt.Errorf("registering runner %s on %s/%s: %w", name, owner, repo, err)}
	}
	f.Actions.Mask(cfg)
	if opts.ConfigFile != "" {
		if err := os.WriteFile(opts.ConfigFile, []byte(cfg), 0o600); err != nil {
			return fmt.Errorf("writing the JIT config: %w", err)
		}
	}
	for k, v := range map[string]string{"runner-id": fmt.Sprint(id), "runner-name": name, "labels": strings.Join(labels, ","), "jitconfig": cfg} {
		if err := f.Actions.SetOutput(k, v); err != nil {
			return err
		}
	}
	_ = f.Actions.AddStepSummary(fmt.Sprintf("### mlship runner register\n\nEphemeral runner `%s` (id %d) on `%s/%s` with labels `%s`.\n", name, id, owner, repo, strings.Join(labels, "`, `")))
	f.IO.Logf("mlship runner: registered ephemeral runner %s (id %d) on %s/%s with labels %s\n", name, id, owner, repo, strings.Join(labels, ","))
	if f.IO.JSON() {
		out := map[string]any{"runnerId": id, "name": name, "repository": owner + "/" + repo, "labels": labels, "gpu": inv}
		if opts.ConfigFile != "" {
			out["configFile"] = opts.ConfigFile
		} else {
			out["encodedJITConfig"] = cfg
		}
		return f.IO.PrintJSON(out)
	}
	if opts.ConfigFile == "" {
		fmt.Fprintln(f.IO.Out, cfg)
	}
	return nil
}

// runnerArch is the Actions runner's architecture label for this machine.
func runnerArch() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x64"
	case "arm64":
		return "arm64"
	case "arm":
		return "arm"
	}
	return runtime.GOARCH
}
