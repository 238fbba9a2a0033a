package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/pipeline"
)

// CardOptions are the inputs of `mlship card`.
type CardOptions struct {
	F        *Factory
	Registry RegistryFlags
	pipeline.CardRequest
}

// NewCmdCard builds `mlship card REF`.
func NewCmdCard(f *Factory, runF func(*CardOptions) error) *cobra.Command {
	opts := &CardOptions{F: f}
	cmd := &cobra.Command{
		Use:   "card REF",
		Short: "Print the model card (MODEL_CARD.md) of a packaged model",
		Long: `Card prints MODEL_CARD.md, the model card package writes at the root of
every model packaged from a spec: Hugging Face YAML front matter (license,
datasets, metrics, model-index with the eval results, and mlship's lineage)
followed by Markdown. It reads the manifest and that one layer, nothing
else. --output json prints the parsed front matter and the file; the
contract is in docs/registry.md.`,
		Example: `  mlship card ghcr.io/acme/iris:prod
  mlship card ghcr.io/acme/iris@sha256:... --output json
  mlship card --repository ghcr.io/acme/iris 1.0.0`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ref = args[0]
			return runOr(cmd, opts, runF, runCard)
		},
	}
	opts.Registry.register(cmd.Flags())
	return cmd
}

func runCard(ctx context.Context, opts *CardOptions) error {
	f := opts.F
	req := opts.CardRequest
	req.Repository, req.Registry = opts.Registry.Repository, opts.Registry.options(f)
	res, err := pipeline.Card(ctx, f.Run(), req)
	if err != nil {
		return exitCode(err)
	}
	return show(f, res, func() error { return res.WriteText(f.IO.Out) })
}
