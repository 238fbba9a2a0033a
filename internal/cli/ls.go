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
	// All also lists the tags signatures, attestations, SBOMs and the
	// referrers tag schema live under (sha256-<hex>[.sig|.att|.sbom]).
	All bool
}

// NewCmdLs builds `mlship ls`.
func NewCmdLs(f *Factory, runF func(*LsOptions) error) *cobra.Command {
	opts := &LsOptions{F: f}
	cmd := &cobra.Command{
		Use:   "ls [REPO]",
		Short: "List the tags of a model repository with their digests and versions",
		Long: `Ls lists the tags of REPO (HOST/REPO or oci:PATH; default --repository)
with the manifest digest each points at and the model version recorded in
its annotations.

The tags that hold proof about a model rather than a model — cosign's
sha256-<hex>.sig, .att and .sbom, and the referrers tag schema's
sha256-<hex> — are left out; --all lists them too, with their kind.`,
		Example: `  mlship ls ghcr.io/acme/iris
  mlship ls oci:build/iris --output json
  mlship ls ghcr.io/acme/iris --all`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				opts.Repo = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return runLs(cmd.Context(), opts)
		},
	}
	opts.Registry.register(cmd.Flags())
	cmd.Flags().BoolVar(&opts.All, "all", false, "also list signature, attestation, SBOM and referrers tags")
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
	ropts := opts.Registry.options(f)
	hidden := 0
	if !opts.All {
		ropts = append(ropts, oci.WithTagFilter(func(tag string) bool {
			if oci.TagKind(tag) != "" {
				hidden++ // List calls the filter from one goroutine
				return false
			}
			return true
		}))
	}
	c, err := f.Registry()
	if err != nil {
		return err
	}
	tags, err := c.ListTags(ctx, repo, ropts...)
	if err != nil {
		return err
	}
	if tags == nil {
		tags = []oci.TagInfo{}
	}
	if f.IO.JSON() {
		return f.IO.PrintJSON(map[string]any{"repository": repo, "tags": tags})
	}
	if hidden > 0 {
		f.IO.Logf("%d signature, attestation, SBOM or referrers tags not shown: --all lists them\n", hidden)
	}
	w := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
	if opts.All {
		fmt.Fprintln(w, "TAG\tDIGEST\tVERSION\tCREATED\tKIND")
	} else {
		fmt.Fprintln(w, "TAG\tDIGEST\tVERSION\tCREATED")
	}
	for _, t := range tags {
		v := t.Version
		if v == "" {
			v = "-"
		}
		c := t.Created
		if c == "" {
			c = "-"
		}
		if opts.All {
			k := t.Kind
			switch {
			case k != "":
			case t.Model:
				k = "model"
			default:
				k = "other"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", t.Tag, t.Digest, v, c, k)
			continue
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", t.Tag, t.Digest, v, c)
	}
	return w.Flush()
}
