package sign

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/mlship/mlship/internal/attest"
	"github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/sigstore/cosign/v2/pkg/types"
	"github.com/sigstore/sigstore/pkg/signature/dsse"
	sigpayload "github.com/sigstore/sigstore/pkg/signature/payload"
)

// TimestampKey is the simple-signing "optional" field holding the signing
// time (Unix seconds), as in the containers/image signature format. It is
// inside the signed payload, so max-age checks can trust it as far as they
// trust the signer.
const TimestampKey = "timestamp"

// Result says what Sign or Attest wrote.
type Result struct {
	// Ref is the signed reference, by digest.
	Ref string `json:"ref"`
	// Digest is the manifest digest that was signed.
	Digest string `json:"digest"`
	// Tag is the cosign tag holding the legacy signature or attestation
	// ("" when only a bundle was written).
	Tag string `json:"tag,omitempty"`
	// Referrers are the referrer manifests holding the Sigstore bundles
	// (by digest), listed by the referrers API or the referrers tag schema.
	Referrers []string `json:"referrers,omitempty"`
	// Format is what was written: bundle, legacy or both.
	Format Format `json:"format"`
	// Signer describes the identity that signed.
	Signer string `json:"signer"`
	// PredicateType is set for attestations.
	PredicateType string `json:"predicateType,omitempty"`
	// TLogIndex is the Rekor log index when the signature was logged.
	TLogIndex *int64 `json:"tlogIndex,omitempty"`
	// Bundles are the Sigstore bundles (JSON, v0.3) that were written, one
	// per signature or attestation; empty in the legacy format.
	Bundles [][]byte `json:"-"`
	// GitHubAttestations are the ids GitHub gave the bundles stored with
	// its artifact attestations API (set by the caller that stored them).
	GitHubAttestations []int64 `json:"githubAttestations,omitempty"`
}

// ResolveDigest parses ref and resolves a tag to the manifest digest it
// points at now; a digest reference is returned as is (no round trip).
func ResolveDigest(ctx context.Context, ref string, opts ...Option) (name.Digest, error) {
	o := makeOptions(opts)
	return o.resolve(ctx, ref)
}

func (o *options) resolve(ctx context.Context, ref string) (name.Digest, error) {
	r, err := name.ParseReference(ref, o.name...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("parsing reference %q: %w", ref, err)
	}
	if d, ok := r.(name.Digest); ok {
		return d, nil
	}
	if err := ctx.Err(); err != nil {
		return name.Digest{}, err
	}
	d, err := ociremote.ResolveDigest(r, o.ociOpts()...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("resolving %s to a digest: %w", ref, err)
	}
	return d, nil
}

