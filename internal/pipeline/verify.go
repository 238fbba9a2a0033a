package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mlship/mlship/internal/attest"
	"github.com/mlship/mlship/internal/sign"
	"github.com/mlship/mlship/internal/spec"
)

// PolicyRequest says what a verification must hold: who may sign (keys or
// keyless identities), which attestations, tlog and age rules, and
// optionally the spec (SpecDir) and one of its environments (Env).
type PolicyRequest struct {
	Keys               []string
	Identity           string
	IdentityRegexp     string
	Issuer             string
	IssuerRegexp       string
	Attestations       []string
	TLog               bool
	InsecureIgnoreTLog bool
	InsecureIgnoreSCT  bool
	MaxAge             time.Duration
	SpecDir            string
	Env                string
}

// HasSigners reports whether the request names who may sign.
func (p PolicyRequest) HasSigners() bool {
	return len(p.Keys) > 0 || p.Identity != "" || p.IdentityRegexp != "" || p.Issuer != "" || p.IssuerRegexp != ""
}

// Policy assembles the policy. With SpecDir the spec says what must hold
// (signing.tlog, signing.maxAge, and with Env that environment's
// attestations and gates); Keys and the identity fields replace only who
// may sign, Attestations add rules, and TLog/InsecureIgnoreTLog and MaxAge
// override. Anything that cannot be built is an error: no combination
// falls back to a narrower policy.
func Policy(ctx context.Context, r *Run, p PolicyRequest) (*sign.Policy, error) {
	if p.Env != "" && p.SpecDir == "" {
		return nil, errors.New("--env needs --spec DIR")
	}
	if p.TLog && p.InsecureIgnoreTLog {
		return nil, errors.New("--tlog and --insecure-ignore-tlog contradict each other")
	}
	pol, err := specPolicy(ctx, r, p)
	if err != nil {
		return nil, err
	}
	if err := applyPolicyFlags(r, pol, p); err != nil {
		return nil, err
	}
	trust, err := sign.TrustFromEnv(r.Env.Lookup)
	if err != nil {
		return nil, err
	}
	pol.Trust = trust
	return pol, pol.Validate()
}

// specPolicy is the spec's part of the policy (empty without SpecDir): its
// rules always, its signers only when the request names none.
func specPolicy(ctx context.Context, r *Run, p PolicyRequest) (*sign.Policy, error) {
	if p.SpecDir == "" {
		return &sign.Policy{}, nil
	}
	m, err := spec.Load(ctx, p.SpecDir)
	if err != nil {
		return nil, fmt.Errorf("--spec %s: %w", p.SpecDir, err)
	}
	pol, err := sign.SpecRules(m, p.Env)
	if err != nil {
		return nil, fmt.Errorf("policy from the spec in %s: %w", p.SpecDir, err)
	}
	if p.HasSigners() {
		return pol, nil
	}
	if pol.Keys, pol.Identities, err = sign.SpecSigners(m, r.Env.Lookup); err != nil {
		return nil, fmt.Errorf("policy from the spec in %s: %w", p.SpecDir, err)
	}
	return pol, nil
}

// applyPolicyFlags puts the request's signers, rules and overrides on pol.
func applyPolicyFlags(r *Run, pol *sign.Policy, p PolicyRequest) error {
	if p.HasSigners() {
		pol.Keys, pol.Identities = nil, nil
	}
	for _, k := range p.Keys {
		pk, err := sign.LoadPublicKey(k, r.Env.Lookup)
		if err != nil {
			return fmt.Errorf("--key: %w", err)
		}
		pol.Keys = append(pol.Keys, pk)
	}
	if p.Identity != "" || p.IdentityRegexp != "" || p.Issuer != "" || p.IssuerRegexp != "" {
		pol.Identities = append(pol.Identities, sign.Identity{Subject: p.Identity, SubjectRegexp: p.IdentityRegexp, Issuer: p.Issuer, IssuerRegexp: p.IssuerRegexp})
	}
	for _, a := range p.Attestations {
		pol.Attestations = append(pol.Attestations, sign.NewAttestationRule(a))
	}
	switch {
	case p.TLog:
		pol.RequireTLog = true
	case p.InsecureIgnoreTLog:
		pol.RequireTLog = false
	}
	if p.InsecureIgnoreSCT {
		pol.IgnoreSCT = true
	}
	if p.MaxAge != 0 {
		pol.MaxAge = p.MaxAge
	}
	return nil
}

// VerifyRequest is `mlship verify`.
type VerifyRequest struct {
	Ref    string
	Policy PolicyRequest
}

// Verify checks req.Ref against the policy and records the verdict as step
// outputs and in the job summary. A policy that cannot be built is a
// UsageError; a refusal names the rule that failed.
func Verify(ctx context.Context, r *Run, req VerifyRequest) (*sign.Verified, error) {
	pol, err := Policy(ctx, r, req.Policy)
	if err != nil {
		return nil, usage(err)
	}
	v, err := sign.Verify(ctx, req.Ref, pol, SignOptions(ctx, r, false)...)
	if err != nil {
		_ = r.Actions.SetOutput("verified", "false")
		_ = r.Summary(fmt.Sprintf("❌ `%s`: %v\n", req.Ref, err))
		return nil, err
	}
	for k, val := range map[string]string{"verified": "true", "digest": v.Digest, "ref": v.Ref} {
		if err := r.Actions.SetOutput(k, val); err != nil {
			return nil, err
		}
	}
	n := len(v.Attestations)
	plural := "s"
	if n == 1 {
		plural = ""
	}
	return v, r.Summary(fmt.Sprintf("✅ verified `%s` (signed by %s; %d attestation%s)\n", v.Ref, v.Signatures[0].Signer, n, plural))
}

// VerifiedLines say what was verified, one line per signature, attestation
// and gate: who signed (key name and fingerprint, or certificate identity
// and issuer), when, and with which values.
func VerifiedLines(v *sign.Verified) []string {
	var lines []string
	for _, s := range v.Signatures {
		when := "no signing time"
		if !s.SignedAt.IsZero() {
			when = "signed " + s.SignedAt.Format(time.RFC3339)
		}
		tl := "no tlog entry"
		if s.TLog {
			tl = "rekor entry verified"
		}
		lines = append(lines, fmt.Sprintf("signature: %s (%s, %s)", signerName(s.Signer, s.Issuer, s.KeyFingerprint), when, tl))
	}
	for _, a := range v.Attestations {
		extra := ""
		if a.Passed != nil {
			extra = ", gate passed"
		}
		lines = append(lines, fmt.Sprintf("attestation: %s by %s%s", attest.ShortName(a.PredicateType), signerName(a.Signer, a.Issuer, a.KeyFingerprint), extra))
		for _, g := range a.Gates {
			lines = append(lines, "  gate: "+g.String())
		}
	}
	return lines
}

func signerName(signer, issuer, fingerprint string) string {
	switch {
	case fingerprint != "":
		return signer + " [" + fingerprint + "]"
	case issuer != "":
		return signer + " [issuer " + issuer + "]"
	}
	return signer
}
