package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/pipeline"
	"github.com/mlship/mlship/internal/sign"
)

// VerifyOptions are the inputs of `mlship verify`.
type VerifyOptions struct {
	F      *Factory
	Ref    string
	Policy PolicyFlags
	// FromGitHub and GitHubRepository: see pipeline.VerifyRequest.
	FromGitHub       bool
	GitHubRepository string
}

// NewCmdVerify builds `mlship verify`.
func NewCmdVerify(f *Factory, runF func(*VerifyOptions) error) *cobra.Command {
	opts := &VerifyOptions{F: f}
	cmd := &cobra.Command{
		Use:   "verify REF",
		Short: "Verify a model artifact's signature and required attestations",
		Long: `Verify resolves REF to its manifest digest and checks, as cosign verify and
verify-attestation do, that a signature by an accepted signer covers
exactly that digest, and that every required attestation is attached,
signed by an accepted signer and about that digest (for eval: with a
passing gate, and the environment's gates when --spec/--env are given).

Key-based verification is offline by default: no transparency-log look-up
unless --tlog (or the spec's signing.tlog) asks for a Rekor entry, which is
then checked from the bundle attached to the signature. Keyless signatures
always need their Rekor entry. Trust for keyless and tlog checks comes from
the public Sigstore, or SIGSTORE_ROOT_FILE / SIGSTORE_REKOR_PUBLIC_KEY /
SIGSTORE_CT_LOG_PUBLIC_KEY_FILE as with cosign.

--promoted-to ENV also requires a promotion record for ENV (written by
mlship promote apply before it moved the tag), signed by an accepted
signer, attached to exactly that digest; a record for another environment,
about another digest or by another signer is refused. With --spec/--env,
an environment that lists "promotion" in its attestations requires its own.

--from-github: when the registry's signatures and attestations do not
satisfy the policy, read the digest's Sigstore bundles from GitHub's
artifact attestations (--github-repository OWNER/REPO, default the run's)
and verify again with them, exactly as strictly.

A refusal exits 1 and names the rule that failed.`,
		Example: `  mlship verify ghcr.io/acme/iris:1.2.0 --key cosign.pub
  mlship verify ghcr.io/acme/iris:prod --key cosign.pub --attestation eval --attestation provenance --max-age 720h
  mlship verify ghcr.io/acme/iris@sha256:... \
      --certificate-identity https://github.com/acme/iris/.github/workflows/release.yml@refs/heads/main \
      --certificate-oidc-issuer https://token.actions.githubusercontent.com
  mlship verify ghcr.io/acme/iris@sha256:... --spec . --env prod
  mlship verify ghcr.io/acme/iris@sha256:... --key cosign.pub --promoted-to prod
  mlship verify ghcr.io/acme/iris@sha256:... --key cosign.pub --from-github --github-repository acme/iris`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ref = args[0]
			return runOr(cmd, opts, runF, runVerify)
		},
	}
	opts.Policy.Register(cmd.Flags())
	cmd.Flags().StringVar(&opts.Policy.PromotedTo, "promoted-to", "", "require a signed promotion record for this environment attached to exactly the digest")
	cmd.Flags().StringSliceVar(&opts.Policy.PromotionKeys, "promotion-key", nil, "only promotion records signed by this key count (repeatable; a key pull-request workflows do not hold); --key still verifies the signature")
	cmd.Flags().StringVar(&opts.Policy.PromotionIdentity, "promotion-identity", "", "only promotion records signed keyless by this identity count, e.g. https://github.com/OWNER/REPO/.github/workflows/main.yml@refs/heads/main")
	cmd.Flags().StringVar(&opts.Policy.PromotionIssuer, "promotion-oidc-issuer", "", "issuer of --promotion-identity (default "+sign.GitHubIssuer+")")
	cmd.Flags().BoolVar(&opts.FromGitHub, "from-github", false, "when the registry's attestations do not satisfy the policy, also read the digest's bundles from GitHub's attestations API")
	cmd.Flags().StringVar(&opts.GitHubRepository, "github-repository", "", "OWNER/REPO whose attestations --from-github reads (default: the run's repository)")
	return cmd
}

func runVerify(ctx context.Context, opts *VerifyOptions) error {
	f := opts.F
	v, err := pipeline.Verify(ctx, f.Run(), pipeline.VerifyRequest{Ref: opts.Ref, Policy: opts.Policy.PolicyRequest, FromGitHub: opts.FromGitHub, GitHubRepository: opts.GitHubRepository})
	if err != nil {
		if f.IO.JSON() && !pipeline.IsUsage(err) {
			_ = f.IO.PrintJSON(map[string]any{"ref": opts.Ref, "verified": false, "error": err.Error()})
		}
		return exitCode(err)
	}
	if f.IO.JSON() {
		return f.IO.PrintJSON(struct {
			*sign.Verified
			OK bool `json:"verified"`
		}{v, true})
	}
	pipeline.WriteVerifiedText(f.IO.Out, "Verified "+v.Ref, v)
	return nil
}
