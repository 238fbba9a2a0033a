package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/pipeline"
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
			opts.Repo = argOr(args, 0, "")
			return runOr(cmd, opts, runF, runLs)
		},
	}
	opts.Registry.register(cmd.Flags())
	cmd.Flags().BoolVar(&opts.All, "all", false, "also list signature, attestation, SBOM and referrers tags")
	return cmd
}

func runLs(ctx context.Context, opts *LsOptions) error {
	f := opts.F
	res, err := pipeline.List(ctx, f.Run(), pipeline.ListRequest{Repo: opts.Repo, Repository: opts.Registry.Repository, All: opts.All, Registry: opts.Registry.options(f)})
	if err != nil {
		return exitCode(err)
	}
	if f.IO.JSON() {
		return f.IO.PrintJSON(res)
	}
	f.IO.Logf("%s", res.HiddenNote())
	return res.WriteText(f.IO.Out)
}
