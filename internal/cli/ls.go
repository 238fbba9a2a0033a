package cli

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/sign"

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
	// Metrics lists versions with their eval metrics (Versions), in
	// Sort's order, at most Limit; Policy verifies them.
	Metrics bool
	Sort    string
	Limit   int
	Policy  pipeline.PolicyRequest
}

// NewCmdLs builds `mlship ls`.
func NewCmdLs(f *Factory, runF func(*LsOptions) error) *cobra.Command {
	opts := &LsOptions{F: f}
	cmd := &cobra.Command{
		Use:   "ls [REPO]",
		Short: "List the tags of a model repository, or its versions with their metrics",
		Long: `Ls lists the tags of REPO (HOST/REPO or oci:PATH; default --repository)
with the manifest digest each points at and the model version recorded in
its annotations.

The tags that hold proof about a model rather than a model — cosign's
sha256-<hex>.sig, .att and .sbom, and the referrers tag schema's
sha256-<hex> — are left out; --all lists them too, with their kind.

With --metrics, ls lists versions (one row per manifest digest) with their
tags, version, creation time, training input digest, the metrics of their
eval attestation, whether they are signed and the environments whose tags
point at them. It reads manifests and attestations only, never a model
layer. The metrics are verified when a policy names who may sign (--key,
a keyless identity, or --spec with a signing section); otherwise they are
shown as unverified. --sort orders by a metric in its direction (the
spec's, else the one the eval recorded; a metric nobody knows: highest
first), --limit keeps the first N. The JSON contract is in
docs/registry.md.`,
		Example: `  mlship ls ghcr.io/acme/iris
  mlship ls oci:build/iris --output json
  mlship ls ghcr.io/acme/iris --all
  mlship ls ghcr.io/acme/iris --metrics --sort accuracy --limit 5 --key cosign.pub
  mlship ls ghcr.io/acme/iris --metrics --spec . --sort log_loss --output json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Repo = argOr(args, 0, "")
			return runOr(cmd, opts, runF, runLs)
		},
	}
	opts.Registry.register(cmd.Flags())
	fl := cmd.Flags()
	fl.BoolVar(&opts.All, "all", false, "also list signature, attestation, SBOM and referrers tags")
	fl.BoolVar(&opts.Metrics, "metrics", false, "list versions with their eval metrics, signature state and environments")
	fl.StringVar(&opts.Sort, "sort", "", "with --metrics: order by this `METRIC` in its direction")
	fl.IntVar(&opts.Limit, "limit", 0, "with --metrics: show the first `N` versions (0: all)")
	fl.StringArrayVar(&opts.Policy.Keys, "key", nil, "with --metrics: trusted cosign public key (file or env://VAR) that verifies the metrics (repeatable)")
	fl.StringVar(&opts.Policy.Identity, "certificate-identity", "", "with --metrics: keyless signer identity that verifies the metrics")
	fl.StringVar(&opts.Policy.IdentityRegexp, "certificate-identity-regexp", "", "with --metrics: keyless signer identity regexp")
	fl.StringVar(&opts.Policy.Issuer, "certificate-oidc-issuer", "", "with --metrics: keyless OIDC issuer ("+sign.GitHubIssuer+" for Actions)")
	fl.StringVar(&opts.Policy.IssuerRegexp, "certificate-oidc-issuer-regexp", "", "with --metrics: keyless OIDC issuer regexp")
	fl.StringVar(&opts.Policy.SpecDir, "spec", "", "with --metrics: spec `DIR` whose metric directions, environments and signing policy apply")
	return cmd
}

func runLs(ctx context.Context, opts *LsOptions) error {
	f := opts.F
	if !opts.Metrics && (opts.Sort != "" || opts.Limit != 0 || opts.Policy.SpecDir != "" || opts.Policy.HasSigners()) {
		return &ExitError{Code: 2, Err: errors.New("--sort, --limit, --spec and the signer flags go with --metrics")}
	}
	if opts.Metrics {
		if opts.All {
			return &ExitError{Code: 2, Err: errors.New("--all lists tags; --metrics lists versions: give one")}
		}
		res, err := pipeline.Versions(ctx, f.Run(), pipeline.VersionsRequest{Repo: opts.Repo, Repository: opts.Registry.Repository, Sort: opts.Sort, Limit: opts.Limit, Policy: opts.Policy, Registry: opts.Registry.options(f)})
		if err != nil {
			return exitCode(err)
		}
		return showText(f, res, res.WriteText)
	}
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
