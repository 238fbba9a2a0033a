package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/pipeline"
)

// InspectOptions are the inputs of `mlship inspect`.
type InspectOptions struct {
	F        *Factory
	Ref      string
	Registry RegistryFlags
}

// NewCmdInspect builds `mlship inspect`.
func NewCmdInspect(f *Factory, runF func(*InspectOptions) error) *cobra.Command {
	opts := &InspectOptions{F: f}
	cmd := &cobra.Command{
		Use:   "inspect REF",
		Short: "Show a model artifact's manifest, config and lineage",
		Long: `Inspect resolves REF and prints a summary of the ModelPack manifest and
config: digest, version, lineage annotations, and each layer's role,
format, size and path. --output json prints the manifest and config.`,
		Example: `  mlship inspect ghcr.io/acme/iris:prod
  mlship inspect oci:build/iris:1.0.0 --output json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ref = args[0]
			return runOr(cmd, opts, runF, runInspect)
		},
	}
	opts.Registry.register(cmd.Flags())
	return cmd
}

func runInspect(ctx context.Context, opts *InspectOptions) error {
	f := opts.F
	res, err := pipeline.Inspect(ctx, f.Run(), pipeline.InspectRequest{Ref: opts.Ref, Repository: opts.Registry.Repository, Registry: opts.Registry.options(f)})
	if err != nil {
		return err
	}
	return show(f, res, func() error { return res.WriteText(f.IO.Out) })
}
