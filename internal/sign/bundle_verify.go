package sign

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

var timeZero time.Time

// bundleCandidate is one way of accepting a bundle: a key, or the
// policy's keyless identities, each with its trust material.
type bundleCandidate struct {
	name        string
	fingerprint string
	keyed       bool
	trust       root.TrustedMaterial
	ids         []verify.CertificateIdentity
}

func (p *Policy) bundleCandidates() ([]bundleCandidate, error) {
	base, err := p.bundleTrust(len(p.Identities) > 0 || p.RequireTLog)
	if err != nil {
		return nil, err
	}
	var cs []bundleCandidate
	for _, k := range p.Keys {
		cs = append(cs, bundleCandidate{name: "key " + k.Name, fingerprint: k.Fingerprint(), keyed: true, trust: keyMaterial(k, base)})
	}
	if len(p.Identities) > 0 {
		c := bundleCandidate{trust: base}
		names := make([]string, len(p.Identities))
		for i, id := range p.Identities {
			ci, err := verify.NewShortCertificateIdentity(id.Issuer, id.IssuerRegexp, id.Subject, id.SubjectRegexp)
			if err != nil {
				return nil, fmt.Errorf("identity %s: %w", id, err)
			}
			c.ids = append(c.ids, ci)
			names[i] = id.String()
		}
		c.name = "identity " + strings.Join(names, " or ")
		cs = append(cs, c)
	}
	return cs, nil
}

// bundleAccepted is what verifyBundle established.
type bundleAccepted struct {
	signer, issuer, fingerprint string
	signedAt                    time.Time
	tlog                        bool
}

// verifyBundle checks fb's signature with sigstore-go as the policy says
// (tlog entry when required; for certificates a verified time from the
// tlog or a timestamp authority, the chain to a trusted Fulcio root, SCTs
// unless ignored, the identity), then that its in-toto subject is digest
// hex h. A validly signed bundle about another digest is a *claimError.
func (p *Policy) verifyBundle(fb foundBundle, c bundleCandidate, h string) (bundleAccepted, error) {
	var acc bundleAccepted
	if fb.err != nil {
		return acc, fb.err
	}
	vc, err := fb.b.VerificationContent()
	if err != nil {
		return acc, fmt.Errorf("%s: %w", fb.where, err)
	}
	ts, _ := fb.b.Timestamps()
	trust := c.trust
	if trust == nil {
		trust = &root.BaseTrustedMaterial{}
	}
	tsa := len(ts) > 0 && len(trust.TimestampingAuthorities()) > 0
	cert := vc.Certificate()
	var vopts []verify.VerifierOption
	pol := []verify.PolicyOption{}
	switch {
	case c.keyed && cert != nil:
		return acc, fmt.Errorf("%s: signed with a certificate, not with %s", fb.where, c.name)
	case !c.keyed && cert == nil:
		return acc, fmt.Errorf("%s: signed with a key, not by a certificate identity", fb.where)
	case c.keyed:
		pol = append(pol, verify.WithKey())
		switch {
		case p.RequireTLog:
			vopts = append(vopts, verify.WithTransparencyLog(1), verify.WithIntegratedTimestamps(1))
		case tsa:
			vopts = append(vopts, verify.WithSignedTimestamps(1))
		default:
			vopts = append(vopts, verify.WithNoObserverTimestamps())
		}
	default:
		for _, id := range c.ids {
			pol = append(pol, verify.WithCertificateIdentity(id))
		}
		// A certificate is valid only at a trusted time: the log's
		// integrated time, or a timestamp authority's.
		if p.RequireTLog || !tsa {
			vopts = append(vopts, verify.WithTransparencyLog(1), verify.WithIntegratedTimestamps(1))
		}
		if tsa {
			vopts = append(vopts, verify.WithSignedTimestamps(1))
		}
		if !p.IgnoreSCT {
			vopts = append(vopts, verify.WithSignedCertificateTimestamps(1))
		}
	}
	v, err := verify.NewVerifier(trust, vopts...)
	if err != nil {
		return acc, fmt.Errorf("%s: %w", fb.where, err)
	}
	artifact := verify.WithoutArtifactUnsafe()
	if fb.simple != nil {
		artifact = verify.WithArtifact(bytes.NewReader(fb.simple))
	}
	res, err := v.Verify(fb.b, verify.NewPolicy(artifact, pol...))
	if err != nil {
		return acc, fmt.Errorf("%s: %w", fb.where, err)
	}
	if fb.simple != nil {
		err = simpleSubject(fb.simple, h)
	} else {
		err = subjectIs(fb.st, h)
	}
	if err != nil {
		return acc, err
	}
	acc = bundleAccepted{signer: c.name, fingerprint: c.fingerprint}
	if cert != nil {
		acc.signer, acc.issuer, acc.fingerprint = certIdentity(cert), certIssuer(cert), ""
	}
	for _, t := range res.VerifiedTimestamps {
		if t.Type == "Tlog" {
			acc.tlog = true
		}
		if acc.signedAt.IsZero() || t.Timestamp.Before(acc.signedAt) {
			acc.signedAt = t.Timestamp.UTC()
		}
	}
	if acc.signedAt.IsZero() {
		if fb.simple != nil {
			acc.signedAt = simpleTime(fb.simple)
		} else {
			acc.signedAt = statementTime(fb.payload)
		}
	}
	return acc, nil
}

