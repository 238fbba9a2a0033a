package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/oci/progress"
	"github.com/mlship/mlship/internal/sign"
)

// PullOptions are the inputs of `mlship pull`.
type PullOptions struct {
	F            *Factory
	Ref          string
	Dir          string
	Registry     RegistryFlags
	Filter       []string
	AllowUnknown bool
	Force        bool
	// Verify checks the signature (and the attestations the policy asks
	// for) before anything is downloaded; Policy says who may sign.
	Verify bool
	Policy PolicyFlags
	// Extra are options added by callers (tests, other commands).
	Extra []oci.Option
}

// PullOutput is printed with --output json.
type PullOutput struct {
	Digest      string            `json:"digest"`
	Ref         string            `json:"ref"`
	Dir         string            `json:"dir"`
	Files       []string          `json:"files"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Verification is what --verify established before the download:
	// signatures (signer, issuer or key fingerprint), attestations and
	// the gates checked with their values. Absent without --verify.
	Verification *sign.Verified `json:"verification,omitempty"`
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
--env) require — and nothing is downloaded when verification fails.`,
		Example: `  mlship pull ghcr.io/acme/iris:prod ./model
  mlship pull localhost:5000/acme/llama@sha256:4f1c... ./llama --filter weight,weight-config
  mlship pull oci:build/iris:1.0.0 ./iris --output json

  # verify the signature first (as cosign verify --key would), then pull
  mlship pull ghcr.io/acme/iris:prod ./model --verify --key cosign.pub
  mlship pull ghcr.io/acme/iris:prod ./model --verify --spec . --env prod`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ref, opts.Dir = args[0], args[1]
			if runF != nil {
				return runF(opts)
			}
			return runPull(cmd.Context(), opts)
		},
	}
	opts.Registry.register(cmd.Flags())
	cmd.Flags().StringSliceVar(&opts.Filter, "filter", nil, "only these roles: weight, weight-config, code, dataset, doc (comma-separated)")
	cmd.Flags().BoolVar(&opts.AllowUnknown, "allow-unknown", false, "accept artifacts and layers of unknown media types")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "replace DIR if it is not empty")
	cmd.Flags().BoolVar(&opts.Verify, "verify", false, "verify the signature and required attestations before pulling")
	opts.Policy.Register(cmd.Flags())
	return cmd
}

func runPull(ctx context.Context, opts *PullOptions) error {
	f := opts.F
	var roles []oci.Role
	for _, r := range opts.Filter {
		role, err := oci.ParseRole(r)
		if err != nil {
			return &ExitError{Code: 2, Err: fmt.Errorf("--filter: %w", err)}
		}
		roles = append(roles, role)
	}
	ref := applyRepository(opts.Ref, opts.Registry.Repository)
	ropts := append(opts.Registry.options(f), oci.WithRoles(roles...), oci.WithAllowUnknown(opts.AllowUnknown), oci.WithForce(opts.Force))
	var verified *sign.Verified
	if opts.Verify {
		pol, err := opts.Policy.Policy(ctx, f)
		if err != nil {
			return &ExitError{Code: 1, Err: fmt.Errorf("--verify: %w", err)}
		}
		sopts := registryOptions(f, false)
		ropts = append(ropts, oci.WithVerifier(func(ctx context.Context, d name.Digest) error {
			v, err := sign.Verify(ctx, d.String(), pol, sopts...)
			verified = v
			return err
		}))
	} else if len(opts.Policy.Keys) > 0 || opts.Policy.Identity != "" || opts.Policy.IdentityRegexp != "" || opts.Policy.SpecDir != "" {
		return &ExitError{Code: 2, Err: errors.New("--key, --certificate-identity and --spec say how to verify: add --verify to verify before pulling")}
	}
	ropts = append(ropts, opts.Extra...)
	c, err := f.Registry()
	if err != nil {
		return err
	}
	res, err := c.Pull(ctx, ref, opts.Dir, ropts...)
	if err != nil {
		if errors.Is(err, oci.ErrRefused) {
			return &ExitError{Code: 1, Err: err}
		}
		return err
	}
	for k, v := range map[string]string{"digest": res.Digest, "ref": res.Ref, "dir": res.Dir} {
		if err := f.Actions.SetOutput(k, v); err != nil {
			return err
		}
	}
	if f.Actions.Active() {
		_ = f.Actions.AddStepSummary(fmt.Sprintf("Pulled `%s` into `%s` (%d files, %s)\n", res.Ref, opts.Dir, len(res.Files), progress.Bytes(res.Size)))
	}
	if f.IO.JSON() {
		return f.IO.PrintJSON(PullOutput{Digest: res.Digest, Ref: res.Ref, Dir: res.Dir, Files: res.Files, Size: res.Size, Annotations: res.Annotations, Verification: verified})
	}
	if verified != nil {
		f.IO.Logf("Verified %s before pulling:\n", verified.Digest)
		for _, line := range verifiedLines(verified) {
			f.IO.Logf("  %s\n", line)
		}
	}
	f.IO.Logf("Pulled %s into %s: %s (%s)\n", res.Ref, opts.Dir, strings.Join(res.Files, ", "), progress.Bytes(res.Size))
	f.IO.Printf("%s\n", res.Digest)
	return nil
}
