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

A refusal exits 1 and names the rule that failed.`,
		Example: `  mlship verify ghcr.io/acme/iris:1.2.0 --key cosign.pub
  mlship verify ghcr.io/acme/iris:prod --key cosign.pub --attestation eval --attestation provenance --max-age 720h
  mlship verify ghcr.io/acme/iris@sha256:... \
      --certificate-identity https://github.com/acme/iris/.github/workflows/release.yml@refs/heads/main \
      --certificate-oidc-issuer https://token.actions.githubusercontent.com
  mlship verify ghcr.io/acme/iris@sha256:... --spec . --env prod`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ref = args[0]
			return runOr(cmd, opts, runF, runVerify)
		},
	}
	opts.Policy.Register(cmd.Flags())
	return cmd
}

func runVerify(ctx context.Context, opts *VerifyOptions) error {
	f := opts.F
	v, err := pipeline.Verify(ctx, f.Run(), pipeline.VerifyRequest{Ref: opts.Ref, Policy: opts.Policy.PolicyRequest})
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
