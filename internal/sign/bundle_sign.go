package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/cosign/v2/pkg/types"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// keypair adapts a loaded key (cosign key or keyless ephemeral key) to
// sigstore-go's sign.Keypair, so bundles are built by sigstore-go.
type keypair struct {
	sv   signature.SignerVerifier
	pub  crypto.PublicKey
	alg  signature.AlgorithmDetails
	hint []byte
}

func newKeypair(sv signature.SignerVerifier) (*keypair, error) {
	pub, err := sv.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("reading the signing key's public key: %w", err)
	}
	alg, err := signature.GetDefaultAlgorithmDetails(pub)
	if err != nil {
		return nil, fmt.Errorf("the signing key's algorithm: %w", err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	return &keypair{sv: sv, pub: pub, alg: alg, hint: []byte(base64.StdEncoding.EncodeToString(sum[:]))}, nil
}

func (k *keypair) GetHashAlgorithm() protocommon.HashAlgorithm { return k.alg.GetProtoHashType() }
func (k *keypair) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	return k.alg.GetSignatureAlgorithm()
}
func (k *keypair) GetHint() []byte                { return k.hint }
func (k *keypair) GetPublicKey() crypto.PublicKey { return k.pub }

func (k *keypair) GetKeyAlgorithm() string {
	switch k.alg.GetKeyType() {
	case signature.ECDSA:
		return "ECDSA"
	case signature.RSA:
		return "RSA"
	case signature.ED25519:
		return "ED25519"
	}
	return ""
}

func (k *keypair) GetPublicKeyPem() (string, error) {
	b, err := cryptoutils.MarshalPublicKeyToPEM(k.pub)
	return string(b), err
}

// SignData signs data (the DSSE pre-authentication encoding) and returns
// the signature and the digest signed.
func (k *keypair) SignData(_ context.Context, data []byte) ([]byte, []byte, error) {
	sig, err := k.sv.SignMessage(bytes.NewReader(data))
	if err != nil {
		return nil, nil, err
	}
	hf := k.alg.GetHashType()
	if hf == crypto.Hash(0) {
		return sig, data, nil
	}
	h := hf.New()
	h.Write(data)
	return sig, h.Sum(nil), nil
}

// staticCert hands sigstore-go the certificate Keyless already obtained,
// so one ephemeral key and certificate serve every signature of a run.
type staticCert struct{ der []byte }

func (c staticCert) GetCertificate(context.Context, sgsign.Keypair, *sgsign.CertificateProviderOptions) ([]byte, error) {
	return c.der, nil
}

// signStatement builds a Sigstore bundle (v0.3) of the in-toto statement
// payload: a DSSE envelope signed by s, its key hint or Fulcio
// certificate, a Rekor entry with inclusion proof when s logs, and an
// RFC 3161 timestamp when s has a timestamp authority.
func (s *Signer) signStatement(ctx context.Context, payload []byte) ([]byte, *int64, error) {
	kp, err := newKeypair(s.sv)
	if err != nil {
		return nil, nil, err
	}
	opts := sgsign.BundleOptions{Context: ctx}
	if s.certPEM != nil {
		blk, _ := pem.Decode(s.certPEM)
		if blk == nil {
			return nil, nil, errors.New("the signing certificate is not PEM")
		}
		opts.CertificateProvider = staticCert{der: blk.Bytes}
	}
	if s.tsaURL != "" {
		opts.TimestampAuthorities = []*sgsign.TimestampAuthority{sgsign.NewTimestampAuthority(&sgsign.TimestampAuthorityOptions{URL: s.tsaURL, Transport: s.transport})}
	}
	if s.rekorURL != "" {
		opts.TransparencyLogs = []sgsign.Transparency{sgsign.NewRekor(&sgsign.RekorOptions{BaseURL: s.rekorURL})}
	}
	pb, err := sgsign.Bundle(&sgsign.DSSEData{Data: payload, PayloadType: types.IntotoPayloadType}, kp, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("building the Sigstore bundle: %w", err)
	}
	b, err := sgbundle.NewBundle(pb)
	if err != nil {
		return nil, nil, fmt.Errorf("the Sigstore bundle built is invalid: %w", err)
	}
	raw, err := b.MarshalJSON()
	if err != nil {
		return nil, nil, err
	}
	var idx *int64
	if es := pb.GetVerificationMaterial().GetTlogEntries(); len(es) > 0 {
		i := es[0].GetLogIndex()
		idx = &i
	}
	return raw, idx, nil
}

// signStatementJSON is cosign 3's statement for `cosign sign`, plus the
// subject's name and the signing time (signed, for max-age checks with
// neither tlog nor timestamp authority).
func signStatementJSON(d name.Digest, hexDigest string, unix int64) ([]byte, error) {
	type subject struct {
		Name        string            `json:"name"`
		Digest      map[string]string `json:"digest"`
		Annotations map[string]any    `json:"annotations,omitempty"`
	}
	return json.Marshal(struct {
		Type          string    `json:"_type"`
		Subject       []subject `json:"subject"`
		PredicateType string    `json:"predicateType"`
		Predicate     struct{}  `json:"predicate"`
	}{
		Type:          StatementType,
		Subject:       []subject{{Name: d.Repository.Name(), Digest: map[string]string{"sha256": hexDigest}, Annotations: map[string]any{TimestampKey: unix}}},
		PredicateType: SignPredicateType,
	})
}

// writeBundle signs payload as a bundle and pushes it as a referrer of d.
func (s *Signer) writeBundle(ctx context.Context, o *options, d name.Digest, payload []byte, predicateType string, res *Result) error {
	raw, idx, err := s.signStatement(ctx, payload)
	if err != nil {
		return fmt.Errorf("signing %s: %w", d, err)
	}
	ref, err := o.pushBundle(ctx, d, raw, predicateType)
	if err != nil {
		return err
	}
	res.Bundles = append(res.Bundles, raw)
	res.Referrers = append(res.Referrers, ref)
	if res.TLogIndex == nil {
		res.TLogIndex = idx
	}
	return nil
}