// Sign signs the manifest digest ref resolves to with s and stores the
// signature as WithFormat says (default both): a Sigstore bundle of the
// statement cosign 3 signs (predicate SignPredicateType) pushed as a
// referrer, and cosign's simple-signing payload under sha256-<hex>.sig,
// appended to any signatures already there.
func Sign(ctx context.Context, ref string, s *Signer, opts ...Option) (*Result, error) {
	o := makeOptions(opts)
	d, err := o.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	res := &Result{Ref: d.String(), Digest: d.DigestStr(), Signer: s.identity, Format: o.format}
	if o.format.legacy() {
		if err := s.signLegacy(ctx, o, d, res); err != nil {
			return nil, err
		}
	}
	if o.format.bundle() {
		hexDigest, err := digestHex(d)
		if err != nil {
			return nil, err
		}
		st, err := signStatementJSON(d, hexDigest, o.now().Unix())
		if err != nil {
			return nil, err
		}
		if err := s.writeBundle(ctx, o, d, st, SignPredicateType, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func (s *Signer) signLegacy(ctx context.Context, o *options, d name.Digest, res *Result) error {
	payload, err := (&sigpayload.Cosign{
		Image:       d,
		Annotations: map[string]any{TimestampKey: o.now().Unix()},
	}).MarshalJSON()
	if err != nil {
		return fmt.Errorf("building the signature payload for %s: %w", d, err)
	}
	raw, err := s.sv.SignMessage(bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("signing %s: %w", d, err)
	}
	b64 := base64.StdEncoding.EncodeToString(raw)
	var sopts []static.Option
	if s.certPEM != nil {
		sopts = append(sopts, static.WithCertChain(s.certPEM, s.chainPEM))
	}
	rb, err := s.uploadSignature(ctx, payload, raw)
	if err != nil {
		return err
	}
	if rb != nil {
		sopts = append(sopts, static.WithBundle(rb))
	}
	sig, err := static.NewSignature(payload, b64, sopts...)
	if err != nil {
		return err
	}
	se := ociremote.SignedUnknown(d, o.ociOpts()...)
	se, err = mutate.AttachSignatureToEntity(se, sig, mutate.WithDupeDetector(dupeDetector{s.sv}))
	if err != nil {
		return fmt.Errorf("attaching the signature to %s: %w", d, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := ociremote.WriteSignatures(d.Repository, se, o.ociOpts()...); err != nil {
		return fmt.Errorf("writing the signature of %s to %s: %w", d, d.Repository, err)
	}
	tag, _ := ociremote.SignatureTag(d, o.ociOpts()...)
	res.Tag, res.TLogIndex = tag.String(), logIndex(rb)
	return nil
}

// Statement is an in-toto v1 statement (attest owns the type).
type Statement = attest.Statement

// Subject is one artifact an in-toto statement is about.
type Subject = attest.Subject

// StatementType is the in-toto v1 statement type.
const StatementType = attest.StatementType

// Attest wraps predicate (JSON) in an in-toto v1 statement whose subject
// is the manifest digest ref resolves to, signs it as a DSSE envelope and
// attaches it as WithFormat says (default both): a Sigstore bundle
// referrer and cosign's sha256-<hex>.att tag. WithReplace applies to the
// legacy tag only.
func Attest(ctx context.Context, ref string, s *Signer, predicateType string, predicate []byte, opts ...Option) (*Result, error) {
	o := makeOptions(opts)
	if predicateType == "" {
		return nil, errors.New("attest: empty predicate type: give a URI such as " + EvalPredicateType)
	}
	if !json.Valid(predicate) {
		return nil, fmt.Errorf("attest: the %s predicate is not valid JSON", predicateType)
	}
	d, err := o.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	hexDigest, err := digestHex(d)
	if err != nil {
		return nil, err
	}
	st := Statement{
		Type:          StatementType,
		Subject:       []Subject{{Name: d.Repository.Name(), Digest: map[string]string{"sha256": hexDigest}}},
		PredicateType: predicateType,
		Predicate:     json.RawMessage(predicate),
	}
	payload, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("encoding the in-toto statement: %w", err)
	}
	res := &Result{Ref: d.String(), Digest: d.DigestStr(), Signer: s.identity, PredicateType: predicateType, Format: o.format}
	if o.format.legacy() {
		if err := s.attestLegacy(ctx, o, d, payload, predicateType, res); err != nil {
			return nil, err
		}
	}
	if o.format.bundle() {
		if err := s.writeBundle(ctx, o, d, payload, predicateType, res); err != nil {
			return nil, fmt.Errorf("the %s attestation: %w", predicateType, err)
		}
	}
	return res, nil
}

func (s *Signer) attestLegacy(ctx context.Context, o *options, d name.Digest, payload []byte, predicateType string, res *Result) error {
	envelope, err := dsse.WrapSigner(s.sv, types.IntotoPayloadType).SignMessage(bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("signing the %s attestation of %s: %w", predicateType, d, err)
	}
	sopts := []static.Option{
		static.WithLayerMediaType(types.DssePayloadType),
		static.WithAnnotations(map[string]string{"predicateType": predicateType}),
	}
	if s.certPEM != nil {
		sopts = append(sopts, static.WithCertChain(s.certPEM, s.chainPEM))
	}
	rb, err := s.uploadEnvelope(ctx, envelope)
	if err != nil {
		return err
	}
	if rb != nil {
		sopts = append(sopts, static.WithBundle(rb))
	}
	att, err := static.NewAttestation(envelope, sopts...)
	if err != nil {
		return err
	}
	sopt := []mutate.SignOption{mutate.WithDupeDetector(dupeDetector{s.sv})}
	if o.replace {
		sopt = append(sopt, mutate.WithReplaceOp(replaceOp{predicateType}))
	}
	se := ociremote.SignedUnknown(d, o.ociOpts()...)
	se, err = mutate.AttachAttestationToEntity(se, att, sopt...)
	if err != nil {
		return fmt.Errorf("attaching the attestation to %s: %w", d, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := ociremote.WriteAttestations(d.Repository, se, o.ociOpts()...); err != nil {
		return fmt.Errorf("writing the attestation of %s to %s: %w", d, d.Repository, err)
	}
	tag, _ := ociremote.AttestationTag(d, o.ociOpts()...)
	res.Tag, res.TLogIndex = tag.String(), logIndex(rb)
	return nil
}

func digestHex(d name.Digest) (string, error) {
	ds := d.DigestStr()
	if len(ds) != len("sha256:")+64 || ds[:7] != "sha256:" {
		return "", fmt.Errorf("digest %s: only sha256 digests are supported", ds)
	}
	if _, err := hex.DecodeString(ds[7:]); err != nil {
		return "", fmt.Errorf("digest %s: %w", ds, err)
	}
	return ds[7:], nil
}

func logIndex(rb *bundle.RekorBundle) *int64 {
	if rb == nil {
		return nil
	}
	i := rb.Payload.LogIndex
	return &i
}
