package sign

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sigstore/cosign/v2/pkg/oci"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// legacyMediaType is the bundle version a legacy signature converts to:
// v0.1 carries Rekor inclusion promises (signed entry timestamps) without
// inclusion proofs, which is what cosign 2's bundle annotation holds.
const legacyMediaType = "application/vnd.dev.sigstore.bundle+json;version=0.1"

// legacyBundle converts one layer of cosign's legacy tags into a Sigstore
// bundle, so that one verifier (sigstore-go) checks both formats: a
// signature becomes a message signature over its simple-signing payload,
// an attestation its DSSE envelope; the certificate, or a key hint, is the
// verification material; the Rekor bundle annotation becomes a tlog entry
// with its inclusion promise.
func legacyBundle(where string, sig oci.Signature, attestation bool) foundBundle {
	fb := foundBundle{where: where, legacy: true}
	fail := func(err error) foundBundle {
		fb.err = fmt.Errorf("%s: %w", where, err)
		return fb
	}
	p, err := sig.Payload()
	if err != nil {
		return fail(err)
	}
	pb := &protobundle.Bundle{MediaType: legacyMediaType, VerificationMaterial: &protobundle.VerificationMaterial{}}
	if attestation {
		var env struct {
			PayloadType string `json:"payloadType"`
			Payload     string `json:"payload"`
			Signatures  []struct {
				KeyID string `json:"keyid"`
				Sig   string `json:"sig"`
			} `json:"signatures"`
		}
		if err := json.Unmarshal(p, &env); err != nil {
			return fail(fmt.Errorf("the attestation is not a DSSE envelope: %w", err))
		}
		body, err := base64.StdEncoding.DecodeString(env.Payload)
		if err != nil {
			return fail(fmt.Errorf("the attestation's payload is not base64: %w", err))
		}
		de := &protodsse.Envelope{Payload: body, PayloadType: env.PayloadType}
		for _, s := range env.Signatures {
			raw, err := base64.StdEncoding.DecodeString(s.Sig)
			if err != nil {
				return fail(fmt.Errorf("an attestation signature is not base64: %w", err))
			}
			de.Signatures = append(de.Signatures, &protodsse.Signature{Sig: raw, Keyid: s.KeyID})
		}
		pb.Content = &protobundle.Bundle_DsseEnvelope{DsseEnvelope: de}
	} else {
		b64, err := sig.Base64Signature()
		if err != nil {
			return fail(err)
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return fail(fmt.Errorf("the signature annotation is not base64: %w", err))
		}
		sum := sha256.Sum256(p)
		pb.Content = &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: sum[:]},
			Signature:     raw,
		}}
		fb.simple = p
	}
	cert, err := sig.Cert()
	if err != nil {
		return fail(err)
	}
	if cert != nil {
		pb.VerificationMaterial.Content = &protobundle.VerificationMaterial_X509CertificateChain{X509CertificateChain: &protocommon.X509CertificateChain{
			Certificates: []*protocommon.X509Certificate{{RawBytes: cert.Raw}},
		}}
	} else {
		pb.VerificationMaterial.Content = &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{}}
	}
	rb, err := sig.Bundle()
	if err != nil {
		return fail(err)
	}
	if rb != nil {
		tle, err := legacyTlogEntry(rb.SignedEntryTimestamp, rb.Payload.Body, rb.Payload.IntegratedTime, rb.Payload.LogIndex, rb.Payload.LogID)
		if err != nil {
			return fail(err)
		}
		pb.VerificationMaterial.TlogEntries = []*protorekor.TransparencyLogEntry{tle}
	}
	b, err := sgbundle.NewBundle(pb)
	if err != nil {
		return fail(err)
	}
	fb.b = b
	if attestation {
		st, err := parseStatement(pb.GetDsseEnvelope())
		if err != nil {
			return fail(err)
		}
		fb.st, fb.payload = st, pb.GetDsseEnvelope().GetPayload()
	}
	return fb
}

// legacyTlogEntry is cosign 2's Rekor bundle annotation as a tlog entry.
func legacyTlogEntry(set []byte, body any, integrated, index int64, logID string) (*protorekor.TransparencyLogEntry, error) {
	b64, ok := body.(string)
	if !ok {
		return nil, fmt.Errorf("the Rekor bundle's body is a %T, not base64", body)
	}
	canon, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("the Rekor bundle's body is not base64: %w", err)
	}
	var kv struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
	}
	if err := json.Unmarshal(canon, &kv); err != nil {
		return nil, fmt.Errorf("the Rekor bundle's body is not an entry: %w", err)
	}
	id, err := hex.DecodeString(logID)
	if err != nil {
		return nil, fmt.Errorf("the Rekor bundle's log id is not hex: %w", err)
	}
	return &protorekor.TransparencyLogEntry{
		LogIndex:          index,
		LogId:             &protocommon.LogId{KeyId: id},
		KindVersion:       &protorekor.KindVersion{Kind: kv.Kind, Version: kv.APIVersion},
		IntegratedTime:    integrated,
		InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: set},
		CanonicalizedBody: canon,
	}, nil
}

// simpleSubject checks a simple-signing payload is about digest h.
func simpleSubject(p []byte, h string) error {
	var ss payload.SimpleContainerImage
	if err := json.Unmarshal(p, &ss); err != nil {
		return &claimError{"the signed payload is not a cosign simple-signing payload"}
	}
	if got := ss.Critical.Image.DockerManifestDigest; got != h {
		return &claimError{fmt.Sprintf("the signature is for %s, not %s", got, h)}
	}
	return nil
}

// simpleTime is the signing time a simple-signing payload records in
// optional.timestamp (Unix seconds, or RFC 3339); zero when absent.
func simpleTime(p []byte) time.Time {
	var ss payload.SimpleContainerImage
	if json.Unmarshal(p, &ss) != nil {
		return time.Time{}
	}
	switch ts := ss.Optional[TimestampKey].(type) {
	case float64:
		return time.Unix(int64(ts), 0).UTC()
	case string:
		if t, err := time.Parse(time.RFC3339, ts); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
