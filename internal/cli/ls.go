package cli

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/oci"
)

// LsOptions are the inputs of `mlship ls`.
type LsOptions struct {
	F        *Factory
	Repo     string
	Registry RegistryFlags
}

// NewCmdLs builds `mlship ls`.
func NewCmdLs(f *Factory, runF func(context.Context, *LsOptions) error) *cobra.Command {
	opts := &LsOptions{F: f}
	cmd := &cobra.Command{
		Use:   "ls [REPO]",
		Short: "List the tags of a model repository with their digests and versions",
		Long: `Ls lists the tags of REPO (HOST/REPO or oci:PATH; default --repository)
with the manifest digest each points at and the model version recorded in
its annotations.`,
		Example: `  mlship ls ghcr.io/acme/iris
  mlship ls oci:build/iris --output json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				opts.Repo = args[0]
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runLs(cmd.Context(), opts)
		},
	}
	opts.Registry.register(cmd.Flags())
	return cmd
}

func runLs(ctx context.Context, opts *LsOptions) error {
	f := opts.F
	repo := opts.Repo
	if opts.Registry.Repository != "" {
		repo = opts.Registry.Repository
	}
	if repo == "" {
		return &ExitError{Code: 2, Err: errors.New("no repository: give REPO (HOST/REPO or oci:PATH) or --repository")}
	}
	tags, err := oci.List(ctx, repo, opts.Registry.options(f)...)
	if err != nil {
		return err
	}
	if tags == nil {
		tags = []oci.TagInfo{}
	}
	if f.IO.JSON() {
		return f.IO.PrintJSON(map[string]any{"repository": repo, "tags": tags})
	}
	w := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TAG\tDIGEST\tVERSION\tCREATED")
	for _, t := range tags {
		v := t.Version
		if v == "" {
			v = "-"
		}
		c := t.Created
		if c == "" {
			c = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", t.Tag, t.Digest, v, c)
	}
	return w.Flush()
}
