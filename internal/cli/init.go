package cli

import (
	"context"
	"path"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/pipeline"
)

// InitOptions are the inputs of `mlship init`.
type InitOptions struct {
	F          *Factory
	Root       string
	Name       string
	Repository string
	SpecDir    string
	ActionRef  string
	Force      bool
}

// NewCmdInit builds `mlship init`.
func NewCmdInit(f *Factory, runF func(*InitOptions) error) *cobra.Command {
	opts := &InitOptions{F: f}
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Scaffold a repository: starter spec, environments file and workflows",
		Long: `Init adds to an existing repository (default: the current directory) a
starter spec, the environments file (mlship/environments.cue) and the
pull-request and main workflows that run the mlship actions. It never
overwrites a file it did not write, or one edited since it wrote it.`,
		Example: `  mlship init --name iris --repository ghcr.io/acme/iris
  mlship init ../other-repo --name churn --repository ghcr.io/acme/churn --spec-dir models/churn`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Root = "."
			if len(args) == 1 {
				opts.Root = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return runInit(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Name, "name", "", "model name (DNS-1123; default: the directory name)")
	cmd.Flags().StringVar(&opts.Repository, "repository", "", "registry repository (default: ghcr.io/OWNER/NAME from "+gha.VarRepositoryOwner+", else localhost:5000/NAME)")
	cmd.Flags().StringVar(&opts.SpecDir, "spec-dir", ".", "where the spec goes, relative to DIR")
	cmd.Flags().StringVar(&opts.ActionRef, "action-ref", "v1", "ref of the mlship actions the workflows use")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "overwrite files even if mlship init did not write them")
	return cmd
}

func runInit(ctx context.Context, opts *InitOptions) error {
	f := opts.F
	res, err := pipeline.Init(ctx, f.Run(), pipeline.InitRequest{Root: opts.Root, Name: opts.Name, Repository: opts.Repository,
		SpecDir: opts.SpecDir, ActionRef: opts.ActionRef, Force: opts.Force})
	if err != nil {
		return exitCode(err)
	}
	if f.IO.JSON() {
		return f.IO.PrintJSON(res)
	}
	for _, file := range res.Files {
		f.IO.Printf("%-9s %s\n", file.Action, file.Path)
	}
	f.IO.Printf("\nnext: edit %s, then `mlship validate %s`; add a cosign key pair with `mlship keygen` and store cosign.key as the COSIGN_PRIVATE_KEY secret\n", path.Join(res.SpecDir, "model.cue"), res.SpecDir)
	return nil
}
