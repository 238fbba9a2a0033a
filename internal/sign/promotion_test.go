package sign

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/mlship/mlship/internal/attest"
	"github.com/mlship/mlship/internal/testenv"
)

func promotionRecord(t *testing.T, env, repo string) []byte {
	t.Helper()
	b, err := json.Marshal(attest.Promotion{
		Environment: env,
		Repository:  repo,
		Git:         attest.PromotionGit{Repository: "acme/iris", MergeCommit: "0123456789abcdef0123456789abcdef01234567"},
		Rules:       []attest.PromotionRule{{Name: "signature", Outcome: "pass"}},
		PromotedAt:  time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC),
		Tag:         env,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPromotionRule checks that a promotion rule accepts only a record
// for its environment, by an accepted signer, about exactly the digest.
func TestPromotionRule(t *testing.T) {
	t.Parallel()
	for _, f := range []Format{FormatLegacy, FormatBundle} {
		t.Run(string(f), func(t *testing.T) {
			t.Parallel()
			testPromotionRule(t, f)
		})
	}
}

func testPromotionRule(t *testing.T, f Format) {
	host := testenv.InProcessRegistry(t, registry.WithReferrersSupport(f == FormatBundle))
	fo := WithFormat(f)
	var prodBundle []byte
	keyPath, pubPath := keyPair(t, "cosign")
	otherKey, _ := keyPair(t, "other")
	s := keySigner(t, keyPath)
	key := pubKey(t, pubPath)

	attestTo := func(t *testing.T, s *Signer, tag, env string) string {
		t.Helper()
		d := pushRandom(t, host, "acme/iris", tag)
		if _, err := Sign(bg, d.String(), keySigner(t, keyPath), fo); err != nil {
			t.Fatal(err)
		}
		if env != "" {
			r, err := Attest(bg, d.String(), s, attest.PromotionType, promotionRecord(t, env, d.Context().Name()), fo)
			if err != nil {
				t.Fatal(err)
			}
			if tag == "prod" && f == FormatBundle {
				prodBundle = r.Bundles[0]
			}
		}
		return d.String()
	}
	prod := attestTo(t, s, "prod", "prod")
	dev := attestTo(t, s, "dev", "dev")
	none := attestTo(t, s, "none", "")
	byOther := attestTo(t, keySigner(t, otherKey), "byother", "prod")
	// replayed: prod's attestations copied onto another digest's tag.
	replayed := pushRandom(t, host, "acme/iris", "replayed")
	if _, err := Sign(bg, replayed.String(), s, fo); err != nil {
		t.Fatal(err)
	}
	if f == FormatLegacy {
		copyTag(t, host+"/acme/iris:sha256-"+prod[len(prod)-64:]+".att", host+"/acme/iris:sha256-"+replayed.DigestStr()[7:]+".att")
	} else if _, err := makeOptions(nil).pushBundle(bg, replayed, prodBundle, attest.PromotionType); err != nil {
		t.Fatal(err)
	}
	// bad: a promotion predicate without a merge commit.
	bad := pushRandom(t, host, "acme/iris", "bad")
	if _, err := Sign(bg, bad.String(), s, fo); err != nil {
		t.Fatal(err)
	}
	if _, err := Attest(bg, bad.String(), s, attest.PromotionType, []byte(`{"environment":"prod"}`), fo); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, ref, env, want string
	}{
		{"record for the environment", prod, "prod", ""},
		{"record for another environment", dev, "prod", "no promotion record for prod (found records for dev)"},
		{"no record", none, "prod", "no promotion record for prod"},
		{"record by another key", byOther, "prod", "no promotion record for prod (not signed by key cosign.pub"},
		{"record about another digest", replayed.String(), "prod", "subject is sha256:" + prod[len(prod)-64:]},
		{"unreadable record", bad.String(), "prod", "no merge commit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pol := &Policy{Keys: []PublicKey{key}, Attestations: []AttestationRule{NewPromotionRule(tt.env)}}
			v, err := Verify(bg, tt.ref, pol)
			if tt.want != "" {
				refusal(t, err, tt.want)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(v.Attestations) != 1 || v.Attestations[0].PredicateType != attest.PromotionType || v.Attestations[0].Format != string(f) {
				t.Fatalf("attestations = %+v", v.Attestations)
			}
		})
	}
}
