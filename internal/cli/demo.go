package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/examples/iris/irisml"
	"github.com/mlship/mlship/internal/demo"
)

// DemoOptions are the inputs of `mlship demo`.
type DemoOptions struct {
	F       *Factory
	Dir     string
	Verbose bool
}

// NewCmdDemo builds `mlship demo` (and its hidden trainer subcommand).
func NewCmdDemo(f *Factory, runF func(*DemoOptions) error) *cobra.Command {
	opts := &DemoOptions{F: f}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole loop locally on embedded defaults",
		Long: `Demo runs mlship's whole loop on the embedded iris example, needing
nothing but this binary and git: validate, train, evaluate against the
model prod runs, drift, package and push to an in-process OCI registry,
sign and attest with an ephemeral key, render the pull-request report,
promote dev → staging → prod through merged (locally simulated) pull
requests, and pull the prod model back with verification. Each stage
prints one line; everything lands in a temporary directory (or --dir).`,
		Example: `  go run ./cmd/mlship demo
  mlship demo --dir /tmp/mlship-demo --verbose
  mlship demo --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runDemo(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Dir, "dir", "", "work in this directory instead of a new temporary one")
	cmd.Flags().BoolVarP(&opts.Verbose, "verbose", "v", false, "show the stages' own output (training logs)")
	cmd.AddCommand(&cobra.Command{
		Use:                "trainer [FLAGS]",
		Short:              "The iris example's trainer, built in for the demo",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return irisml.Main(args, f.IO.Out)
		},
	})
	return cmd
}

func runDemo(ctx context.Context, opts *DemoOptions) error {
	f := opts.F
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the mlship executable for the demo trainer: %w", err)
	}
	if opts.Dir != "" {
		if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", opts.Dir, err)
		}
	}
	o := demo.Options{Dir: opts.Dir, Trainer: []string{exe, "demo", "trainer"}, Out: f.IO.Out}
	if f.IO.JSON() {
		o.Out = f.IO.ErrOut
	}
	if opts.Verbose {
		o.Log = f.IO.ErrOut
	}
	sum, err := demo.Run(ctx, o)
	if err != nil {
		return err
	}
	if f.IO.JSON() {
		return f.IO.PrintJSON(sum)
	}
	return nil
}
