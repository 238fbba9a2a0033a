package promote

import (
	"strings"
	"testing"
	"time"

	"github.com/mlship/mlship/internal/attest"
)

// TestStatusPromotedFromTheVerifiedRecord: a record signed by another key
// attached beside the genuine one neither shows (its approvers) nor hides
// the genuine record's PROMOTED: status reads the predicate of the
// statement that verified.
func TestStatusPromotedFromTheVerifiedRecord(t *testing.T) {
	t.Parallel()
	f := newFixture(t, startRegistry(t))
	d := f.good("1.0.0")
	f.commitEnvs("dev", map[string]string{"dev": d})
	if _, err := f.promoter().Apply(f.ctx, "", ""); err != nil {
		t.Fatal(err)
	}
	head := strings.TrimSpace(f.gitRun("rev-parse", "HEAD"))
	mallory := newFixture(t, f.host)
	f.recordWith(mallory.signer, d, &attest.Promotion{
		Environment: "dev", Repository: f.repo, Approvers: []string{"mallory"},
		Git:        attest.PromotionGit{MergeCommit: strings.Repeat("e", 40)},
		PromotedAt: time.Now().Add(24 * time.Hour),
	})
	st, err := f.promoter().Status(f.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	dev := statusOf(t, st, "dev")
	if want := "promotion record, merge commit " + short(head); !strings.HasPrefix(dev.Source, want) || strings.Contains(dev.PromotedBy, "mallory") {
		t.Errorf("status: promoted by %q, source %q; want the verified record's (%s)", dev.PromotedBy, dev.Source, want)
	}
}
