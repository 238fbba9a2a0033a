package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/pipeline"
)

// TagOptions are the inputs of `mlship tag`.
type TagOptions struct {
	F        *Factory
	Ref      string
	Tag      string
	Registry RegistryFlags
}

// NewCmdTag builds `mlship tag`.
func NewCmdTag(f *Factory, runF func(*TagOptions) error) *cobra.Command {
	opts := &TagOptions{F: f}
	cmd := &cobra.Command{
		Use:   "tag REF NEWTAG",
		Short: "Point a tag at what REF resolves to (same repository)",
		Long: `Tag resolves REF and points NEWTAG, in the same repository, at the same
manifest digest. Nothing is re-uploaded.`,
		Example: `  mlship tag ghcr.io/acme/iris@sha256:4f1c... staging
  mlship tag oci:build/iris:1.0.0 prod --output json`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ref, opts.Tag = args[0], args[1]
			return runOr(cmd, opts, runF, runTag)
		},
	}
	opts.Registry.register(cmd.Flags())
	return cmd
}

func runTag(ctx context.Context, opts *TagOptions) error {
	f := opts.F
	res, err := pipeline.Tag(ctx, f.Run(), pipeline.TagRequest{Ref: opts.Ref, Tag: opts.Tag, Repository: opts.Registry.Repository, Registry: opts.Registry.options(f)})
	if err != nil {
		return err
	}
	return show(f, res, func() error { return res.WriteText(f.IO.Out) })
}