// subjectIs checks an in-toto statement is about digest h (sha256:<hex>).
func subjectIs(st Statement, h string) error {
	var got []string
	for _, s := range st.Subject {
		if dg, ok := s.Digest["sha256"]; ok {
			if "sha256:"+dg == h {
				return nil
			}
			got = append(got, "sha256:"+dg)
		}
	}
	what := "the " + ShortName(st.PredicateType) + " attestation's"
	if st.PredicateType == SignPredicateType {
		return &claimError{fmt.Sprintf("the signature is for %s, not %s", strings.Join(got, ", "), h)}
	}
	return &claimError{fmt.Sprintf("%s subject is %s, not %s", what, strings.Join(got, ", "), h)}
}

// statementTime is the signing time mlship records, signed, in the
// subject's annotations of a signature statement ("timestamp", Unix
// seconds), as in the legacy payload; zero when absent.
func statementTime(payload []byte) time.Time {
	var st struct {
		Subject []struct {
			Annotations map[string]any `json:"annotations"`
		} `json:"subject"`
	}
	if json.Unmarshal(payload, &st) != nil {
		return time.Time{}
	}
	for _, s := range st.Subject {
		if ts, ok := s.Annotations[TimestampKey].(float64); ok && ts > 0 {
			return time.Unix(int64(ts), 0).UTC()
		}
	}
	return time.Time{}
}

// errIsClaim reports whether err is a claim mismatch, with its message.
func errIsClaim(err error) (string, bool) {
	var ce *claimError
	if errors.As(err, &ce) {
		return ce.msg, true
	}
	return "", false
}

// bundleSet is the bundles found for one artifact, shared by the
// signature and attestation checks; candidates are built once, on first
// use (keyless trust may need the public TUF root).
type bundleSet struct {
	list []foundBundle
	err  error
	cs   []bundleCandidate
	done bool
}

func (bs *bundleSet) of(keep func(predicateType string) bool) []foundBundle {
	var out []foundBundle
	for _, fb := range bs.list {
		if fb.err != nil || keep(fb.st.PredicateType) {
			out = append(out, fb)
		}
	}
	return out
}

func (bs *bundleSet) candidates(p *Policy) ([]bundleCandidate, error) {
	if !bs.done {
		cs, err := p.bundleCandidates()
		if err != nil {
			return nil, err
		}
		bs.cs, bs.done = cs, true
	}
	return bs.cs, nil
}

func (bs *bundleSet) errNote() string {
	if bs.err == nil {
		return ""
	}
	return "; " + bs.err.Error()
}
