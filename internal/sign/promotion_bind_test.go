package sign

import (
	"encoding/json"
	"testing"

	"github.com/mlship/mlship/internal/attest"
	"github.com/mlship/mlship/internal/testenv"
)

// TestPromotionRecordBinding tries to get a promotion record accepted for
// something it is not about: a record naming another repository (an
// organisation-wide key, the record copied with its referrers), a record
// whose statement lists several digests (one signature promoting a
// batch), and checks the verified attestation carries the predicate of
// the statement that verified, not of a look-alike attached beside it.
func TestPromotionRecordBinding(t *testing.T) {
	t.Parallel()
	host := testenv.InProcessRegistry(t)
	fo := WithFormat(FormatLegacy)
	keyPath, pubPath := keyPair(t, "cosign")
	otherKey, _ := keyPair(t, "other")
	s := keySigner(t, keyPath)
	key := pubKey(t, pubPath)
	signed := func(t *testing.T, tag string) string {
		t.Helper()
		d := pushRandom(t, host, "acme/a", tag)
		if _, err := Sign(bg, d.String(), s, fo); err != nil {
			t.Fatal(err)
		}
		return d.String()
	}
	attestRec := func(t *testing.T, ref string, by *Signer, env, repo string) {
		t.Helper()
		if _, err := Attest(bg, ref, by, attest.PromotionType, promotionRecord(t, env, repo), fo); err != nil {
			t.Fatal(err)
		}
	}

	own := signed(t, "own")
	attestRec(t, own, s, "prod", host+"/acme/a")
	// A repository name with a leading blank is not the repository.
	spelt := signed(t, "spelt")
	attestRec(t, spelt, s, "prod", " "+host+"/acme/a")

	foreign := signed(t, "foreign")
	attestRec(t, foreign, s, "prod", host+"/acme/b")
	norepo := signed(t, "norepo")
	attestRec(t, norepo, s, "prod", "")

	// Two subjects: the digest and another one, in one signed statement.
	batch := signed(t, "batch")
	other := pushRandom(t, host, "acme/a", "other")
	{
		d, err := makeOptions(nil).resolve(bg, batch)
		if err != nil {
			t.Fatal(err)
		}
		st := Statement{
			Type: StatementType,
			Subject: []Subject{
				{Name: d.Repository.Name(), Digest: map[string]string{"sha256": d.DigestStr()[7:]}},
				{Name: d.Repository.Name(), Digest: map[string]string{"sha256": other.DigestStr()[7:]}},
			},
			PredicateType: attest.PromotionType,
			Predicate:     promotionRecord(t, "prod", host+"/acme/a"),
		}
		payload, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.attestLegacy(bg, makeOptions([]Option{fo}), d, payload, attest.PromotionType, &Result{}); err != nil {
			t.Fatal(err)
		}
	}

	// A record by another key beside the accepted one, saying something else.
	mixed := signed(t, "mixed")
	attestRec(t, mixed, s, "prod", host+"/acme/a")
	{
		var p attest.Promotion
		if err := json.Unmarshal(promotionRecord(t, "prod", host+"/acme/a"), &p); err != nil {
			t.Fatal(err)
		}
		p.Approvers = []string{"mallory"}
		b, _ := json.Marshal(p)
		if _, err := Attest(bg, mixed, keySigner(t, otherKey), attest.PromotionType, b, fo); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name, ref, repo, want string
	}{
		{"own repository", own, "", ""},
		{"own repository named", own, host + "/acme/a", ""},
		{"mirror names the source", own, host + "/acme/mirror", "names repository"},
		{"another repository", foreign, "", `names repository "` + host + `/acme/b", not ` + host + "/acme/a"},
		{"another repository, rule for it", foreign, host + "/acme/b", ""},
		{"no repository", norepo, "", `names repository ""`},
		{"padded repository", spelt, "", "names repository"},
		{"two subjects", batch, "", "2 subjects, not exactly one"},
		{"look-alike beside", mixed, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rule := NewPromotionRule("prod")
			rule.Repository = tt.repo
			v, err := Verify(bg, tt.ref, &Policy{Keys: []PublicKey{key}, Attestations: []AttestationRule{rule}})
			if tt.want != "" {
				refusal(t, err, tt.want)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(v.Attestations) != 1 {
				t.Fatalf("attestations = %+v", v.Attestations)
			}
			pr, err := attest.ParsePromotion(v.Attestations[0].Predicate)
			if err != nil {
				t.Fatalf("the verified predicate: %v", err)
			}
			if len(pr.Approvers) != 0 || pr.Environment != "prod" {
				t.Fatalf("verified predicate = %+v, want the accepted key's record", pr)
			}
		})
	}
}
