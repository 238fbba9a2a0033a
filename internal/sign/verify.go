package sign

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/mlship/mlship/internal/attest"
	ocireg "github.com/mlship/mlship/internal/oci"
	"github.com/sigstore/cosign/v2/pkg/oci"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
)

// Verified is what Verify established about an artifact.
type Verified struct {
	Ref          string                `json:"ref"`
	Digest       string                `json:"digest"`
	Signatures   []VerifiedSignature   `json:"signatures"`
	Attestations []VerifiedAttestation `json:"attestations,omitempty"`
}

// VerifiedSignature is one accepted signature.
type VerifiedSignature struct {
	// Signer is "key NAME" or the certificate identity.
	Signer string `json:"signer"`
	// Issuer is the OIDC issuer for keyless signatures.
	Issuer string `json:"issuer,omitempty"`
	// SignedAt is the Rekor integrated time when logged, else the signed
	// payload's timestamp; zero when neither exists.
	SignedAt time.Time `json:"signedAt,omitzero"`
	// TLog says whether a Rekor entry was verified.
	TLog bool `json:"tlog"`
	// KeyFingerprint identifies the accepting key (sha256 of its PKIX
	// DER, "sha256:<hex>") for key-based signatures.
	KeyFingerprint string `json:"keyFingerprint,omitempty"`
	// Format is where the signature was found: "bundle" (a Sigstore
	// bundle referrer) or "legacy" (cosign's .sig tag).
	Format string `json:"format"`
}

// VerifiedAttestation is one accepted attestation.
type VerifiedAttestation struct {
	PredicateType string `json:"predicateType"`
	Signer        string `json:"signer"`
	// Issuer and KeyFingerprint identify the signer as for signatures.
	Issuer         string `json:"issuer,omitempty"`
	KeyFingerprint string `json:"keyFingerprint,omitempty"`
	// Format is "bundle" or "legacy", as for signatures.
	Format string `json:"format"`
	// Predicate is the predicate of the statement that verified (one
	// entry per accepted statement: two records with different content are
	// two entries). Callers that judge or show an attestation's content
	// read it here, never from Statements, which checks no signature.
	Predicate json.RawMessage `json:"-"`
	// Passed is the eval gate outcome (eval attestations only).
	Passed *bool `json:"passed,omitempty"`
	// Gates are the checks made on an eval attestation's metrics: the
	// policy's bounds (source "policy") and the gates the evaluation
	// recorded (source "eval"), each with the attested value.
	Gates []VerifiedGate `json:"gates,omitempty"`
}

// VerifiedGate is one gate checked against an attested metric.
type VerifiedGate struct {
	Metric string  `json:"metric"`
	Value  float64 `json:"value"`
	Op     string  `json:"op"`
	Bound  float64 `json:"bound"`
	Passed bool    `json:"passed"`
	// Source is "policy" (the environment's or flags' bound, checked here)
	// or "eval" (recorded by the evaluation and covered by its signature).
	Source string `json:"source"`
}

func (g VerifiedGate) String() string {
	return fmt.Sprintf("%s %s %s %s (%s)", g.Metric, fmtFloat(g.Value), g.Op, fmtFloat(g.Bound), g.Source)
}

// Refusal is a verification failure naming the rule that failed.
type Refusal struct {
	Ref    string
	Rule   string
	Detail string
}

