package sign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/testenv"
)

func floatp(f float64) *float64 { return &f }

func mustRekorKey(t *testing.T) crypto.PublicKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k.Public()
}

// TestSignVerifyRefusals signs and attests artifacts in a registry and
// checks Verify accepts them, and refuses each tampering with a message
// naming the rule.
func TestSignVerifyRefusals(t *testing.T) {
	t.Parallel()
	host := testenv.InProcessRegistry(t)
	keyPath, pubPath := keyPair(t, "cosign")
	otherKey, otherPub := keyPair(t, "other")
	s := keySigner(t, keyPath)
	key := pubKey(t, pubPath)

	// good: signed, with a passing eval and a provenance attestation.
	good := pushRandom(t, host, "acme/iris", "v1")
	if _, err := Sign(bg, host+"/acme/iris:v1", s); err != nil {
		t.Fatal(err)
	}
	if _, err := Attest(bg, good.String(), s, EvalPredicateType, evalResult(t, 0.95, true)); err != nil {
		t.Fatal(err)
	}
	prov, err := ProvenancePredicate(ProvenanceFromEnv(func(k string) string {
		return map[string]string{gha.VarWorkflowRef: "acme/iris/.github/workflows/train.yml@refs/heads/main", gha.VarRepository: "acme/iris", gha.VarSHA: "0123456789abcdef0123456789abcdef01234567", gha.VarRunID: "42"}[k]
	}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Attest(bg, good.String(), s, ProvenancePredicateType, prov); err != nil {
		t.Fatal(err)
	}

	// unsigned: pushed, never signed.
	unsigned := pushRandom(t, host, "acme/iris", "unsigned")

	// other: signed by another key.
	other := pushRandom(t, host, "acme/iris", "other")
	if _, err := Sign(bg, other.String(), keySigner(t, otherKey)); err != nil {
		t.Fatal(err)
	}

	// moved: signed, then the tag moved to a new manifest.
	pushRandom(t, host, "acme/iris", "moved")
	if _, err := Sign(bg, host+"/acme/iris:moved", s); err != nil {
		t.Fatal(err)
	}
	pushRandom(t, host, "acme/iris", "moved")

	// replayed: the good artifact's signature and attestations copied onto
	// another manifest's cosign tags.
	replayed := pushRandom(t, host, "acme/iris", "replayed")
	copyTag(t, host+"/acme/iris:sha256-"+good.DigestStr()[7:]+".sig", host+"/acme/iris:sha256-"+replayed.DigestStr()[7:]+".sig")
	copyTag(t, host+"/acme/iris:sha256-"+good.DigestStr()[7:]+".att", host+"/acme/iris:sha256-"+replayed.DigestStr()[7:]+".att")

	// gatefail: signed, eval attested with a failing gate.
	gatefail := pushRandom(t, host, "acme/iris", "gatefail")
	if _, err := Sign(bg, gatefail.String(), s); err != nil {
		t.Fatal(err)
	}
	if _, err := Attest(bg, gatefail.String(), s, EvalPredicateType, evalResult(t, 0.71, false)); err != nil {
		t.Fatal(err)
	}
	// attsub: signed, with an eval attestation whose subject is another
	// digest (signed by the right key, attached to the wrong artifact).
	attsub := pushRandom(t, host, "acme/iris", "attsub")
	if _, err := Sign(bg, attsub.String(), s); err != nil {
		t.Fatal(err)
	}
	copyTag(t, host+"/acme/iris:sha256-"+good.DigestStr()[7:]+".att", host+"/acme/iris:sha256-"+attsub.DigestStr()[7:]+".att")

	keyOnly := &Policy{Keys: []PublicKey{key}}
	withEval := &Policy{Keys: []PublicKey{key}, Attestations: []AttestationRule{NewAttestationRule("eval")}}
	prod := &Policy{Keys: []PublicKey{key}, Attestations: []AttestationRule{
		{PredicateType: EvalPredicateType, RequirePassed: true, Gates: map[string]Bound{"accuracy": {Min: floatp(0.9)}}},
		NewAttestationRule("provenance"),
	}}
	strictGate := &Policy{Keys: []PublicKey{key}, Attestations: []AttestationRule{
		{PredicateType: EvalPredicateType, RequirePassed: true, Gates: map[string]Bound{"accuracy": {Min: floatp(0.99)}}},
	}}
	tlog := &Policy{Keys: []PublicKey{key}, RequireTLog: true, Trust: &TrustRoot{RekorKeys: []crypto.PublicKey{mustRekorKey(t)}}}
	young := &Policy{Keys: []PublicKey{key}, MaxAge: time.Hour}

	tests := []struct {
		name   string
		ref    string
		policy *Policy
		opts   []Option
		want   string // "" accepts
	}{
		{"signed by tag", host + "/acme/iris:v1", keyOnly, nil, ""},
		{"signed by digest", good.String(), keyOnly, nil, ""},
		{"eval and provenance", good.String(), prod, nil, ""},
		{"either key", good.String(), &Policy{Keys: []PublicKey{pubKey(t, otherPub), key}}, nil, ""},
		{"within max age", good.String(), young, nil, ""},
		{"unsigned", unsigned.String(), keyOnly, nil, "unsigned"},
		{"signed by another key", other.String(), keyOnly, nil, "not signed by key cosign.pub"},
		{"tag moved to a new manifest", host + "/acme/iris:moved", keyOnly, nil, "unsigned"},
		{"signature replayed on another digest", replayed.String(), keyOnly, nil, "the signature is for " + good.DigestStr()},
		{"no eval attestation", other.String(), &Policy{Keys: []PublicKey{pubKey(t, otherPub)}, Attestations: withEval.Attestations}, nil, "no eval attestation"},
		{"attestation subject differs", attsub.String(), withEval, nil, "subject is " + good.DigestStr()},
		{"attestations replayed", replayed.String(), withEval, nil, "the signature is for"},
		{"failed eval gate", gatefail.String(), withEval, nil, "eval gate failed: accuracy 0.71 < 0.9"},
		{"environment gate stricter", good.String(), strictGate, nil, "eval gate failed: accuracy 0.95 < 0.99"},
		{"no tlog entry", good.String(), tlog, nil, "no verified transparency-log entry"},
		{"too old", good.String(), young, []Option{WithClock(func() time.Time { return time.Now().Add(2 * time.Hour) })}, "signature too old"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := Verify(bg, tt.ref, tt.policy, tt.opts...)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if !strings.HasPrefix(v.Digest, "sha256:") || len(v.Signatures) == 0 {
					t.Fatalf("Verified = %+v", v)
				}
				if got := len(v.Attestations); got != len(tt.policy.Attestations) {
					t.Fatalf("verified %d attestations, policy requires %d", got, len(tt.policy.Attestations))
				}
				return
			}
			refusal(t, err, tt.want)
		})
	}
}
