package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/pipeline"
	"github.com/mlship/mlship/internal/sign"
)

// SignOptions are the inputs of `mlship sign`.
type SignOptions struct {
	F      *Factory
	Ref    string
	Signer SignerFlags
}

// NewCmdSign builds `mlship sign`.
func NewCmdSign(f *Factory, runF func(*SignOptions) error) *cobra.Command {
	opts := &SignOptions{F: f}
	cmd := &cobra.Command{
		Use:   "sign REF",
		Short: "Sign a model artifact the way cosign does",
		Long: `Sign resolves REF to its manifest digest (a tag is resolved once, then
only the digest is used) and signs that digest. By default (--format both)
it writes both storage formats cosign reads:
  bundle  a Sigstore bundle (v0.3) holding a DSSE-signed in-toto statement
          (predicate https://sigstore.dev/cosign/sign/v1), pushed as an OCI
          1.1 referrer of the digest: listed by the referrers API where the
          registry has one, else in the referrers tag schema (sha256-<hex>),
          as cosign 3 does;
  legacy  a simple-signing payload under the tag sha256-<hex>.sig, as
          cosign 2 does.
` + "`cosign verify`" + ` (2.6 and 3) accepts it; docs/signing.md says why both.
With --github-attestation the bundle is also stored with GitHub's artifact
attestations API (` + "`gh attestation verify oci://REF --owner OWNER`" + `).

With --key, the key is a cosign.key file or env://VAR, decrypted with
` + gha.VarCosignPassword + `. Without --key, inside GitHub Actions (permissions:
id-token: write), signing is keyless: the job's OIDC token buys a
short-lived Fulcio certificate for an ephemeral key, and the signature is
recorded in Rekor; --timestamp-server-url adds an RFC 3161 timestamp to
each bundle.`,
		Example: `  COSIGN_PASSWORD=... mlship sign ghcr.io/acme/iris:1.2.0 --key cosign.key
  mlship sign ghcr.io/acme/iris@sha256:... --key env://COSIGN_KEY --format bundle
  # in a workflow with id-token: write
  mlship sign ghcr.io/acme/iris@sha256:... --github-attestation \
      --timestamp-server-url https://timestamp.sigstore.dev/api/v1/timestamp`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ref = args[0]
			return runOr(cmd, opts, runF, runSign)
		},
	}
	opts.Signer.register(cmd.Flags())
	return cmd
}

func runSign(ctx context.Context, opts *SignOptions) error {
	res, err := pipeline.Sign(ctx, opts.F.Run(), pipeline.SignRequest{Ref: opts.Ref, Signer: opts.Signer.SignerRequest})
	if err != nil {
		return exitCode(err)
	}
	return printSigned(opts.F, "Signed", res)
}

// printSigned prints a signature or attestation: where each format
// stored it, the log index, the GitHub attestation ids.
func printSigned(f *Factory, verb string, res *sign.Result) error {
	if f.IO.JSON() {
		return f.IO.PrintJSON(res)
	}
	pipeline.WriteSignedText(f.IO.Out, verb, res)
	return nil
}
