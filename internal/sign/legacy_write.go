package sign

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/sigstore/sigstore/pkg/signature"
)

// dupeDetector finds a legacy signature layer that already says what a
// new one says (same payload, media type and annotations, a signature by
// the same key), so re-signing does not grow the tag: cosign's rule.
type dupeDetector struct{ v signature.Verifier }

var _ mutate.DupeDetector = dupeDetector{}

func (dd dupeDetector) Find(sigImage oci.Signatures, newSig oci.Signature) (oci.Signature, error) {
	newDigest, err := newSig.Digest()
	if err != nil {
		return nil, err
	}
	newMediaType, err := newSig.MediaType()
	if err != nil {
		return nil, err
	}
	newAnnotations, err := newSig.Annotations()
	if err != nil {
		return nil, err
	}
	sigs, err := sigImage.Get()
	if err != nil {
		return nil, err
	}
next:
	for _, sig := range sigs {
		existing, err := sig.Annotations()
		if err != nil {
			continue
		}
		for a, v := range newAnnotations {
			if a == static.SignatureAnnotationKey {
				continue
			}
			if got, ok := existing[a]; !ok || got != v {
				continue next
			}
		}
		if d, err := sig.Digest(); err != nil || d != newDigest {
			continue
		}
		if mt, err := sig.MediaType(); err != nil || mt != newMediaType {
			continue
		}
		b64, err := sig.Base64Signature()
		if err != nil || b64 == "" {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			continue
		}
		payload, err := newSig.Payload()
		if err != nil {
			return nil, err
		}
		if dd.v.VerifySignature(bytes.NewReader(raw), bytes.NewReader(payload)) == nil {
			return sig, nil
		}
	}
	return nil, nil
}

// replaceOp drops the legacy attestations of one predicate type when a
// new one is attached (--replace), as cosign attest --replace does.
type replaceOp struct{ predicateType string }

var _ mutate.ReplaceOp = replaceOp{}

func (r replaceOp) Replace(signatures oci.Signatures, o oci.Signature) (oci.Signatures, error) {
	sigs, err := signatures.Get()
	if err != nil {
		return nil, err
	}
	keep := []oci.Signature{o}
	for _, s := range sigs {
		p, err := s.Payload()
		if err != nil {
			return nil, fmt.Errorf("reading an attestation's payload: %w", err)
		}
		var env struct {
			Payload string `json:"payload"`
		}
		if err := json.Unmarshal(p, &env); err != nil {
			return nil, fmt.Errorf("an attached attestation is not a DSSE envelope: %w", err)
		}
		raw, err := base64.StdEncoding.DecodeString(env.Payload)
		if err != nil {
			return nil, fmt.Errorf("an attached attestation's payload is not base64: %w", err)
		}
		var st struct {
			PredicateType string `json:"predicateType"`
		}
		if err := json.Unmarshal(raw, &st); err != nil {
			return nil, fmt.Errorf("an attached attestation is not an in-toto statement: %w", err)
		}
		if st.PredicateType != r.predicateType {
			keep = append(keep, s)
		}
	}
	return replaced{Signatures: signatures, list: keep}, nil
}

type replaced struct {
	oci.Signatures
	list []oci.Signature
}

func (r replaced) Get() ([]oci.Signature, error) { return r.list, nil }
