package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/pipeline"
)

// KeygenOptions are the inputs of `mlship keygen`.
type KeygenOptions struct {
	F *Factory
	// Prefix is the path prefix of the pair: PREFIX.key and PREFIX.pub.
	Prefix string
	Force  bool
}

// NewCmdKeygen builds `mlship keygen`.
func NewCmdKeygen(f *Factory, runF func(*KeygenOptions) error) *cobra.Command {
	opts := &KeygenOptions{F: f}
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Generate a cosign key pair (cosign.key, cosign.pub)",
		Long: `Keygen writes an ECDSA P-256 key pair in cosign's formats: cosign.key,
encrypted with the password in COSIGN_PASSWORD, and cosign.pub. cosign
and mlship sign/verify use either tool's pairs. Existing files are never
overwritten without --force.

Inside a git work tree, keygen refuses to write the private key where git
would track it (not ignored per git check-ignore): add it to .gitignore
(mlship init does), write it outside the repository, or keep it only in a
secret (--key env://COSIGN_PRIVATE_KEY). --force writes it anyway.

Store the key and the password as repository secrets; commit cosign.pub
next to the spec (signing: key: "cosign.pub").`,
		Example: `  COSIGN_PASSWORD=... mlship keygen
  COSIGN_PASSWORD=... mlship keygen --output-key-prefix keys/release`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runKeygen(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Prefix, "output-key-prefix", "cosign", "write PREFIX.key and PREFIX.pub")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "overwrite an existing key pair, and write the private key even where git would track it")
	return cmd
}

func runKeygen(ctx context.Context, opts *KeygenOptions) error {
	f := opts.F
	res, err := pipeline.Keygen(ctx, f.Run(), pipeline.KeygenRequest{Prefix: opts.Prefix, Force: opts.Force})
	if err != nil {
		return exitCode(err)
	}
	if f.IO.JSON() {
		return f.IO.PrintJSON(res)
	}
	f.IO.Printf("Private key written to %s\nPublic key written to %s\n", res.PrivateKey, res.PublicKey)
	return nil
}
