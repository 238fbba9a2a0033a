package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/sign"
)

// SignerFlags choose how sign and attest sign: a cosign key, or keyless
// in GitHub Actions.
type SignerFlags struct {
	Key           string
	IdentityToken string
	FulcioURL     string
	RekorURL      string
	TLogUpload    bool
	PlainHTTP     bool
}

func (s *SignerFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&s.Key, "key", "", "cosign private key: a file or env://VAR (password from COSIGN_PASSWORD); without it, keyless signing in GitHub Actions")
	fs.StringVar(&s.IdentityToken, "identity-token", "", "OIDC token for keyless signing (default: the Actions job's token, audience sigstore)")
	fs.StringVar(&s.FulcioURL, "fulcio-url", sign.DefaultFulcioURL, "Fulcio URL for keyless signing")
	fs.StringVar(&s.RekorURL, "rekor-url", sign.DefaultRekorURL, "Rekor URL (keyless signing, or --tlog-upload)")
	fs.BoolVar(&s.TLogUpload, "tlog-upload", false, "also record key-based signatures in Rekor (keyless ones always are)")
	fs.BoolVar(&s.PlainHTTP, "plain-http", false, "speak plain HTTP to a registry that is not on loopback")
}

// signer loads the key or runs the keyless flow.
func (s *SignerFlags) signer(ctx context.Context, f *Factory) (*sign.Signer, error) {
	if s.Key != "" {
		sv, err := sign.LoadPrivateKey(s.Key, []byte(f.IO.Getenv("COSIGN_PASSWORD")), f.IO.Getenv)
		if err != nil {
			return nil, err
		}
		var opts []sign.SignerOption
		if s.TLogUpload {
			opts = append(opts, sign.WithTLogUpload(s.RekorURL))
		}
		return sign.NewKeySigner(sv, s.Key, opts...)
	}
	tok := s.IdentityToken
	if tok == "" {
		if f.IO.Getenv("ACTIONS_ID_TOKEN_REQUEST_URL") == "" {
			return nil, errors.New("no signing identity: give --key FILE (or env://VAR), or run keyless inside GitHub Actions with `permissions: id-token: write`")
		}
		t, err := f.Actions.IDToken(ctx, sign.Audience)
		if err != nil {
			return nil, err
		}
		tok = t
	}
	f.Actions.Mask(tok)
	return sign.Keyless(ctx, tok, sign.WithFulcioURL(s.FulcioURL), sign.WithTLogUpload(s.RekorURL))
}

// registryOptions are the sign options that reach the registry the way
// the oci package does (Docker config, then GITHUB_TOKEN for ghcr.io).
func registryOptions(f *Factory, plainHTTP bool) []sign.Option {
	opts := []sign.Option{sign.WithRemoteOptions(remote.WithAuthFromKeychain(oci.DefaultKeychain(f.IO.Getenv)))}
	if plainHTTP {
		opts = append(opts, sign.WithNameOptions(name.Insecure))
	}
	return opts
}

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
COSIGN_PASSWORD. Without --key, inside GitHub Actions (permissions:
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
			if runF != nil {
				return runF(opts)
			}
			return runSign(cmd.Context(), opts)
		},
	}
	opts.Signer.register(cmd.Flags())
	return cmd
}

func runSign(ctx context.Context, opts *SignOptions) error {
	f := opts.F
	s, err := opts.Signer.signer(ctx, f)
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	res, err := sign.Sign(ctx, opts.Ref, s, registryOptions(f, opts.Signer.PlainHTTP)...)
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	return reportSigned(f, "Signed", res)
}

func reportSigned(f *Factory, verb string, res *sign.Result) error {
	for k, v := range map[string]string{"digest": res.Digest, "ref": res.Ref, "tag": res.Tag} {
		if err := f.Actions.SetOutput(k, v); err != nil {
			return err
		}
	}
	what := ""
	if res.PredicateType != "" {
		what = " (" + sign.ShortName(res.PredicateType) + ")"
	}
	if err := f.Actions.AddStepSummary(fmt.Sprintf("%s%s `%s` with %s → `%s`\n", verb, what, res.Ref, res.Signer, res.Tag)); err != nil {
		return err
	}
	if f.IO.JSON() {
		return f.IO.PrintJSON(res)
	}
	f.IO.Printf("%s%s %s\n  signer: %s\n  stored: %s\n", verb, what, res.Ref, res.Signer, res.Tag)
	if res.TLogIndex != nil {
		f.IO.Printf("  rekor log index: %d\n", *res.TLogIndex)
	}
	return nil
}
