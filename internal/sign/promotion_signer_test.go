package sign

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mlship/mlship/internal/attest"
	"github.com/mlship/mlship/internal/spec"
	"github.com/mlship/mlship/internal/testenv"
)

// TestPromotionSignerApart: with promotion signers in the policy, a
// promotion record signed with the candidates' key (which pull-request
// workflows hold) is refused, while that key still verifies the
// artifact's signature; the promotion key's record is accepted.
func TestPromotionSignerApart(t *testing.T) {
	t.Parallel()
	host := testenv.InProcessRegistry(t)
	fo := WithFormat(FormatLegacy)
	artKey, artPub := keyPair(t, "cosign")
	proKey, proPub := keyPair(t, "promotion")
	art, pro := keySigner(t, artKey), keySigner(t, proKey)
	mk := func(tag string, by *Signer) string {
		d := pushRandom(t, host, "acme/iris", tag)
		if _, err := Sign(bg, d.String(), art, fo); err != nil {
			t.Fatal(err)
		}
		if _, err := Attest(bg, d.String(), by, attest.PromotionType, promotionRecord(t, "prod", d.Context().Name()), fo); err != nil {
			t.Fatal(err)
		}
		return d.String()
	}
	forged, genuine := mk("forged", art), mk("genuine", pro)
	// The spec's view: signing.key signs candidates, signing.promotion.key records.
	dir := t.TempDir()
	for _, f := range []struct{ src, dst string }{{artPub, "cosign.pub"}, {proPub, "promotion.pub"}} {
		b, err := os.ReadFile(f.src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.dst), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m := &spec.Model{Dir: dir, Signing: spec.Signing{Key: "cosign.pub", Promotion: &spec.PromotionSigning{Key: "promotion.pub"}},
		Environments: map[string]spec.Environment{"prod": {Attestations: []string{"promotion"}}}, EnvironmentOrder: []string{"prod"}}
	pol, err := PolicyFromSpec(m, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(pol.PromotionKeys) != 1 || pol.PromotionKeys[0].Name != "promotion.pub" {
		t.Fatalf("promotion keys from the spec = %+v", pol.PromotionKeys)
	}
	pol.Attestations = []AttestationRule{NewPromotionRule("prod")}
	if _, err := Verify(bg, forged, pol); err == nil {
		t.Error("a record signed with the candidates' key was accepted")
	} else {
		refusal(t, err, "not signed by key promotion.pub")
	}
	v, err := Verify(bg, genuine, pol)
	if err != nil {
		t.Fatalf("the promotion key's record: %v", err)
	}
	if len(v.Attestations) != 1 || v.Attestations[0].Signer != "key promotion.pub" || len(v.Signatures) != 1 || v.Signatures[0].Signer != "key cosign.pub" {
		t.Errorf("verified = %+v", v)
	}
	// The promotion key does not sign candidates.
	sigOnly := &Policy{PromotionKeys: pol.PromotionKeys, Keys: []PublicKey{pubKey(t, proPub)}}
	sigOnly.PromotionKeys = nil
	if _, err := Verify(bg, genuine, sigOnly); err == nil {
		t.Error("the artifact verified with the promotion key alone")
	}
	// A keyless promotion signer from the spec.
	m.Signing.Promotion = &spec.PromotionSigning{Keyless: &spec.Keyless{IdentityRegexp: "^https://github.com/acme/iris/", Issuer: GitHubIssuer}}
	pol, err = PolicyFromSpec(m, "", nil)
	if err != nil || len(pol.PromotionIdentities) != 1 || pol.PromotionIdentities[0].SubjectRegexp == "" {
		t.Fatalf("keyless promotion signer: %+v, %v", pol, err)
	}
}