func (e *Refusal) Error() string {
	s := "refusing " + e.Ref + ": " + e.Rule
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

// Verifier adapts Verify to the hook oci.WithVerifier expects: pull calls
// it with the manifest digest before writing anything.
func (p *Policy) Verifier(opts ...Option) func(context.Context, name.Digest) error {
	return func(ctx context.Context, d name.Digest) error {
		_, err := Verify(ctx, d.String(), p, opts...)
		return err
	}
}

// Verify checks the artifact ref resolves to against policy: a signature
// by an accepted signer over exactly that manifest digest (tlog entry and
// age as the policy says), and every required attestation, signed by an
// accepted signer, whose in-toto subject is that digest (for eval: with a
// passing gate). Signatures and attestations are looked for as Sigstore
// bundles among the digest's referrers (and WithExtraBundles), then in
// cosign's legacy tags; any accepted one counts. Failures are *Refusal
// errors naming the rule.
func Verify(ctx context.Context, ref string, p *Policy, opts ...Option) (*Verified, error) {
	if p == nil {
		return nil, errors.New("verify: no policy")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	o := makeOptions(opts)
	r, err := name.ParseReference(ref, o.name...)
	if err != nil {
		return nil, fmt.Errorf("parsing reference %q: %w", ref, err)
	}
	// Fetch the manifest: for a tag this resolves the digest, for a digest
	// go-containerregistry checks the served bytes hash to it, so a
	// manifest replaced in the registry is caught here.
	desc, err := remote.Get(r, o.remoteOpts(ctx)...)
	if err != nil {
		if errors.Is(ocireg.AsNotFound(err), ocireg.ErrNotFound) {
			return nil, &Refusal{Ref: ref, Rule: "artifact not found", Detail: err.Error()}
		}
		if strings.Contains(err.Error(), "does not match") {
			return nil, &Refusal{Ref: ref, Rule: "manifest does not match its digest", Detail: err.Error()}
		}
		return nil, fmt.Errorf("fetching the manifest of %s: %w", ref, err)
	}
	d := r.Context().Digest(desc.Digest.String())
	h := desc.Digest
	v := &Verified{Ref: d.String(), Digest: h.String()}

	bs := &bundleSet{}
	bs.list, bs.err = o.findBundles(ctx, d)
	sigs, err := p.verifySignatures(ctx, o, d, h, bs)
	if err != nil {
		return nil, err
	}
	v.Signatures = sigs
	if len(p.Attestations) > 0 {
		atts, err := p.verifyAttestations(ctx, o, d, h, bs)
		if err != nil {
			return nil, err
		}
		v.Attestations = atts
	}
	return v, nil
}

// claimError marks a payload that is validly signed but about something
// else (another digest).
type claimError struct{ msg string }

func (e *claimError) Error() string { return e.msg }

func (p *Policy) verifySignatures(ctx context.Context, o *options, d name.Digest, h v1.Hash, bs *bundleSet) ([]VerifiedSignature, error) {
	st, err := ociremote.SignatureTag(d, o.ociOpts()...)
	if err != nil {
		return nil, err
	}
	sl, err := fetchSignatures(st, o)
	if err != nil {
		return nil, fmt.Errorf("fetching the signatures of %s from %s: %w", d, st, err)
	}
	sb := bs.of(func(pt string) bool { return pt == SignPredicateType })
	if len(sl) == 0 && len(sb) == 0 {
		if bs.err != nil {
			return nil, bs.err
		}
		return nil, &Refusal{Ref: d.String(), Rule: "unsigned", Detail: "no signatures at " + st.String() + " and no Sigstore bundle among its referrers"}
	}
	for i, sig := range sl {
		sb = append(sb, legacyBundle(fmt.Sprintf("legacy signature %d at %s", i+1, st), sig, false))
	}
	cs, err := bs.candidates(p)
	if err != nil {
		return nil, err
	}
	var out []VerifiedSignature
	var claimErrs, otherErrs, noTLog, tooOld []string
	for _, fb := range sb {
		for _, c := range cs {
			acc, err := p.verifyBundle(fb, c, h.String())
			if err != nil {
				msg, claim := errIsClaim(err)
				switch {
				case claim:
					claimErrs = append(claimErrs, msg)
				case p.RequireTLog && fb.b != nil && len(fb.b.GetVerificationMaterial().GetTlogEntries()) == 0:
					noTLog = append(noTLog, fb.where+" has no transparency-log entry")
				default:
					otherErrs = append(otherErrs, err.Error())
				}
				continue
			}
			vs := VerifiedSignature{Signer: acc.signer, Issuer: acc.issuer, SignedAt: acc.signedAt, TLog: acc.tlog, KeyFingerprint: acc.fingerprint, Format: fb.format()}
			if err := p.checkAge(o, vs.SignedAt); err != nil {
				tooOld = append(tooOld, err.Error())
				continue
			}
			out = append(out, vs)
		}
	}
	if len(out) > 0 {
		return mergeSignatures(out), nil
	}
	who := make([]string, len(cs))
	for i, c := range cs {
		who[i] = c.name
	}
	switch {
	case len(tooOld) > 0:
		return nil, &Refusal{Ref: d.String(), Rule: "signature too old", Detail: tooOld[0]}
	case len(claimErrs) > 0:
		return nil, &Refusal{Ref: d.String(), Rule: "signature does not match the manifest digest", Detail: claimErrs[0]}
	case len(noTLog) > 0 && len(otherErrs) == 0:
		return nil, &Refusal{Ref: d.String(), Rule: "no verified transparency-log entry for a signature by " + strings.Join(who, " or "), Detail: noTLog[0] + "; the policy requires one (tlog)"}
	}
	return nil, &Refusal{Ref: d.String(), Rule: "not signed by " + strings.Join(who, " or "), Detail: summarize(otherErrs)}
}

func fetchSignatures(t name.Tag, o *options) ([]oci.Signature, error) {
	sigs, err := ociremote.Signatures(t, o.ociOpts()...)
	if err != nil {
		return nil, err
	}
	return sigs.Get()
}

func summarize(errs []string) string {
	seen := map[string]bool{}
	var u []string
	for _, e := range errs {
		if !seen[e] {
			seen[e] = true
			u = append(u, e)
		}
	}
	if len(u) > 3 {
		u = append(u[:3], fmt.Sprintf("and %d more", len(u)-3))
	}
	return strings.Join(u, "; ")
}

func (p *Policy) checkAge(o *options, t time.Time) error {
	if p.MaxAge == 0 {
		return nil
	}
	if t.IsZero() {
		return fmt.Errorf("the signature carries no trusted signing time and the policy has max age %s", p.MaxAge)
	}
	age := o.now().Sub(t)
	if age > p.MaxAge {
		return fmt.Errorf("signed %s, %s ago; max age %s", t.Format(time.RFC3339), age.Round(time.Second), p.MaxAge)
	}
	return nil
}

func (p *Policy) verifyAttestations(ctx context.Context, o *options, d name.Digest, h v1.Hash, bs *bundleSet) ([]VerifiedAttestation, error) {
	at, err := ociremote.AttestationTag(d, o.ociOpts()...)
	if err != nil {
		return nil, err
	}
	al, err := fetchSignatures(at, o)
	if err != nil {
		return nil, fmt.Errorf("fetching the attestations of %s from %s: %w", d, at, err)
	}
	good := map[string][]accepted{}
	bad := map[string][]string{}
	ab := bs.of(func(pt string) bool { return pt != SignPredicateType })
	for i, att := range al {
		ab = append(ab, legacyBundle(fmt.Sprintf("legacy attestation %d at %s", i+1, at), att, true))
	}
	if len(ab) > 0 {
		cs, err := bs.candidates(p)
		if err != nil {
			return nil, err
		}
		// Promotion records are verified with the promotion signers when
		// the policy names them (and only with them).
		vp, pcs := p, cs
		if p.HasPromotionSigners() {
			vp = p.promotionPolicy()
			if pcs, err = vp.bundleCandidates(); err != nil {
				return nil, err
			}
		}
		for _, fb := range ab {
			if fb.err != nil {
				bad[""] = append(bad[""], fb.err.Error())
				continue
			}
			pt := fb.st.PredicateType
			use, up := cs, p
			if pt == attest.PromotionType {
				use, up = pcs, vp
			}
			for _, c := range use {
				acc, err := up.verifyBundle(fb, c, h.String())
				if err != nil {
					if msg, ok := errIsClaim(err); ok {
						bad[pt] = append(bad[pt], msg)
					} else {
						bad[pt] = append(bad[pt], "not signed by "+c.name+": "+err.Error())
					}
					continue
				}
				who := VerifiedAttestation{PredicateType: pt, Signer: acc.signer, Issuer: acc.issuer, KeyFingerprint: acc.fingerprint, Format: fb.format(), Predicate: fb.st.Predicate}
				good[pt] = append(good[pt], accepted{st: fb.st, who: who})
				break
			}
		}
	}
	var out []VerifiedAttestation
	for _, rule := range p.Attestations {
		list := good[rule.PredicateType]
		if rule.Environment != "" {
			var err error
			if list, err = promotedTo(d, rule, list, bad[rule.PredicateType]); err != nil {
				return nil, err
			}
			out = append(out, dedupe(list)...)
			continue
		}
		if len(list) == 0 {
			if why := bad[rule.PredicateType]; len(why) > 0 {
				return nil, &Refusal{Ref: d.String(), Rule: "no valid " + rule.Name() + " attestation", Detail: summarize(why)}
			}
			return nil, &Refusal{Ref: d.String(), Rule: "no " + rule.Name() + " attestation", Detail: "none of type " + rule.PredicateType + " at " + at.String() + " or among the referrers" + bs.errNote()}
		}
		if rule.PredicateType != EvalPredicateType {
			out = append(out, dedupe(list)...)
			continue
		}
		// The newest evaluation decides (evaluatedAt, then attachment order).
		sort.SliceStable(list, func(i, j int) bool {
			return evaluatedAt(list[i].st) < evaluatedAt(list[j].st)
		})
		a := list[len(list)-1]
		var ep EvalPredicate
		if err := json.Unmarshal(a.st.Predicate, &ep); err != nil {
			return nil, &Refusal{Ref: d.String(), Rule: "eval attestation unreadable", Detail: err.Error()}
		}
		passed := ep.Passed
		if rule.RequirePassed || len(rule.Gates) > 0 {
			if err := ep.CheckGates(rule.Gates); err != nil {
				return nil, &Refusal{Ref: d.String(), Rule: "eval gate failed: " + err.Error()}
			}
		}
		va := a.who
		for _, b := range list {
			if b.who.Format != va.Format && b.who.Signer == va.Signer && string(b.st.Predicate) == string(a.st.Predicate) {
				va.Format = string(FormatBoth)
			}
		}
		va.Passed, va.Gates = &passed, gateChecks(&ep, rule.Gates)
		out = append(out, va)
	}
	return out, nil
}

// accepted is an attestation whose signature an accepted signer made.
type accepted struct {
	st  Statement
	who VerifiedAttestation
}

// promotedTo keeps the accepted promotion records for rule.Environment
// about exactly one subject (d's digest) naming d's repository (or
// rule.Repository); none is a refusal that says what was found instead
// (records for other environments or repositories, unreadable records,
// records refused for their signer or subject).
func promotedTo(d name.Digest, rule AttestationRule, list []accepted, why []string) ([]accepted, error) {
	want := rule.Repository
	if want == "" {
		want = d.Context().Name()
	}
	wantRepo, werr := normalizeRepository(want)
	if werr != nil {
		return nil, fmt.Errorf("the promotion rule's repository %q: %w", want, werr)
	}
	var keep []accepted
	var others, unreadable []string
	for _, a := range list {
		if n := len(a.st.Subject); n != 1 {
			// mlship writes one record per digest; a statement about
			// several would let one signature promote a batch.
			unreadable = append(unreadable, fmt.Sprintf("a promotion record has %d subjects, not exactly one", n))
			continue
		}
		pr, err := attest.ParsePromotion(a.st.Predicate)
		if err != nil {
			unreadable = append(unreadable, err.Error())
			continue
		}
		if pr.Environment != rule.Environment {
			others = append(others, pr.Environment)
			continue
		}
		if got, err := normalizeRepository(pr.Repository); err != nil || got != wantRepo {
			// Records by an organisation-wide signer for another model,
			// copied here with their referrers, say nothing of this one.
			unreadable = append(unreadable, fmt.Sprintf("a record for %s names repository %q, not %s", pr.Environment, pr.Repository, wantRepo))
			continue
		}
		keep = append(keep, a)
	}
	if len(keep) > 0 {
		return keep, nil
	}
	rf := &Refusal{Ref: d.String(), Rule: "no promotion record for " + rule.Environment}
	var details []string
	if len(others) > 0 {
		sort.Strings(others)
		details = append(details, "found records for "+strings.Join(uniq(others), ", "))
	}
	details = append(details, unreadable...)
	details = append(details, why...)
	if len(details) == 0 {
		details = append(details, "no attestation of type "+rule.PredicateType+" by an accepted signer")
	}
	rf.Detail = summarize(details)
	return nil, rf
}

// normalizeRepository is a repository name as go-containerregistry
// normalises it (registry/repository, docker.io's defaults filled in).
func normalizeRepository(s string) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", errors.New("no repository")
	}
	r, err := name.NewRepository(s)
	if err != nil {
		return "", err
	}
	return r.Name(), nil
}

