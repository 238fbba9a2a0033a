package promote

import (
	"strings"
	"testing"

	"github.com/mlship/mlship/internal/sign"
)

// withPromotionKey commits signing.promotion.key: "promotion.pub" (a key
// of its own) to main and returns the signer that holds it.
func (f *fixture) withPromotionKey() *sign.Signer {
	f.t.Helper()
	s := f.otherKey("promotion.pub")
	f.editSpec(`signing: key: "cosign.pub"`, "signing: key: \"cosign.pub\"\nsigning: promotion: key: \"promotion.pub\"")
	f.commitAll("promotion records have a signer of their own")
	return s
}

// TestOrderShallowCloneRecordsByPromotionSignerOnly: in a shallow clone a
// record counts on its signature alone. With signing.promotion in the
// spec, a record signed with the candidates' key (pull-request workflows
// hold it) does not count; one by the promotion key does. Status shows
// the same.
func TestOrderShallowCloneRecordsByPromotionSignerOnly(t *testing.T) {
	t.Parallel()
	host := startRegistry(t)
	unknown := strings.Repeat("c", 40)
	for _, tt := range []struct {
		name     string
		byArtKey bool
		want     Status
	}{
		{"record signed with the candidates' key", true, Fail},
		{"record signed with the promotion key", false, Pass},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, host)
			promo := f.withPromotionKey()
			d := f.good("1.0.0")
			f.commitEnvs("staging", map[string]string{"staging": d})
			f.markShallow()
			if tt.byArtKey {
				f.record(f.signer, "dev", d, unknown)
			} else {
				f.record(promo, "dev", d, unknown)
			}
			pl, err := f.promoter().Plan(f.ctx, ModeApply, "", "")
			if err != nil {
				t.Fatal(err)
			}
			r := rule(t, pl, "staging", RuleOrder)
			if r.Status != tt.want {
				t.Errorf("order: %s %q, want %s", r.Status, r.Detail, tt.want)
			}
			if tt.want == Pass && !strings.Contains(r.Detail, "key promotion.pub") {
				t.Errorf("order passes on %q, want the promotion key named", r.Detail)
			}
		})
	}
}

// TestApplyRefusesRecordsTheSpecsPromotionSignerWouldNot: with
// signing.promotion set, apply that signs the record with another key
// (the candidates' key) does not move the tag: no deployer and no order
// rule would accept that record. With the promotion key it moves.
func TestApplyRefusesRecordsTheSpecsPromotionSignerWouldNot(t *testing.T) {
	t.Parallel()
	host := startRegistry(t)
	for _, wrong := range []bool{true, false} {
		t.Run(map[bool]string{true: "candidates' key", false: "promotion key"}[wrong], func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, host)
			promo := f.withPromotionKey()
			d := f.good("1.0.0")
			f.commitEnvs("dev", map[string]string{"dev": d})
			by := promo
			if wrong {
				by = f.signer
			}
			_, err := f.promoter(WithRecorder(&SignRecorder{Signer: by})).Apply(f.ctx, "", "")
			switch {
			case wrong && (err == nil || !strings.Contains(err.Error(), "signing.promotion")):
				t.Errorf("apply with the candidates' key: %v, want a refusal naming signing.promotion", err)
			case wrong && f.tag("dev") != "":
				t.Errorf("the tag moved to %s", f.tag("dev"))
			case !wrong && err != nil:
				t.Errorf("apply with the promotion key: %v", err)
			case !wrong && f.tag("dev") != d:
				t.Errorf("dev tag %q, want %s", f.tag("dev"), d)
			}
		})
	}
}
