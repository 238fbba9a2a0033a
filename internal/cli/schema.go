package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/pipeline"
)

// SchemaExportOptions are the inputs of `mlship schema export`.
type SchemaExportOptions struct {
	F          *Factory
	Definition string
	Out        string
}

// NewCmdSchema builds `mlship schema` and its subcommands.
func NewCmdSchema(f *Factory, runF func(*SchemaExportOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Work with the model spec schema",
		Example: `  mlship schema export > mlship.schema.json
  mlship schema export --definition Environments`,
	}
	cmd.AddCommand(newCmdSchemaExport(f, runF))
	return cmd
}

func newCmdSchemaExport(f *Factory, runF func(*SchemaExportOptions) error) *cobra.Command {
	opts := &SchemaExportOptions{F: f}
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the JSON Schema generated from the CUE schema",
		Long: `Export writes a JSON Schema (draft 2020-12) generated from the embedded CUE
schema, so editors can complete and check model.json and model.yaml (for
example with the YAML language server's "# yaml-language-server: $schema="
comment) and CI tools can check specs without mlship.`,
		Example: `  mlship schema export --out .vscode/mlship.schema.json
  mlship schema export --definition Environments > environments.schema.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runSchemaExport(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Definition, "definition", "Model", "schema definition to export: Model or Environments")
	cmd.Flags().StringVar(&opts.Out, "out", "", "write to this file instead of stdout")
	return cmd
}

func runSchemaExport(ctx context.Context, opts *SchemaExportOptions) error {
	return exitCode(pipeline.SchemaExport(ctx, opts.F.Run(), pipeline.SchemaExportRequest{Definition: opts.Definition, Out: opts.Out}))
}
