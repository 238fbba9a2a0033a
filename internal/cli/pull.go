package cli

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/oci/progress"
	"github.com/mlship/mlship/internal/pipeline"
	"github.com/mlship/mlship/internal/sign"
)

// PullOptions are the inputs of `mlship pull`.
// The request's Repository, Registry and Policy come from the flags.
type PullOptions struct {
	F        *Factory
	Registry RegistryFlags
	Policy   PolicyFlags
	pipeline.PullRequest
}

// NewCmdPull builds `mlship pull`.
func NewCmdPull(f *Factory, runF func(*PullOptions) error) *cobra.Command {
	opts := &PullOptions{F: f}
	cmd := &cobra.Command{
		Use:   "pull REF DIR",
		Short: "Pull a ModelPack model into a directory, verifying every digest",
		Long: `Pull fetches the model REF (HOST/REPO:TAG, HOST/REPO@DIGEST or
oci:PATH[:TAG|@DIGEST]) into DIR. Layers download in parallel and every
digest is verified while the bytes stream; files land at their
org.cncf.model.filepath under DIR. The model is assembled in a temporary
directory beside DIR and renamed into place only when all of it verified.

Refused, leaving DIR as it was: digest mismatches, absolute paths, paths
with '..', symlinks or hardlinks escaping DIR, devices, and media types
that are not ModelPack's (unless --allow-unknown). A non-empty DIR is
refused unless --force.

With --verify, the resolved digest is verified first — the signature by
--key (or the keyless --certificate-identity/--certificate-oidc-issuer),
and the attestations --attestation or the spec's environment (--spec,
--env) require, and with --promoted-to ENV a signed promotion record for
ENV attached to exactly that digest — and nothing is downloaded when
verification fails.`,
		Example: `  mlship pull ghcr.io/acme/iris:prod ./model
  mlship pull localhost:5000/acme/llama@sha256:4f1c... ./llama --filter weight,weight-config
  mlship pull oci:build/iris:1.0.0 ./iris --output json

  # verify the signature first (as cosign verify --key would), then pull
  mlship pull ghcr.io/acme/iris:prod ./model --verify --key cosign.pub
  mlship pull ghcr.io/acme/iris:prod ./model --verify --spec . --env prod
  mlship pull ghcr.io/acme/iris:prod ./model --verify --key cosign.pub --promoted-to prod`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ref, opts.Dir = args[0], args[1]
			return runOr(cmd, opts, runF, runPull)
		},
	}
	opts.Registry.register(cmd.Flags())
	cmd.Flags().StringSliceVar(&opts.Filter, "filter", nil, "only these roles: weight, weight-config, code, dataset, doc (comma-separated)")
	cmd.Flags().BoolVar(&opts.AllowUnknown, "allow-unknown", false, "accept artifacts and layers of unknown media types")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "replace DIR if it is not empty")
	cmd.Flags().BoolVar(&opts.Verify, "verify", false, "verify the signature and required attestations before pulling")
	opts.Policy.Register(cmd.Flags())
	cmd.Flags().StringVar(&opts.Policy.PromotedTo, "promoted-to", "", "with --verify: require a signed promotion record for this environment attached to exactly the digest")
	cmd.Flags().StringSliceVar(&opts.Policy.PromotionKeys, "promotion-key", nil, "only promotion records signed by this key count (repeatable; a key pull-request workflows do not hold); --key still verifies the signature")
	cmd.Flags().StringVar(&opts.Policy.PromotionIdentity, "promotion-identity", "", "only promotion records signed keyless by this identity count, e.g. https://github.com/OWNER/REPO/.github/workflows/main.yml@refs/heads/main")
	cmd.Flags().StringVar(&opts.Policy.PromotionIssuer, "promotion-oidc-issuer", "", "issuer of --promotion-identity (default "+sign.GitHubIssuer+")")
	return cmd
}

func runPull(ctx context.Context, opts *PullOptions) error {
	f := opts.F
	req := opts.PullRequest
	req.Repository, req.Registry, req.Policy = opts.Registry.Repository, opts.Registry.options(f), opts.Policy.PolicyRequest
	res, err := pipeline.Pull(ctx, f.Run(), req)
	if err != nil {
		return exitCode(err)
	}
	if f.IO.JSON() {
		return f.IO.PrintJSON(res)
	}
	if v := res.Verification; v != nil {
		pipeline.WriteVerifiedText(f.IO.ErrOut, "Verified "+v.Digest+" before pulling:", v)
	}
	f.IO.Logf("Pulled %s into %s: %s (%s)\n", res.Ref, opts.Dir, strings.Join(res.Files, ", "), progress.Bytes(res.Size))
	f.IO.Printf("%s\n", res.Digest)
	return nil
}
