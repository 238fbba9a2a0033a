package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/pipeline"
	"github.com/mlship/mlship/internal/sign"
)

// DiffOptions are the inputs of `mlship diff`.
type DiffOptions struct {
	F        *Factory
	Registry RegistryFlags
	pipeline.DiffRequest
}

// NewCmdDiff builds `mlship diff REF_A REF_B`.
func NewCmdDiff(f *Factory, runF func(*DiffOptions) error) *cobra.Command {
	opts := &DiffOptions{F: f}
	cmd := &cobra.Command{
		Use:   "diff REF_A REF_B",
		Short: "Compare two packaged models: files, metrics and lineage",
		Long: `Diff compares two artifacts without downloading their weights: the files
added, removed and changed (by digest and size, from the manifests), the
eval metrics of their eval attestations with B − A (and the paired
bootstrap confidence interval when both have per-example results: an
examples.jsonl layer, the spec's eval.examplesFile, or --examples-a and
--examples-b), and the lineage: training input digest, dataset digests,
code digest and commit, hyperparameters, seed, runner and builder (from
the manifest annotations, the model cards and the provenance attestations).
The metrics are verified, as ls --metrics does, when a signer is known
(--key, a keyless identity, or --spec with a signing section); otherwise
each side says "not verified".
The JSON contract is in docs/registry.md.`,
		Example: `  mlship diff ghcr.io/acme/iris:staging ghcr.io/acme/iris:prod
  mlship diff --repository ghcr.io/acme/iris 1.0.0 1.1.0 --spec . --output json`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.A, opts.B = args[0], args[1]
			return runOr(cmd, opts, runF, runDiff)
		},
	}
	opts.Registry.register(cmd.Flags())
	fl := cmd.Flags()
	fl.StringVar(&opts.SpecDir, "spec", "", "spec `DIR` whose metric directions and bootstrap settings apply")
	fl.StringVar(&opts.ExamplesA, "examples-a", "", "per-example results (JSON Lines) of REF_A")
	fl.StringVar(&opts.ExamplesB, "examples-b", "", "per-example results (JSON Lines) of REF_B")
	fl.StringArrayVar(&opts.Policy.Keys, "key", nil, "trusted cosign public key (file or env://VAR) that verifies the eval metrics (repeatable)")
	fl.StringVar(&opts.Policy.Identity, "certificate-identity", "", "keyless signer identity that verifies the eval metrics")
	fl.StringVar(&opts.Policy.IdentityRegexp, "certificate-identity-regexp", "", "keyless signer identity regexp")
	fl.StringVar(&opts.Policy.Issuer, "certificate-oidc-issuer", "", "keyless OIDC issuer ("+sign.GitHubIssuer+" for Actions)")
	fl.StringVar(&opts.Policy.IssuerRegexp, "certificate-oidc-issuer-regexp", "", "keyless OIDC issuer regexp")
	return cmd
}

func runDiff(ctx context.Context, opts *DiffOptions) error {
	f := opts.F
	req := opts.DiffRequest
	req.Repository, req.Registry = opts.Registry.Repository, opts.Registry.options(f)
	res, err := pipeline.Diff(ctx, f.Run(), req)
	if err != nil {
		return exitCode(err)
	}
	return showText(f, res, res.WriteText)
}
