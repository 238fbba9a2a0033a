package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/oci/progress"
	"github.com/mlship/mlship/internal/sign"
)

// PullRequest is `mlship pull`: the model Ref into Dir.
type PullRequest struct {
	Ref string
	Dir string
	// Repository overrides the repository of Ref.
	Repository string
	// Registry are per-call registry options (parallelism, progress, and
	// any a caller adds).
	Registry     []oci.Option
	Filter       []string
	AllowUnknown bool
	Force        bool
	// Verify checks the signature (and the attestations Policy asks for)
	// before anything is downloaded; Policy says who may sign.
	Verify bool
	Policy PolicyRequest
}

// PullResult is what was pulled; `mlship pull --output json` prints it.
type PullResult struct {
	Digest      string            `json:"digest"`
	Ref         string            `json:"ref"`
	Dir         string            `json:"dir"`
	Files       []string          `json:"files"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Verification is what Verify established before the download:
	// signatures (signer, issuer or key fingerprint), attestations and
	// the gates checked with their values. Absent without Verify.
	Verification *sign.Verified `json:"verification,omitempty"`
}

// Pull fetches the model into Dir (verifying it first with Verify), then
// sets the step outputs (digest, ref, dir) and, in Actions, the job
// summary. Signer flags without Verify are a UsageError: they say how to
// verify, and silently pulling unverified would ignore them.
func Pull(ctx context.Context, r *Run, req PullRequest) (*PullResult, error) {
	var roles []oci.Role
	for _, s := range req.Filter {
		role, err := oci.ParseRole(s)
		if err != nil {
			return nil, usage(fmt.Errorf("--filter: %w", err))
		}
		roles = append(roles, role)
	}
	ref := ApplyRepository(req.Ref, req.Repository)
	ropts := append(append([]oci.Option(nil), req.Registry...), oci.WithRoles(roles...), oci.WithAllowUnknown(req.AllowUnknown), oci.WithForce(req.Force))
	var verified *sign.Verified
	p := req.Policy
	switch {
	case req.Verify:
		pol, err := Policy(ctx, r, p)
		if err != nil {
			return nil, fmt.Errorf("--verify: %w", err)
		}
		sopts := SignOptions(ctx, r, false)
		ropts = append(ropts, oci.WithVerifier(func(ctx context.Context, d name.Digest) error {
			v, err := sign.Verify(ctx, d.String(), pol, sopts...)
			if err == nil {
				err = CheckPromotionSigners(r, v, p)
			}
			verified = v
			return err
		}))
	case p.SaysHowToVerify():
		return nil, usage(errors.New("--key, --certificate-identity, --spec, --attestation and --promoted-to say how to verify: add --verify to verify before pulling"))
	}
	res, err := registry(r, false).Pull(ctx, ref, req.Dir, ropts...)
	if err != nil {
		return nil, err
	}
	for _, o := range []struct{ k, v string }{{"digest", res.Digest}, {"ref", res.Ref}, {"dir", res.Dir}} {
		if err := r.Actions.SetOutput(o.k, o.v); err != nil {
			return nil, err
		}
	}
	if r.Actions.Active() {
		_ = r.Summary(fmt.Sprintf("Pulled `%s` into `%s` (%d files, %s)\n", res.Ref, req.Dir, len(res.Files), progress.Bytes(res.Size)))
	}
	return &PullResult{Digest: res.Digest, Ref: res.Ref, Dir: res.Dir, Files: res.Files, Size: res.Size, Annotations: res.Annotations, Verification: verified}, nil
}
