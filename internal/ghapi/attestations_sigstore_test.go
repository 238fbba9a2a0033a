package ghapi

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/mlship/mlship/internal/githubtest"
)

// Bundles as sigstore-go writes them (the library cosign 3 and gh use) go
// to GitHub, come back, and still verify: DSSE with an in-toto statement,
// and a plain message signature.
func TestAttestationsRealSigstoreBundles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := githubtest.New(t)
	c := newClient(t, s)
	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := signature.LoadVerifier(kp.GetPublicKey(), crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	trusted := root.NewTrustedPublicKeyMaterialFromMapping(map[string]*root.ExpiringKey{string(kp.GetHint()): root.NewExpiringKey(v, time.Time{}, time.Time{})})
	verifier, err := verify.NewVerifier(trusted, verify.WithNoObserverTimestamps())
	if err != nil {
		t.Fatal(err)
	}

	model := []byte("model manifest bytes")
	sum := sha256.Sum256(model)
	digest := hex.EncodeToString(sum[:])
	statement, _ := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": "ghcr.io/acme/iris", "digest": map[string]string{"sha256": digest}}},
		"predicateType": "https://mlship.dev/attestations/promotion/v1",
		"predicate":     map[string]any{"environment": "prod"},
	})
	tests := []struct {
		name    string
		content sign.Content
		filter  string
	}{
		{"dsse statement", &sign.DSSEData{Data: statement, PayloadType: "application/vnd.in-toto+json"}, "https://mlship.dev/attestations/promotion/v1"},
		{"message signature", &sign.PlainData{Data: model}, ""},
	}
	for _, tt := range tests {
		pb, err := sign.Bundle(tt.content, kp, sign.BundleOptions{})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		raw, err := protojson.Marshal(pb)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateAttestation(ctx, owner, repo, raw); err != nil {
			t.Fatalf("%s: GitHub refused a sigstore-go bundle: %v", tt.name, err)
		}
		got, err := c.ListAttestations(ctx, owner, repo, "sha256:"+digest, AttestationFilter{PredicateType: tt.filter})
		if err != nil || len(got) == 0 {
			t.Fatalf("%s: listed %d (%v)", tt.name, len(got), err)
		}
		var b bundle.Bundle
		if err := b.UnmarshalJSON(got[0].Bundle); err != nil {
			t.Fatalf("%s: returned bundle does not parse: %v", tt.name, err)
		}
		if _, err := verifier.Verify(&b, verify.NewPolicy(verify.WithArtifactDigest("sha256", sum[:]), verify.WithKey())); err != nil {
			t.Fatalf("%s: returned bundle does not verify: %v", tt.name, err)
		}
	}
	if got := s.Attestations(owner, repo); len(got) != 2 || got[0].PredicateType == "" || got[1].PredicateType != "" {
		t.Fatalf("stored %+v", got)
	}
}
