package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/pipeline"
)

// NewCmdPackage builds `mlship package`: push into an OCI image layout.
func NewCmdPackage(f *Factory, runF func(*PushOptions) error) *cobra.Command {
	opts := &PushOptions{F: f, PushRequest: pipeline.PushRequest{LayoutOnly: true}}
	cmd := &cobra.Command{
		Use:   "package SOURCE [oci:PATH[:TAG]]",
		Short: "Package a model as a ModelPack OCI artifact in an OCI image layout",
		Long: `Package builds the same ModelPack artifact as push, into an OCI image
layout directory (no registry needed). PATH defaults to .mlship/oci under
the current directory, TAG to the spec's version. A PATH without the oci:
prefix is taken as a layout path. Copy the layout to a registry later with
mlship push, oras cp or crane.`,
		Example: `  mlship package examples/iris oci:build/iris:1.0.0
  mlship package ./model build/layout --output json`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Source = args[0]
			opts.Ref = argOr(args, 1, "oci:.mlship/oci")
			return runOr(cmd, opts, runF, runPackage)
		},
	}
	opts.register(cmd.Flags())
	return cmd
}

func runPackage(ctx context.Context, opts *PushOptions) error {
	return runPush(ctx, opts)
}