// mergeSignatures reports each accepted signer once: a signature found
// both as a bundle and in the legacy tag has format "both" (a verified
// tlog entry in either counts, the earliest trusted time is kept).
func mergeSignatures(list []VerifiedSignature) []VerifiedSignature {
	var out []VerifiedSignature
	seen := map[string]int{}
	for _, v := range list {
		k := v.Signer + "\x00" + v.Issuer + "\x00" + v.KeyFingerprint
		i, ok := seen[k]
		if !ok {
			seen[k] = len(out)
			out = append(out, v)
			continue
		}
		m := &out[i]
		if m.Format != v.Format {
			m.Format = string(FormatBoth)
		}
		m.TLog = m.TLog || v.TLog
		if m.SignedAt.IsZero() || (!v.SignedAt.IsZero() && v.SignedAt.Before(m.SignedAt)) {
			m.SignedAt = v.SignedAt
		}
	}
	return out
}

// dedupe reports an attestation written in both formats once (the same
// statement by the same signer), with format "both".
func dedupe(list []accepted) []VerifiedAttestation {
	var out []VerifiedAttestation
	seen := map[string]int{}
	for _, a := range list {
		k := a.who.Signer + "\x00" + a.who.KeyFingerprint + "\x00" + string(a.st.Predicate)
		if i, ok := seen[k]; ok {
			if out[i].Format != a.who.Format {
				out[i].Format = string(FormatBoth)
			}
			continue
		}
		seen[k] = len(out)
		out = append(out, a.who)
	}
	return out
}

func uniq(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func evaluatedAt(st Statement) string {
	var x struct {
		EvaluatedAt string `json:"evaluatedAt"`
	}
	_ = json.Unmarshal(st.Predicate, &x)
	return x.EvaluatedAt
}
