package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mlship/mlship/internal/attest"
	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/sign"
)

// SignerRequest says how to sign: a cosign key, or keyless inside Actions.
type SignerRequest struct {
	// Key is a cosign private key file or env://VAR; its password is the
	// run context's cosign password.
	Key string
	// IdentityToken is the OIDC token for keyless signing; default: the
	// Actions job's token (audience sigstore).
	IdentityToken string
	FulcioURL     string
	RekorURL      string
	// TLogUpload also records key-based signatures in Rekor.
	TLogUpload bool
	// TimestampServerURL is an RFC 3161 timestamp authority that
	// countersigns each bundle (keyed or keyless).
	TimestampServerURL string
	// Format is what to write: bundle, legacy or both ("": both).
	Format string
	// GitHubAttestation also stores each bundle with GitHub's artifact
	// attestations API (POST /repos/{owner}/{repo}/attestations) of
	// GitHubRepository (default: the run's repository).
	GitHubAttestation bool
	GitHubRepository  string
}

// Check refuses a request that cannot be honoured, before anything is
// signed.
func (req SignerRequest) Check() error {
	f, err := sign.ParseFormat(req.Format)
	if err != nil {
		return usage(err)
	}
	if req.GitHubAttestation && f == sign.FormatLegacy {
		return usage(errors.New("--github-attestation stores Sigstore bundles: it needs --format bundle or both, not legacy"))
	}
	return nil
}

// Signer loads the key or runs the keyless flow. Without a key and outside
// an Actions job that may request an OIDC token, it refuses: there is no
// identity to sign with.
func Signer(ctx context.Context, r *Run, req SignerRequest) (*sign.Signer, error) {
	if req.Key != "" {
		sv, err := sign.LoadPrivateKey(req.Key, []byte(r.Env.CosignPassword), r.Env.Lookup)
		if err != nil {
			return nil, err
		}
		var opts []sign.SignerOption
		if req.TimestampServerURL != "" {
			opts = append(opts, sign.WithTimestampServer(req.TimestampServerURL))
		}
		if req.TLogUpload {
			opts = append(opts, sign.WithTLogUpload(req.RekorURL))
		}
		return sign.NewKeySigner(sv, req.Key, opts...)
	}
	tok := req.IdentityToken
	if tok == "" {
		if r.Env.IDTokenURL == "" {
			return nil, errors.New("no signing identity: give --key FILE (or env://VAR), or run keyless inside GitHub Actions with `permissions: id-token: write`")
		}
		t, err := r.Actions.IDToken(ctx, sign.Audience)
		if err != nil {
			return nil, err
		}
		tok = t
	}
	r.Actions.Mask(tok)
	opts := []sign.SignerOption{sign.WithFulcioURL(req.FulcioURL), sign.WithTLogUpload(req.RekorURL)}
	if req.TimestampServerURL != "" {
		opts = append(opts, sign.WithTimestampServer(req.TimestampServerURL))
	}
	return sign.Keyless(ctx, tok, opts...)
}

// registry is the run's registry client, speaking plain HTTP to a
// non-loopback registry when plainHTTP (a flag or the spec) asks for it.
func registry(r *Run, plainHTTP bool) *oci.Client {
	var c *oci.Client
	if r.Registry != nil {
		c, _ = r.Registry()
	}
	if c == nil {
		kc := oci.DefaultKeychain(oci.GitHubToken{Token: r.Env.Token, Actor: r.Env.Actor, InActions: r.Env.Actions})
		c = oci.NewClient(oci.WithKeychain(kc))
	}
	if plainHTTP {
		c = c.With(oci.WithPlainHTTP(true))
	}
	return c
}

// SignOptions are the sign options that reach the registry through the
// run's registry client (cosign's ociremote speaks to it itself).
func SignOptions(ctx context.Context, r *Run, plainHTTP bool) []sign.Option {
	return []sign.Option{sign.WithClient(registry(r, plainHTTP))}
}

// SignRequest is `mlship sign`: sign the digest Ref resolves to.
type SignRequest struct {
	Ref    string
	Signer SignerRequest
}

