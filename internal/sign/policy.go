package sign

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/mlship/mlship/internal/attest"
	"github.com/mlship/mlship/internal/spec"
)

// Policy is what must hold for an artifact to be accepted, in the spirit
// of cosign's CheckOpts: who may sign (keys or keyless identities),
// whether a transparency-log entry is required, how old a signature may
// be, and which attestations must be attached (for eval: with a passing
// gate). verify, pull --verify and promote all use it.
type Policy struct {
	// Keys are trusted public keys; a signature by any one is accepted.
	Keys []PublicKey
	// Identities are accepted keyless signers (certificate SAN and OIDC
	// issuer, exact or regexp); any one matching is accepted.
	Identities []Identity
	// Trust holds the Fulcio roots and Rekor/CT log keys for keyless and
	// tlog verification; nil means the public Sigstore (from its TUF root,
	// or SIGSTORE_ROOT_FILE / SIGSTORE_REKOR_PUBLIC_KEY as cosign reads).
	Trust *TrustRoot
	// RequireTLog requires a Rekor entry (verified offline from the bundle
	// attached to the signature). Keyless signatures always need one: their
	// certificate is only valid at the entry's time.
	RequireTLog bool
	// IgnoreSCT skips the certificate-transparency check on Fulcio
	// certificates (a private Fulcio without a CT log).
	IgnoreSCT bool
	// MaxAge bounds how old a signature may be (0: no bound).
	MaxAge time.Duration
	// Attestations that must be attached and signed by an accepted signer.
	Attestations []AttestationRule
	// PromotionKeys and PromotionIdentities, when either is set, are the
	// only signers whose promotion records (attest.PromotionType) are
	// accepted; Keys and Identities then accept the signature and the
	// other attestations only. Pull-request workflows hold the candidates'
	// signer, so a record signed with it proves nothing.
	PromotionKeys       []PublicKey
	PromotionIdentities []Identity
}

// HasPromotionSigners reports whether records have signers of their own.
func (p *Policy) HasPromotionSigners() bool {
	return len(p.PromotionKeys) > 0 || len(p.PromotionIdentities) > 0
}

// promotionPolicy is p with the promotion signers as its signers (what
// promotion records are verified with).
func (p *Policy) promotionPolicy() *Policy {
	pp := *p
	pp.Keys, pp.Identities = p.PromotionKeys, p.PromotionIdentities
	pp.PromotionKeys, pp.PromotionIdentities = nil, nil
	return &pp
}

// Identity is a keyless signer identity (cosign's --certificate-identity
// and --certificate-oidc-issuer, exact or regexp).
type Identity struct {
	Subject       string `json:"subject,omitempty"`
	SubjectRegexp string `json:"subjectRegexp,omitempty"`
	Issuer        string `json:"issuer,omitempty"`
	IssuerRegexp  string `json:"issuerRegexp,omitempty"`
}

func (i Identity) String() string {
	s, iss := i.Subject, i.Issuer
	if s == "" {
		s = "~" + i.SubjectRegexp
	}
	if iss == "" {
		iss = "~" + i.IssuerRegexp
	}
	return s + " (issuer " + iss + ")"
}

// AttestationRule requires an attestation of PredicateType. For eval,
// RequirePassed demands a passing gate and Gates adds absolute bounds
// (the environment's gates) checked against the attested metrics.
type AttestationRule struct {
	PredicateType string           `json:"predicateType"`
	RequirePassed bool             `json:"requirePassed,omitempty"`
	Gates         map[string]Bound `json:"-"`
	// Environment, for promotion records (attest.PromotionType), accepts
	// only a record whose predicate parses (attest.ParsePromotion) and
	// names this environment: a valid record for another environment is
	// refused, naming the environments found.
	Environment string `json:"environment,omitempty"`
	// Repository, for promotion records, is the registry repository a
	// record must name (predicate.repository, compared normalised); ""
	// means the verified reference's repository. Set it to the source
	// repository when verifying a mirror.
	Repository string `json:"repository,omitempty"`
}

// Name is the rule's short name for messages ("eval", "provenance", URI).
func (r AttestationRule) Name() string { return ShortName(r.PredicateType) }

// NewAttestationRule builds a rule from a short name or URI; eval rules
// require a passing gate.
func NewAttestationRule(typ string) AttestationRule {
	uri := PredicateType(typ)
	return AttestationRule{PredicateType: uri, RequirePassed: uri == EvalPredicateType}
}

// NewPromotionRule requires a signed promotion record for environment env
// attached to exactly the verified digest (its only subject) and naming
// the verified reference's repository (AttestationRule.Repository to
// name another).
func NewPromotionRule(env string) AttestationRule {
	return AttestationRule{PredicateType: attest.PromotionType, Environment: env}
}

