package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/gha"
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

var nonName = regexp.MustCompile(`[^a-z0-9-]+`)

func runInit(ctx context.Context, opts *InitOptions) error {
	name := opts.Name
	if name == "" {
		abs, err := filepath.Abs(opts.Root)
		if err != nil {
			return err
		}
		name = strings.Trim(nonName.ReplaceAllString(strings.ToLower(filepath.Base(abs)), "-"), "-")
	}
	repo := opts.Repository
	if repo == "" {
		if owner := opts.F.Run().Env.RepositoryOwner; owner != "" {
			repo = "ghcr.io/" + strings.ToLower(owner) + "/" + name
		} else {
			repo = "localhost:5000/" + name
		}
	}
	specDir := filepath.ToSlash(filepath.Clean(opts.SpecDir))
	if filepath.IsAbs(specDir) || strings.HasPrefix(specDir, "..") {
		return fmt.Errorf("--spec-dir %q must be a path inside the repository", opts.SpecDir)
	}
	files, err := scaffold.Write(ctx, opts.Root, scaffold.Params{Name: name, Repository: repo, SpecDir: specDir, ActionRef: opts.ActionRef}, opts.Force)
	if err != nil {
		return err
	}
	if opts.F.IO.JSON() {
		return opts.F.IO.PrintJSON(map[string]any{"name": name, "repository": repo, "files": files})
	}
	for _, f := range files {
		opts.F.IO.Printf("%-9s %s\n", f.Action, f.Path)
	}
	opts.F.IO.Printf("\nnext: edit %s, then `mlship validate %s`; add a cosign key pair with `mlship keygen` and store cosign.key as the COSIGN_PRIVATE_KEY secret\n", filepath.ToSlash(filepath.Join(specDir, "model.cue")), specDir)
	return nil
}