// Sign signs the manifest digest req.Ref resolves to, as cosign does, and
// records the digest, ref and signature tag as step outputs and in the
// job summary.
func Sign(ctx context.Context, r *Run, req SignRequest) (*sign.Result, error) {
	if err := req.Signer.checkRun(r); err != nil {
		return nil, err
	}
	s, err := Signer(ctx, r, req.Signer)
	if err != nil {
		return nil, err
	}
	return signWith(ctx, r, req.Ref, s, req.Signer)
}

// SignWith signs ref with a signer the caller already has (the demo's
// in-memory key) and records it as Sign does, in the default format.
func SignWith(ctx context.Context, r *Run, ref string, s *sign.Signer) (*sign.Result, error) {
	return signWith(ctx, r, ref, s, SignerRequest{})
}

func signWith(ctx context.Context, r *Run, ref string, s *sign.Signer, req SignerRequest) (*sign.Result, error) {
	f, _ := sign.ParseFormat(req.Format)
	res, err := sign.Sign(ctx, ref, s, append(SignOptions(ctx, r, false), sign.WithFormat(f))...)
	if err != nil {
		return nil, err
	}
	if err := storeOnGitHub(ctx, r, req, res); err != nil {
		return res, err
	}
	return res, recordSigned(r, "Signed", res)
}

// githubTarget is the OWNER/REPO --github-attestation stores into.
func githubTarget(r *Run, req SignerRequest) (owner, repo string, err error) {
	ownerRepo := req.GitHubRepository
	if ownerRepo == "" {
		ownerRepo = r.Env.Repository
	}
	owner, repo, ok := strings.Cut(ownerRepo, "/")
	if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
		return "", "", usage(fmt.Errorf("--github-attestation: which repository? give --github-repository OWNER/REPO (or run in Actions): got %q", ownerRepo))
	}
	return owner, repo, nil
}

// checkRun is SignerRequest.Check plus what needs the run context, before
// anything is signed.
func (req SignerRequest) checkRun(r *Run) error {
	if err := req.Check(); err != nil {
		return err
	}
	if req.GitHubAttestation {
		if _, _, err := githubTarget(r, req); err != nil {
			return err
		}
	}
	return nil
}

// storeOnGitHub stores each bundle res holds with GitHub's artifact
// attestations API when req asks for it, so `gh attestation verify
// oci://REF --owner OWNER` finds them. The bundles are already in the
// registry: a failure here is reported as such.
func storeOnGitHub(ctx context.Context, r *Run, req SignerRequest, res *sign.Result) error {
	if !req.GitHubAttestation {
		return nil
	}
	owner, repo, err := githubTarget(r, req)
	if err != nil {
		return err
	}
	if len(res.Bundles) == 0 {
		return errors.New("--github-attestation: no Sigstore bundle was written (format legacy)")
	}
	c, err := r.GitHubClient(ctx)
	if err != nil {
		return fmt.Errorf("--github-attestation: %w", err)
	}
	for _, b := range res.Bundles {
		id, err := c.CreateAttestation(ctx, owner, repo, b)
		if err != nil {
			return fmt.Errorf("signed %s (in the registry), but storing the bundle on GitHub %s/%s failed: %w", res.Ref, owner, repo, err)
		}
		res.GitHubAttestations = append(res.GitHubAttestations, id)
	}
	return nil
}

// recordSigned writes a signature's or attestation's step outputs and its
// job summary line.
func recordSigned(r *Run, verb string, res *sign.Result) error {
	for k, v := range map[string]string{"digest": res.Digest, "ref": res.Ref, "tag": res.Tag, "referrers": strings.Join(res.Referrers, " ")} {
		if err := r.Actions.SetOutput(k, v); err != nil {
			return err
		}
	}
	where := strings.Join(append(res.Referrers, res.Tag), "`, `")
	if res.Tag == "" {
		where = strings.Join(res.Referrers, "`, `")
	}
	return r.Summary(fmt.Sprintf("%s%s `%s` with %s → `%s`\n", verb, SignedWhat(res), res.Ref, res.Signer, where))
}

// SignedWhat names an attestation's predicate (" (eval)"), "" for a
// signature.
func SignedWhat(res *sign.Result) string {
	if res.PredicateType == "" {
		return ""
	}
	return " (" + attest.ShortName(res.PredicateType) + ")"
}