// TrustRoot is explicit trust material for keyless and tlog checks.
type TrustRoot struct {
	FulcioRoots         []*x509.Certificate
	FulcioIntermediates []*x509.Certificate
	RekorKeys           []crypto.PublicKey
	CTLogKeys           []crypto.PublicKey
	// TSAChains are trusted RFC 3161 timestamp authorities, each a
	// certificate chain from the leaf to the root (bundles only).
	TSAChains [][]*x509.Certificate
}

// Validate checks the policy can accept anything at all and that its
// regexps compile.
func (p *Policy) Validate() error {
	if len(p.Keys) == 0 && len(p.Identities) == 0 {
		return errors.New("the verification policy names no signer: give --key or --certificate-identity[-regexp] with --certificate-oidc-issuer, or set signing.key / signing.keyless in the spec")
	}
	for _, id := range append(append([]Identity(nil), p.Identities...), p.PromotionIdentities...) {
		if id.Subject == "" && id.SubjectRegexp == "" {
			return errors.New("a keyless identity needs --certificate-identity or --certificate-identity-regexp")
		}
		if id.Issuer == "" && id.IssuerRegexp == "" {
			return errors.New("a keyless identity needs --certificate-oidc-issuer (for Actions: " + GitHubIssuer + ")")
		}
		for _, re := range []string{id.SubjectRegexp, id.IssuerRegexp} {
			if re == "" {
				continue
			}
			if _, err := regexp.Compile(re); err != nil {
				return fmt.Errorf("identity regexp %q: %w", re, err)
			}
		}
	}
	if p.MaxAge < 0 {
		return fmt.Errorf("max age %s is negative", p.MaxAge)
	}
	return nil
}

// PolicyFromSpec builds the policy for promoting to (or pulling for)
// environment env from the spec's signing section and that environment's
// required attestations and gates. env "" means no attestation rules.
// Relative key paths are relative to the spec directory.
func PolicyFromSpec(m *spec.Model, env string, getenv func(string) string) (*Policy, error) {
	p, err := SpecRules(m, env)
	if err != nil {
		return nil, err
	}
	if p.Keys, p.Identities, err = SpecSigners(m, getenv); err != nil {
		return nil, err
	}
	if p.PromotionKeys, p.PromotionIdentities, err = SpecPromotionSigners(m, getenv); err != nil {
		return nil, err
	}
	return p, p.Validate()
}

// SpecRules is the part of the spec's policy that says what must hold,
// whoever signs: signing.tlog, signing.maxAge and, for env, that
// environment's required attestations and gates. It has no signers: a
// caller adds the spec's (SpecSigners) or its own. An environment the
// spec does not name is an error, never "no rules".
func SpecRules(m *spec.Model, env string) (*Policy, error) {
	if m == nil {
		return nil, errors.New("no spec to take the verification policy from")
	}
	p := &Policy{RequireTLog: m.Signing.TLog}
	if m.Signing.MaxAge != "" {
		d, err := time.ParseDuration(m.Signing.MaxAge)
		if err != nil {
			return nil, fmt.Errorf("signing.maxAge %q: %w", m.Signing.MaxAge, err)
		}
		p.MaxAge = d
	}
	rules, err := EnvironmentRules(m, env)
	if err != nil {
		return nil, err
	}
	p.Attestations = rules
	return p, nil
}

