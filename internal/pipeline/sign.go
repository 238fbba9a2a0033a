package pipeline

import (
	"context"
	"errors"
	"fmt"

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
	return sign.Keyless(ctx, tok, sign.WithFulcioURL(req.FulcioURL), sign.WithTLogUpload(req.RekorURL))
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
	s, err := Signer(ctx, r, req.Signer)
	if err != nil {
		return nil, err
	}
	return SignWith(ctx, r, req.Ref, s)
}

// SignWith signs ref with a signer the caller already has (the demo's
// in-memory key) and records it as Sign does.
func SignWith(ctx context.Context, r *Run, ref string, s *sign.Signer) (*sign.Result, error) {
	res, err := sign.Sign(ctx, ref, s, SignOptions(ctx, r, false)...)
	if err != nil {
		return nil, err
	}
	return res, recordSigned(r, "Signed", res)
}

// recordSigned writes a signature's or attestation's step outputs and its
// job summary line.
func recordSigned(r *Run, verb string, res *sign.Result) error {
	for k, v := range map[string]string{"digest": res.Digest, "ref": res.Ref, "tag": res.Tag} {
		if err := r.Actions.SetOutput(k, v); err != nil {
			return err
		}
	}
	return r.Summary(fmt.Sprintf("%s%s `%s` with %s → `%s`\n", verb, SignedWhat(res), res.Ref, res.Signer, res.Tag))
}

// SignedWhat names an attestation's predicate (" (eval)"), "" for a
// signature.
func SignedWhat(res *sign.Result) string {
	if res.PredicateType == "" {
		return ""
	}
	return " (" + attest.ShortName(res.PredicateType) + ")"
}
