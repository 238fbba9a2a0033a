package pipeline

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/mlship/mlship/internal/attest"
	"github.com/mlship/mlship/internal/ghapi"
	"github.com/mlship/mlship/internal/report"
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
	// PromotedTo requires a signed promotion record for this environment,
	// by an accepted signer, attached to exactly the verified digest.
	PromotedTo string
	// PromotionKeys and PromotionIdentity (with PromotionIssuer) name the
	// only signers whose promotion records count (the candidates' signer,
	// which pull-request workflows hold, then signs the artifact only).
	PromotionKeys     []string
	PromotionIdentity string
	PromotionIssuer   string
}

// promotionSigners reports whether the request names who signs records.
func (p PolicyRequest) promotionSigners() bool {
	return len(p.PromotionKeys) > 0 || p.PromotionIdentity != ""
}

// HasSigners reports whether the request names who may sign.
func (p PolicyRequest) HasSigners() bool {
	return len(p.Keys) > 0 || p.Identity != "" || p.IdentityRegexp != "" || p.Issuer != "" || p.IssuerRegexp != ""
}

// SaysHowToVerify reports whether the request names anything to verify
// (signers, a spec, attestations, a promotion): pull refuses those
// without --verify rather than ignore them.
func (p PolicyRequest) SaysHowToVerify() bool {
	return p.HasSigners() || p.SpecDir != "" || len(p.Attestations) > 0 || p.PromotedTo != "" || p.promotionSigners()
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
	if err := checkEnvName(p.PromotedTo); err != nil {
		return nil, fmt.Errorf("--promoted-to: %w", err)
	}
	pol, err := specPolicy(ctx, r, p)
	if err != nil {
		return nil, err
	}
	if err := applyPolicyFlags(r, pol, p); err != nil {
		return nil, err
	}
	if err := addPromotionSigners(r, pol, p); err != nil {
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
	// "promotion" in environments.ENV.attestations: a record for ENV itself.
	for i, r := range pol.Attestations {
		if r.PredicateType == attest.PromotionType && r.Environment == "" {
			pol.Attestations[i] = sign.NewPromotionRule(p.Env)
		}
	}
	// signing.promotion: the only signer of promotion records, unless
	// --promotion-key / --promotion-identity name another. Loaded (and a
	// key that cannot be read refused) when records are required.
	if !p.promotionSigners() && (p.PromotedTo != "" || len(promotionEnvs(pol)) > 0) {
		if pol.PromotionKeys, pol.PromotionIdentities, err = sign.SpecPromotionSigners(m, r.Env.Lookup); err != nil {
			return nil, fmt.Errorf("policy from the spec in %s: %w", p.SpecDir, err)
		}
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
	if p.PromotedTo != "" {
		pol.Attestations = append(pol.Attestations, sign.NewPromotionRule(p.PromotedTo))
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

// addPromotionSigners accepts the promotion signers' signatures too (so
// their records verify at all); CheckPromotionSigners then refuses a
// record by anyone else.
func addPromotionSigners(r *Run, pol *sign.Policy, p PolicyRequest) error {
	if !p.promotionSigners() {
		return nil
	}
	if envs := promotionEnvs(pol); len(envs) != 1 {
		return fmt.Errorf("--promotion-key and --promotion-identity need exactly one environment whose record is required (--promoted-to ENV, or --spec with --env listing \"promotion\"), not %d", len(envs))
	}
	if len(pol.Keys) == 0 && len(pol.Identities) == 0 {
		return errors.New("--promotion-key and --promotion-identity name who signs promotion records only: give --key or a keyless identity for the artifact's signature too")
	}
	for _, k := range p.PromotionKeys {
		pk, err := sign.LoadPublicKey(k, r.Env.Lookup)
		if err != nil {
			return fmt.Errorf("--promotion-key: %w", err)
		}
		pol.Keys = append(pol.Keys, pk)
	}
	if p.PromotionIdentity != "" {
		pol.Identities = append(pol.Identities, sign.Identity{Subject: p.PromotionIdentity, Issuer: promotionIssuer(p)})
	}
	return nil
}

func promotionIssuer(p PolicyRequest) string {
	if p.PromotionIssuer != "" {
		return p.PromotionIssuer
	}
	return sign.GitHubIssuer
}

func promotionEnvs(pol *sign.Policy) map[string]bool {
	envs := map[string]bool{}
	for _, a := range pol.Attestations {
		if a.PredicateType == attest.PromotionType {
			envs[a.Environment] = true
		}
	}
	return envs
}

// CheckPromotionSigners refuses a verification whose promotion records
// were all signed by someone other than the request's promotion signers
// (nothing to check when it names none).
func CheckPromotionSigners(r *Run, v *sign.Verified, p PolicyRequest) error {
	if !p.promotionSigners() || v == nil {
		return nil
	}
	by, who, err := promotionSigner(r, p)
	if err != nil {
		return err
	}
	var others []string
	for _, a := range v.Attestations {
		if a.PredicateType != attest.PromotionType {
			continue
		}
		if by(a) {
			return nil
		}
		others = append(others, a.Signer)
	}
	env := p.PromotedTo
	if env == "" {
		env = p.Env
	}
	return &sign.Refusal{Ref: v.Ref, Rule: "no promotion record for " + env + " by the promotion signer",
		Detail: "records by " + strings.Join(others, ", ") + "; none by " + who}
}

// promotionSigner says whether a verified attestation was made by one of
// the request's promotion signers, and names them.
func promotionSigner(r *Run, p PolicyRequest) (func(sign.VerifiedAttestation) bool, string, error) {
	fps := map[string]bool{}
	var who []string
	for _, k := range p.PromotionKeys {
		pk, err := sign.LoadPublicKey(k, r.Env.Lookup)
		if err != nil {
			return nil, "", fmt.Errorf("--promotion-key: %w", err)
		}
		fps[pk.Fingerprint()] = true
		who = append(who, "key "+pk.Fingerprint())
	}
	iss := promotionIssuer(p)
	if p.PromotionIdentity != "" {
		who = append(who, p.PromotionIdentity+" (issuer "+iss+")")
	}
	return func(a sign.VerifiedAttestation) bool {
		if a.KeyFingerprint != "" {
			return fps[a.KeyFingerprint]
		}
		return p.PromotionIdentity != "" && a.Signer == p.PromotionIdentity && a.Issuer == iss
	}, strings.Join(who, " or "), nil
}

// envName is the schema's #Name (a DNS-1123 label), what an environment
// is called.
var envName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// checkEnvName refuses what cannot be an environment name.
func checkEnvName(env string) error {
	if env == "" || (len(env) <= 63 && envName.MatchString(env)) {
		return nil
	}
	return fmt.Errorf("%q is not an environment name (a DNS-1123 label: lower-case letters, digits and '-')", env)
}

// VerifyRequest is `mlship verify`.
type VerifyRequest struct {
	Ref    string
	Policy PolicyRequest
	// FromGitHub: when the registry's signatures and attestations do not
	// satisfy the policy, read the digest's Sigstore bundles from GitHub's
	// artifact attestations (GET /repos/{owner}/{repo}/attestations/
	// {subject_digest}) and verify again with them; they are verified
	// exactly like the registry's. GitHubRepository (owner/name) is where
	// to read them, default the run's repository.
	FromGitHub       bool
	GitHubRepository string
}

// Verify checks req.Ref against the policy and records the verdict as step
// outputs and in the job summary. A policy that cannot be built is a
// UsageError; a refusal names the rule that failed.
func Verify(ctx context.Context, r *Run, req VerifyRequest) (*sign.Verified, error) {
	pol, err := Policy(ctx, r, req.Policy)
	if err != nil {
		return nil, usage(err)
	}
	sopts := SignOptions(ctx, r, false)
	v, err := sign.Verify(ctx, req.Ref, pol, sopts...)
	var rf *sign.Refusal
	if err != nil && req.FromGitHub && errors.As(err, &rf) {
		v, err = verifyFromGitHub(ctx, r, req, pol, sopts, err)
	}
	if err == nil {
		err = CheckPromotionSigners(r, v, req.Policy)
	}
	if err != nil {
		_ = r.Actions.SetOutput("verified", "false")
		// The error carries what the registry said: text, not Markdown.
		_ = r.Summary(fmt.Sprintf("❌ `%s`: %s\n", report.EscapeCode(req.Ref), report.Escape(err.Error())))
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
	return v, r.Summary(fmt.Sprintf("✅ verified `%s` (signed by %s; %d attestation%s)\n", report.EscapeCode(v.Ref), report.Escape(v.Signatures[0].Signer), n, plural))
}

// verifyFromGitHub verifies again with the bundles GitHub holds for the
// digest; the registry's refusal stands when GitHub has none or cannot be
// read (the reason is added to it).
func verifyFromGitHub(ctx context.Context, r *Run, req VerifyRequest, pol *sign.Policy, sopts []sign.Option, refusal error) (*sign.Verified, error) {
	bundles, err := githubBundles(ctx, r, req, sopts)
	if err != nil {
		return nil, fmt.Errorf("%w; --from-github: %v", refusal, err)
	}
	if len(bundles) == 0 {
		return nil, fmt.Errorf("%w; --from-github: GitHub holds no attestations for it", refusal)
	}
	r.Logf("--from-github: verifying again with %d bundle(s) from GitHub's attestations\n", len(bundles))
	return sign.Verify(ctx, req.Ref, pol, append(sopts, sign.WithExtraBundles(bundles...))...)
}

// githubBundles lists the Sigstore bundles GitHub's attestations API holds
// for the digest req.Ref resolves to (unverified: sign.Verify checks them).
func githubBundles(ctx context.Context, r *Run, req VerifyRequest, sopts []sign.Option) ([][]byte, error) {
	ownerRepo := req.GitHubRepository
	if ownerRepo == "" {
		ownerRepo = r.Env.Repository
	}
	owner, repo, ok := strings.Cut(ownerRepo, "/")
	if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
		return nil, fmt.Errorf("which repository's attestations? give --github-repository OWNER/REPO (or run in Actions): got %q", ownerRepo)
	}
	d, err := sign.ResolveDigest(ctx, req.Ref, sopts...)
	if err != nil {
		return nil, err
	}
	c, err := r.GitHubClient(ctx)
	if err != nil {
		return nil, err
	}
	// Anyone who may write the repository's attestations adds to this
	// list: it is untrusted input, bounded in count and bytes.
	atts, err := c.ListAttestations(ctx, owner, repo, d.DigestStr(), ghapi.AttestationFilter{Limit: maxGitHubBundles})
	if err != nil {
		return nil, err
	}
	var out [][]byte
	total := 0
	for _, a := range atts {
		if len(a.Bundle) == 0 {
			continue
		}
		if total += len(a.Bundle); total > maxGitHubBundleBytes {
			return nil, fmt.Errorf("GitHub's attestations of %s in %s/%s hold more than %d bytes of bundles: refusing to read them", d.DigestStr(), owner, repo, maxGitHubBundleBytes)
		}
		out = append(out, a.Bundle)
	}
	return out, nil
}

// Bounds on what --from-github reads from GitHub's attestations API.
const (
	maxGitHubBundles     = 100
	maxGitHubBundleBytes = 16 << 20
)

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