// EnvironmentRules returns the attestations environment env requires,
// the eval rule carrying the environment's gates. env "" has none.
func EnvironmentRules(m *spec.Model, env string) ([]AttestationRule, error) {
	if env == "" {
		return nil, nil
	}
	e, ok := m.Environments[env]
	if !ok {
		return nil, fmt.Errorf("environment %q is not in the spec (have %s)", env, strings.Join(m.EnvironmentOrder, ", "))
	}
	var rules []AttestationRule
	for _, a := range e.Attestations {
		r := NewAttestationRule(a)
		if r.PredicateType == EvalPredicateType && len(e.Gates) > 0 {
			r.Gates = map[string]Bound{}
			for k, g := range e.Gates {
				r.Gates[k] = Bound{Min: g.Min, Max: g.Max}
			}
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// SpecSigners loads who the spec's signing section accepts: signing.key
// (relative to the spec directory) and signing.keyless.
func SpecSigners(m *spec.Model, getenv func(string) string) ([]PublicKey, []Identity, error) {
	var keys []PublicKey
	var ids []Identity
	if m.Signing.Key != "" {
		ref := m.Signing.Key
		if !strings.HasPrefix(ref, EnvPrefix) && !filepath.IsAbs(ref) && m.Dir != "" {
			ref = filepath.Join(m.Dir, ref)
		}
		k, err := LoadPublicKey(ref, getenv)
		if err != nil {
			return nil, nil, fmt.Errorf("signing.key: %w", err)
		}
		k.Name = m.Signing.Key
		keys = append(keys, k)
	}
	if kl := m.Signing.Keyless; kl != nil {
		ids = append(ids, Identity{Subject: kl.Identity, SubjectRegexp: kl.IdentityRegexp, Issuer: kl.Issuer})
	}
	return keys, ids, nil
}

// SpecPromotionSigners loads who the spec's signing.promotion accepts as
// the signer of promotion records (a key relative to the spec directory,
// or a keyless identity); none when the spec does not set it.
func SpecPromotionSigners(m *spec.Model, getenv func(string) string) ([]PublicKey, []Identity, error) {
	pr := m.Signing.Promotion
	if pr == nil {
		return nil, nil, nil
	}
	if pr.Key == "" && pr.Keyless == nil {
		return nil, nil, errors.New("signing.promotion names no signer: give key or keyless")
	}
	var keys []PublicKey
	var ids []Identity
	if pr.Key != "" {
		ref := pr.Key
		if !strings.HasPrefix(ref, EnvPrefix) && !filepath.IsAbs(ref) && m.Dir != "" {
			ref = filepath.Join(m.Dir, ref)
		}
		k, err := LoadPublicKey(ref, getenv)
		if err != nil {
			return nil, nil, fmt.Errorf("signing.promotion.key: %w", err)
		}
		k.Name = pr.Key
		keys = append(keys, k)
	}
	if kl := pr.Keyless; kl != nil {
		iss := kl.Issuer
		if iss == "" {
			iss = GitHubIssuer
		}
		ids = append(ids, Identity{Subject: kl.Identity, SubjectRegexp: kl.IdentityRegexp, Issuer: iss})
	}
	return keys, ids, nil
}

// TrustFromEnv reads the trust material cosign also honours:
// SIGSTORE_ROOT_FILE (Fulcio root and intermediate PEMs),
// SIGSTORE_REKOR_PUBLIC_KEY, SIGSTORE_CT_LOG_PUBLIC_KEY_FILE and
// SIGSTORE_TSA_CERTIFICATE_FILE (the timestamp authority's chain, leaf
// first, as cosign's --timestamp-certificate-chain). It
// returns nil when none is set. getenv is the run context's lookup (the
// process environment is read by gha, never here); nil reads nothing.
func TrustFromEnv(getenv func(string) string) (*TrustRoot, error) {
	if getenv == nil {
		return nil, nil
	}
	rootFile, rekorFile, ctFile, tsaFile := getenv("SIGSTORE_ROOT_FILE"), getenv("SIGSTORE_REKOR_PUBLIC_KEY"), getenv("SIGSTORE_CT_LOG_PUBLIC_KEY_FILE"), getenv("SIGSTORE_TSA_CERTIFICATE_FILE")
	if rootFile == "" && rekorFile == "" && ctFile == "" && tsaFile == "" {
		return nil, nil
	}
	t := &TrustRoot{}
	if tsaFile != "" {
		b, err := os.ReadFile(tsaFile)
		if err != nil {
			return nil, fmt.Errorf("SIGSTORE_TSA_CERTIFICATE_FILE: %w", err)
		}
		chain, err := cryptoutils.UnmarshalCertificatesFromPEM(b)
		if err != nil || len(chain) == 0 {
			return nil, fmt.Errorf("SIGSTORE_TSA_CERTIFICATE_FILE %s holds no PEM certificates (want the TSA's chain, leaf first): %v", tsaFile, err)
		}
		t.TSAChains = append(t.TSAChains, chain)
	}
	if rootFile != "" {
		b, err := os.ReadFile(rootFile)
		if err != nil {
			return nil, fmt.Errorf("SIGSTORE_ROOT_FILE: %w", err)
		}
		certs, err := cryptoutils.UnmarshalCertificatesFromPEM(b)
		if err != nil || len(certs) == 0 {
			return nil, fmt.Errorf("SIGSTORE_ROOT_FILE %s holds no PEM certificates: %v", rootFile, err)
		}
		for _, c := range certs {
			if isSelfSigned(c) {
				t.FulcioRoots = append(t.FulcioRoots, c)
			} else {
				t.FulcioIntermediates = append(t.FulcioIntermediates, c)
			}
		}
	}
	for _, f := range []struct {
		env, path string
		dst       *[]crypto.PublicKey
	}{{"SIGSTORE_REKOR_PUBLIC_KEY", rekorFile, &t.RekorKeys}, {"SIGSTORE_CT_LOG_PUBLIC_KEY_FILE", ctFile, &t.CTLogKeys}} {
		if f.path == "" {
			continue
		}
		b, err := os.ReadFile(f.path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.env, err)
		}
		k, err := cryptoutils.UnmarshalPEMToPublicKey(b)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", f.env, f.path, err)
		}
		*f.dst = append(*f.dst, k)
	}
	return t, nil
}

func isSelfSigned(c *x509.Certificate) bool {
	return c.CheckSignatureFrom(c) == nil
}
