package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/pipeline"
	"github.com/mlship/mlship/internal/sign"
)

// HistoryOptions are the inputs of `mlship history`.
type HistoryOptions struct {
	F        *Factory
	Registry RegistryFlags
	pipeline.HistoryRequest
}

// NewCmdHistory builds `mlship history [SPEC_DIR] --environment ENV`.
func NewCmdHistory(f *Factory, runF func(*HistoryOptions) error) *cobra.Command {
	opts := &HistoryOptions{F: f}
	cmd := &cobra.Command{
		Use:   "history [SPEC_DIR] --environment ENV",
		Short: "Show the promotions of an environment over time, from every source",
		Long: `History lists the promotions of ENV, newest first — when, digest, version,
pull request, approvers, rules, commit — from three sources, each named on
every entry:

  git               the environments file along the main branch's
                    first-parent history (the desired state, as merged)
  promotion-record  the signed promotion records attached to the digests
                    ENV ran, verified when a signer is known (--key, a
                    keyless identity, or the spec's signing section)
  deployment        the GitHub deployments of ENV (needs GITHUB_TOKEN and
                    GITHUB_REPOSITORY)

A source that cannot be read says why instead of being left out. The JSON
contract is in docs/registry.md.`,
		Example: `  mlship history --environment prod
  mlship history --environment prod --key cosign.pub
  mlship history examples/iris --environment staging --output json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.SpecDir = argOr(args, 0, ".")
			return runOr(cmd, opts, runF, runHistory)
		},
	}
	opts.Registry.register(cmd.Flags())
	fl := cmd.Flags()
	fl.StringVar(&opts.Environment, "environment", "", "the environment (required)")
	fl.StringVar(&opts.MainBranch, "main-branch", "main", "the branch that holds the desired state")
	fl.StringArrayVar(&opts.Policy.Keys, "key", nil, "trusted cosign public key (file or env://VAR) that verifies the promotion records (repeatable; default: the spec's signing section)")
	fl.StringVar(&opts.Policy.Identity, "certificate-identity", "", "keyless signer identity that verifies the promotion records")
	fl.StringVar(&opts.Policy.IdentityRegexp, "certificate-identity-regexp", "", "keyless signer identity regexp")
	fl.StringVar(&opts.Policy.Issuer, "certificate-oidc-issuer", "", "keyless OIDC issuer ("+sign.GitHubIssuer+" for Actions)")
	fl.StringVar(&opts.Policy.IssuerRegexp, "certificate-oidc-issuer-regexp", "", "keyless OIDC issuer regexp")
	fl.StringSliceVar(&opts.Policy.PromotionKeys, "promotion-key", nil, "only promotion records signed by this key are verified (repeatable); --key then verifies the artifacts' signature")
	fl.StringVar(&opts.Policy.PromotionIdentity, "promotion-identity", "", "only promotion records signed keyless by this identity are verified")
	fl.StringVar(&opts.Policy.PromotionIssuer, "promotion-oidc-issuer", "", "issuer of --promotion-identity (default "+sign.GitHubIssuer+")")
	return cmd
}

func runHistory(ctx context.Context, opts *HistoryOptions) error {
	f := opts.F
	req := opts.HistoryRequest
	req.Repository, req.Registry = opts.Registry.Repository, opts.Registry.options(f)
	res, err := pipeline.History(ctx, f.Run(), req)
	if err != nil {
		return exitCode(err)
	}
	return showText(f, res, res.WriteText)
}
