package promote

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlship/mlship/internal/attest"
	"github.com/mlship/mlship/internal/sign"
)

// markShallow makes the fixture's clone shallow as actions/checkout's
// default depth makes it (its root commit is the boundary: no history
// changes, git now reports a shallow repository).
func (f *fixture) markShallow() {
	f.t.Helper()
	root := strings.TrimSpace(f.gitRun("rev-list", "--max-parents=0", "HEAD"))
	f.write(filepath.Join(strings.TrimSpace(f.gitRun("rev-parse", "--absolute-git-dir")), "shallow"), []byte(root+"\n"))
	if got := strings.TrimSpace(f.gitRun("rev-parse", "--is-shallow-repository")); got != "true" {
		f.t.Fatalf("the fixture clone is not shallow (%s)", got)
	}
}

// recordWith attaches rec (about digest) signed by s.
func (f *fixture) recordWith(s *sign.Signer, digest string, rec *attest.Promotion) {
	f.t.Helper()
	if _, err := (&SignRecorder{Signer: s}).Record(f.ctx, f.repo+"@"+digest, rec); err != nil {
		f.t.Fatalf("attaching a %s record to %s: %v", rec.Environment, digest, err)
	}
}

// TestRedteamOrderRecordOfAnotherRepository: a record signed by the
// accepted key about exactly the digest, for the right environment, but
// written by the promotion of another repository (an organisation-wide
// key signs every model's records; the same bytes were copied here with
// their referrers) does not say this model's dev ran the digest.
func TestRedteamOrderRecordOfAnotherRepository(t *testing.T) {
	t.Parallel()
	f := newFixture(t, startRegistry(t))
	d := f.good("1.0.0")
	f.commitEnvs("staging", map[string]string{"staging": d})
	f.recordWith(f.signer, d, &attest.Promotion{
		Environment: "dev", Repository: f.host + "/acme/another-model",
		Git: attest.PromotionGit{MergeCommit: strings.Repeat("c", 40)}, PromotedAt: time.Now(),
	})
	pl, err := f.promoter().Plan(f.ctx, ModeApply, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if r := rule(t, pl, "staging", RuleOrder); r.Status != Fail {
		t.Errorf("order on another repository's record: %s %q, want fail", r.Status, r.Detail)
	}
}

// TestRedteamStatusPromotedByFromUnverifiedRecord: status takes PROMOTED
// and its "by" from the verified record only. Anyone who can push to the
// registry can attach a record signed by another key (or by none) beside
// the verified one; its approvers and time must not be shown as the
// promotion's.
func TestRedteamStatusPromotedByFromUnverifiedRecord(t *testing.T) {
	t.Parallel()
	f := newFixture(t, startRegistry(t))
	d := f.good("1.0.0")
	f.commitEnvs("dev", map[string]string{"dev": d})
	if _, err := f.promoter().Apply(f.ctx, "", ""); err != nil {
		t.Fatal(err)
	}
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
	if strings.Contains(dev.PromotedBy, "mallory") || strings.Contains(dev.Source, short(strings.Repeat("e", 40))) {
		t.Errorf("status shows the unverified record: promoted by %q, source %q", dev.PromotedBy, dev.Source)
	}
	if dev.Record != "verified" {
		t.Errorf("record %q (%s), want still verified (the good record is there)", dev.Record, dev.RecordDetail)
	}
}

// TestRedteamOrderForgedRecordFullClone: the key that signs promotion
// records is often the key that signs candidates, and pull-request
// workflows hold it (examples/iris's pr.yml signs with COSIGN_PRIVATE_KEY,
// main.yml signs records with the same secret). A PR author can then sign
// "dev ran this digest" naming any commit. Where the clone holds main's
// full history, a record counts only if the commit it names is on main
// and its desired state gave the environment that digest: what git shows,
// a forged record cannot add to.
func TestRedteamOrderForgedRecordFullClone(t *testing.T) {
	t.Parallel()
	host := startRegistry(t)
	for _, tt := range []struct {
		name   string
		commit func(f *fixture) string
	}{
		{"a commit on main that never gave dev the digest", func(f *fixture) string { return f.gitRun("rev-parse", "HEAD") }},
		{"a commit this full clone does not have", func(*fixture) string { return strings.Repeat("d", 40) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, host)
			d := f.good("1.0.0")
			named := strings.TrimSpace(tt.commit(f))
			f.commitEnvs("staging", map[string]string{"staging": d})
			f.record(f.signer, "dev", d, named) // signed with the artifact key, as pr.yml can
			pl, err := f.promoter().Plan(f.ctx, ModeApply, "", "")
			if err != nil {
				t.Fatal(err)
			}
			if r := rule(t, pl, "staging", RuleOrder); r.Status != Fail {
				t.Errorf("order on a forged dev record naming %s: %s %q, want fail", short(named), r.Status, r.Detail)
			}
		})
	}
}
