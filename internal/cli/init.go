package cli

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/pipeline"
	"github.com/mlship/mlship/internal/scaffold"
)

// InitOptions are the inputs of `mlship init`.
type InitOptions struct {
	F          *Factory
	Root       string
	Name       string
	Repository string
	SpecDir    string
	ActionRef  string
	Template   string
	Force      bool
}

// NewCmdInit builds `mlship init`.
func NewCmdInit(f *Factory, runF func(*InitOptions) error) *cobra.Command {
	opts := &InitOptions{F: f}
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Scaffold a repository: a starter that trains, its spec, environments file and workflows",
		Long: `Init adds to an existing repository (default: the current directory) a
starter that works as written — a trainer, an evaluator, a small data set
and the spec that runs them — plus the environments file
(mlship/environments.cue), the pull-request, main and monitor workflows that run the
mlship actions, and .gitignore entries for what mlship writes. Right after
init, validate, train, eval --no-baseline and drift succeed.

Templates (--template):
` + templateHelp() + `
It never overwrites a file it did not write, or one edited since it wrote it.`,
		Example: `  mlship init --name churn --repository ghcr.io/acme/churn
  mlship init --template pytorch --name iris-torch
  mlship init ../other-repo --template go --name churn --repository ghcr.io/acme/churn --spec-dir models/churn`,
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
	cmd.Flags().StringVarP(&opts.Template, "template", "t", "", "starter to write: "+strings.Join(templateNames(), ", ")+" (default "+scaffold.DefaultTemplate+")")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "overwrite files even if mlship init did not write them")
	return cmd
}

func runInit(ctx context.Context, opts *InitOptions) error {
	f := opts.F
	res, err := pipeline.Init(ctx, f.Run(), pipeline.InitRequest{Root: opts.Root, Name: opts.Name, Repository: opts.Repository,
		SpecDir: opts.SpecDir, ActionRef: opts.ActionRef, Template: opts.Template, Force: opts.Force})
	if err != nil {
		return exitCode(err)
	}
	if f.IO.JSON() {
		return f.IO.PrintJSON(res)
	}
	for _, file := range res.Files {
		f.IO.Printf("%-9s %s\n", file.Action, file.Path)
	}
	f.IO.Printf("\nnext (the %s starter): mlship validate %[2]s && mlship train %[2]s && mlship eval %[2]s --no-baseline && mlship drift --spec %[2]s\n", res.Template, res.SpecDir)
	f.IO.Printf("then edit %s for your model; add key pairs with `mlship keygen` (cosign.key: the COSIGN_PRIVATE_KEY secret) and `mlship keygen --output-key-prefix promotion` (promotion.key: MLSHIP_PROMOTION_KEY, a secret of the main-only environment \"promotion\"), and commit the .pub files\n", path.Join(res.SpecDir, "model.cue"))
	return nil
}

func templateNames() []string {
	var names []string
	for _, t := range scaffold.Templates() {
		names = append(names, t.Name)
	}
	return names
}

func templateHelp() string {
	var b strings.Builder
	for _, t := range scaffold.Templates() {
		def := ""
		if t.Name == scaffold.DefaultTemplate {
			def = " (default)"
		}
		fmt.Fprintf(&b, "  %-8s %s%s\n", t.Name, t.Summary, def)
	}
	return b.String()
}
