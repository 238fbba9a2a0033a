package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/pipeline"
)

// ValidateOptions are the inputs of `mlship validate`.
type ValidateOptions struct {
	F *Factory
	pipeline.ValidateRequest
}

// NewCmdValidate builds `mlship validate`.
func NewCmdValidate(f *Factory, runF func(*ValidateOptions) error) *cobra.Command {
	opts := &ValidateOptions{F: f}
	return &cobra.Command{
		Use:   "validate [PATH...]",
		Short: "Check model specs against the schema",
		Long: `Validate loads each spec (a directory holding model.cue, model.json or
model.yaml, or one such file), unifies it with the mlship schema and runs
the semantic checks, then checks the environments file beside it
(mlship/environments.cue, .json or .yaml): its schema, digests, keys and
that every environment it names is one the spec defines. Every problem is printed as file:line:col: message;
inside GitHub Actions each also becomes an error annotation on that line
and the job summary gets a table of the specs checked.`,
		Example: `  mlship validate examples/iris
  mlship validate specs/a specs/b/model.yaml --output json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Paths = args
			if len(opts.Paths) == 0 {
				opts.Paths = []string{"."}
			}
			return runOr(cmd, opts, runF, runValidate)
		},
	}
}

func runValidate(ctx context.Context, opts *ValidateOptions) error {
	f := opts.F
	res, err := pipeline.Validate(ctx, f.Run(), opts.ValidateRequest)
	if res == nil {
		return err
	}
	if !f.IO.JSON() {
		res.WriteText(f.IO.Out, f.IO.ErrOut)
	} else if err := f.IO.PrintJSON(res); err != nil {
		return err
	}
	return exitCode(err)
}
