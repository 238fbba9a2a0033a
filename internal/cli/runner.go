package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/pipeline"
)

// RunnerRegisterOptions are the inputs of `mlship runner register`
// (pipeline.RegisterRunnerRequest's fields).
type RunnerRegisterOptions struct {
	F               *Factory
	Repo            string
	Name            string
	Labels          []string
	GroupID         int64
	NoDiscover      bool
	NoDefaultLabels bool
	ConfigFile      string
	LookupEnv       func(string) (string, bool)
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
ephemeral self-hosted runner on the repository: it takes exactly one job
and is removed afterwards, with no long-lived registration token on disk.

Labels are --labels plus, unless --no-default-labels, self-hosted and this
machine's OS and architecture (linux, x64), plus, unless --no-discover,
labels for the GPUs nvidia-smi finds (honouring CUDA_VISIBLE_DEVICES):
gpu, gpu-<count>, gpu-<model> (gpu-h100, ...) and cuda-<major>.

The encoded configuration is a credential: it is printed alone on stdout
(or written to --config-file, mode 0600) for "./run.sh --jitconfig", and
masked in Actions logs. The token (` + gha.VarToken + `) needs administration: write
on the repository (a fine-grained PAT or a GitHub App token; the workflow
` + gha.VarToken + ` cannot). ` + gha.VarAPIURL + ` points it at GitHub Enterprise Server.`,
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
	res, err := pipeline.RegisterRunner(ctx, f.Run(), pipeline.RegisterRunnerRequest{
		Repo: opts.Repo, Name: opts.Name, Labels: opts.Labels, GroupID: opts.GroupID, NoDiscover: opts.NoDiscover,
		NoDefaultLabels: opts.NoDefaultLabels, ConfigFile: opts.ConfigFile, LookupEnv: opts.LookupEnv,
	})
	if err != nil {
		return exitCode(err)
	}
	if f.IO.JSON() {
		return f.IO.PrintJSON(res)
	}
	if res.EncodedJITConfig != "" {
		fmt.Fprintln(f.IO.Out, res.EncodedJITConfig)
	}
	return nil
}
