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
only the digest is used) and signs that digest with a cosign simple-signing
payload. The signature goes where cosign looks for it: the tag
sha256-<hex>.sig in the same repository, which works on every registry,
GHCR included. ` + "`cosign verify`" + ` accepts it.

With --key, the key is a cosign.key file or env://VAR, decrypted with
` + gha.VarCosignPassword + `. Without --key, inside GitHub Actions (permissions:
id-token: write), signing is keyless: the job's OIDC token buys a
short-lived Fulcio certificate for an ephemeral key, and the signature is
recorded in Rekor.`,
		Example: `  COSIGN_PASSWORD=... mlship sign ghcr.io/acme/iris:1.2.0 --key cosign.key
  mlship sign ghcr.io/acme/iris@sha256:... --key env://COSIGN_KEY
  # in a workflow with id-token: write
  mlship sign ghcr.io/acme/iris@sha256:...`,
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
		return &ExitError{Code: 1, Err: err}
	}
	return printSigned(opts.F, "Signed", res)
}

// printSigned prints a signature or attestation.
func printSigned(f *Factory, verb string, res *sign.Result) error {
	if f.IO.JSON() {
		return f.IO.PrintJSON(res)
	}
	pipeline.WriteSignedText(f.IO.Out, verb, res)
	return nil
}
