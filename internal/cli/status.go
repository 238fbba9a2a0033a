package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/pipeline"
)

// StatusOptions are the inputs of `mlship status`.
type StatusOptions struct {
	F     *Factory
	Flags PromoteFlags
	Rev   string
}

// NewCmdStatus builds `mlship status`.
func NewCmdStatus(f *Factory, runF func(*StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{F: f}
	cmd := &cobra.Command{
		Use:   "status [SPEC_DIR]",
		Short: "Show each environment's desired and deployed digest, version, signature and promotion time",
		Long: `Status compares, for every environment of the spec, the digest the
environments file asks for (git, at --rev, default HEAD) with the digest its
registry tag (REPO:ENV) points at, and shows the version, whether the
digest's signature satisfies the spec's policy, whether the tag's digest
carries a verified promotion record for the environment (RECORD: verified,
none, unknown), and when it was promoted (that record when in sync, else
the newest GitHub deployment of the environment when ` + gha.VarToken + ` is set
and it names that digest, else the commit that changed that environment's
line, on the first-parent history). For an environment out of sync it says what apply would really do:
refuse it (naming the rule), leave it to a newer commit (superseded), or
move the tag if its apply is re-run. A registry that cannot be read shows
SYNC "error" and exits 1; otherwise it exits 0 even when an environment is
out of sync; --output json has "inSync" and per environment "sync" and
"reconcile" for scripts.`,
		Example: `  mlship status examples/iris
  mlship status examples/iris --output json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Flags.SpecDir = argOr(args, 0, "")
			return runOr(cmd, opts, runF, runStatus)
		},
	}
	cmd.Flags().StringVar(&opts.Rev, "rev", "", "the commit whose desired state to show (default HEAD)")
	opts.Flags.register(cmd.Flags())
	return cmd
}

func runStatus(ctx context.Context, opts *StatusOptions) error {
	f := opts.F
	res, err := pipeline.Status(ctx, f.Run(), pipeline.StatusRequest{Promoter: opts.Flags.PromoterRequest, Rev: opts.Rev})
	if err != nil {
		return exitCode(err)
	}
	if err := showText(f, res, res.WriteText); err != nil {
		return err
	}
	return exitCode(res.Err())
}
