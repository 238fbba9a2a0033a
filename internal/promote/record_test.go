package promote

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/mlship/mlship/internal/attest"
	"github.com/mlship/mlship/internal/sign"
	"github.com/mlship/mlship/internal/spec"
	"github.com/mlship/mlship/internal/testenv"
)

// records returns the promotion records attached to digest (unverified:
// the test checks their content; verification is checked separately).
func (f *fixture) records(digest string) []*attest.Promotion {
	f.t.Helper()
	sts, err := sign.Statements(f.ctx, f.repo+"@"+digest, attest.PromotionType)
	if err != nil {
		f.t.Fatalf("reading the promotion records of %s: %v", digest, err)
	}
	var out []*attest.Promotion
	for _, st := range sts {
		rec, err := attest.ParsePromotion(st.Predicate)
		if err != nil {
			f.t.Fatalf("an unreadable promotion record on %s: %v", digest, err)
		}
		if !aboutDigest(st, digest) {
			f.t.Fatalf("a promotion record on %s is about %+v", digest, st.Subject)
		}
		out = append(out, rec)
	}
	return out
}

// verifyRecord verifies a promotion record for env on digest with the
// fixture's key, as `mlship verify --promoted-to env` does.
func (f *fixture) verifyRecord(env, digest string) error {
	f.t.Helper()
	pk, err := sign.LoadPublicKey(filepath.Join(f.dir, "cosign.pub"), nil)
	if err != nil {
		f.t.Fatal(err)
	}
	_, err = sign.Verify(f.ctx, f.repo+"@"+digest, &sign.Policy{Keys: []sign.PublicKey{pk}, Attestations: []sign.AttestationRule{sign.NewPromotionRule(env)}})
	return err
}

// TestApplyWritesPromotionRecords: every tag apply moves gets a signed
// record about the digest, with the decision's facts; a re-run writes no
// second one; records of earlier environments stay.
func TestApplyWritesPromotionRecords(t *testing.T) {
	t.Parallel()
	f := newFixture(t, startRegistry(t))
	d := f.good("1.2.0")
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	p := f.promoter(WithClock(func() time.Time { return at }))

	c1 := f.commitEnvs("dev", map[string]string{"dev": d})
	f.mergedPR(c1, "bob")
	pl, err := p.Apply(f.ctx, "", "")
	if err != nil {
		t.Fatalf("apply dev: %v\n%s", err, pl.Text())
	}
	if r := pl.Envs[0].Record; r == nil || r.Signer != "key cosign.key" || r.Existing {
		t.Errorf("dev record ref %+v, want one signed by key cosign.key", r)
	}
	recs := f.records(d)
	if len(recs) != 1 {
		t.Fatalf("%d promotion records on %s after the dev apply, want 1", len(recs), d)
	}
	rec := recs[0]
	if rec.Environment != "dev" || rec.Git.MergeCommit != c1 || rec.Git.Repository != "https://github.com/acme/iris" || rec.Git.Ref != "refs/heads/main" ||
		rec.Tag != f.repo+":dev" || rec.Repository != f.repo || rec.Model != "iris" || rec.Version != "1.2.0" || rec.PreviousDigest != "" ||
		!rec.PromotedAt.Equal(at) || rec.RunURL != "https://github.com/acme/iris/actions/runs/42" {
		t.Errorf("dev record %+v", rec)
	}
	if rec.PullRequest == nil || rec.PullRequest.Number == 0 {
		t.Errorf("dev record names no pull request: %+v", rec.PullRequest)
	}
	for _, name := range []string{RuleDigestExists, RuleSignature, RuleAttestations, RuleOrder, RuleApprovals} {
		if got := rec.RuleOutcome(name); got != string(Pass) {
			t.Errorf("dev record: rule %s outcome %q, want pass", name, got)
		}
	}
	if err := f.verifyRecord("dev", d); err != nil {
		t.Errorf("the dev record does not verify: %v", err)
	}

	// A re-run moves nothing and writes nothing.
	if pl, err = p.Apply(f.ctx, "", ""); err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if e := pl.Envs[0]; e.Outcome != Unchanged || e.Record == nil || !e.Record.Existing {
		t.Errorf("re-run: outcome %s record %+v, want unchanged with the existing record", e.Outcome, e.Record)
	}
	if n := len(f.records(d)); n != 1 {
		t.Errorf("%d records after a re-run, want still 1", n)
	}

	// prod: approvers and the previous digest are recorded; dev's record stays.
	old := f.good("1.1.0")
	f.setTag("prod", old)
	f.commitEnvs("staging", map[string]string{"dev": d, "staging": d})
	if pl, err = p.Apply(f.ctx, "", ""); err != nil {
		t.Fatalf("apply staging: %v\n%s", err, pl.Text())
	}
	c3 := f.commitEnvs("prod", map[string]string{"dev": d, "staging": d, "prod": d})
	f.gh.AddTeamMember("acme", "ml-team", "carol")
	f.mergedPR(c3, "bob", "carol", "alice")
	if pl, err = p.Apply(f.ctx, "", ""); err != nil {
		t.Fatalf("apply prod: %v\n%s", err, pl.Text())
	}
	byEnv := map[string]*attest.Promotion{}
	for _, r := range f.records(d) {
		if byEnv[r.Environment] != nil {
			t.Errorf("two records for %s", r.Environment)
		}
		byEnv[r.Environment] = r
	}
	if len(byEnv) != 3 || byEnv["dev"] == nil || byEnv["staging"] == nil || byEnv["prod"] == nil {
		t.Fatalf("records for %v, want dev, staging and prod", byEnv)
	}
	prod := byEnv["prod"]
	if prod.PreviousDigest != old || strings.Join(prod.Approvers, ",") != "alice,carol" || prod.Git.MergeCommit != c3 || prod.PullRequest == nil {
		t.Errorf("prod record %+v, want previous %s, approvers alice,carol, merge commit %s", prod, old, c3)
	}
	for _, env := range []string{"dev", "staging", "prod"} {
		if err := f.verifyRecord(env, d); err != nil {
			t.Errorf("%s record: %v", env, err)
		}
	}
}

// failingRecorder fails every record, as a registry refusing the write or
// a signing service that is down would.
type failingRecorder struct{ err error }

func (r failingRecorder) Record(context.Context, string, *attest.Promotion) (*RecordRef, error) {
	return nil, r.err
}

// TestApplyNoRecordNoMove: when the promotion record cannot be signed or
// attached, the tag stays where it was, and the error says why.
func TestApplyNoRecordNoMove(t *testing.T) {
	t.Parallel()
	host := startRegistry(t)
	tests := []struct {
		name     string
		recorder Recorder
		want     string
	}{
		{"no recorder", nil, "no signer for the promotion record"},
		{"unreadable key", &SignRecorder{NewSigner: func(context.Context) (*sign.Signer, error) {
			sv, err := sign.LoadPrivateKey(filepath.Join(t.TempDir(), "missing.key"), []byte("pw"), nil)
			if err != nil {
				return nil, err
			}
			return sign.NewKeySigner(sv, "missing.key")
		}}, "missing.key"},
		{"signer refuses", &SignRecorder{NewSigner: func(context.Context) (*sign.Signer, error) {
			return nil, errors.New("no OIDC token: id-token: write is missing")
		}}, "id-token: write"},
		{"write fails", failingRecorder{errors.New("registry answered 403 denied")}, "403 denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, host)
			d, old := f.good("1.0.0"), f.good("0.9.0")
			f.setTag("dev", old)
			f.commitEnvs("dev", map[string]string{"dev": d})
			p := f.promoter(WithRecorder(tt.recorder))
			pl, err := p.Apply(f.ctx, "", "")
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "the tag was not moved") {
				t.Fatalf("apply: err = %v, want it to name %q and say the tag was not moved", err, tt.want)
			}
			if got := f.tag("dev"); got != old {
				t.Errorf("dev tag %s, want it left at %s", got, old)
			}
			if pl.Envs[0].Outcome == Moved || len(f.deployments("dev")) != 0 {
				t.Errorf("outcome %s, %d deployments: nothing should be recorded", pl.Envs[0].Outcome, len(f.deployments("dev")))
			}
			if n := len(f.records(d)); n != 0 {
				t.Errorf("%d records on %s", n, d)
			}
		})
	}
}

// TestApplyUnchangedGetsRecord: a tag already at the target (moved by
// hand, or by an apply before records existed) gets its record, and a
// record that cannot be signed is an error even then.
func TestApplyUnchangedGetsRecord(t *testing.T) {
	t.Parallel()
	f := newFixture(t, startRegistry(t))
	d := f.good("1.0.0")
	f.setTag("dev", d)
	f.commitEnvs("dev", map[string]string{"dev": d})
	if _, err := f.promoter(WithRecorder(failingRecorder{errors.New("down")})).Apply(f.ctx, "", ""); err == nil || !strings.Contains(err.Error(), "down") {
		t.Errorf("apply with a failing recorder on an unchanged tag: %v, want the recorder's error", err)
	}
	pl, err := f.promoter().Apply(f.ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if e := pl.Envs[0]; e.Outcome != Unchanged || e.Record == nil || e.Record.Existing {
		t.Errorf("outcome %s record %+v, want unchanged with a new record", e.Outcome, e.Record)
	}
	if err := f.verifyRecord("dev", d); err != nil {
		t.Error(err)
	}
}

// TestOrderFromPromotionRecords: the order rule accepts a signed record
// for the previous environment when main's history does not show it (a
// shallow clone, history rewritten), and only one by an accepted signer,
// for that environment, about that digest, from before the change.
func TestOrderFromPromotionRecords(t *testing.T) {
	t.Parallel()
	host := startRegistry(t)
	unknown := strings.Repeat("c", 40) // a merge commit the clone lacks
	tests := []struct {
		name string
		// attach adds records to d (head is the commit being applied).
		attach func(f *fixture, d, other, head string)
		want   Status
		detail string
	}{
		{"record for dev, shallow clone", func(f *fixture, d, _, _ string) { f.markShallow(); f.record(f.signer, "dev", d, unknown) }, Pass, "signed promotion record by key cosign.pub"},
		{"record for dev, full clone without its commit", func(f *fixture, d, _, _ string) { f.record(f.signer, "dev", d, unknown) }, Fail, "dev has not run"},
		{"no record", func(*fixture, string, string, string) {}, Fail, "dev has not run"},
		{"record for another environment", func(f *fixture, d, _, _ string) { f.record(f.signer, "prod", d, unknown) }, Fail, "dev has not run"},
		{"record about another digest", func(f *fixture, _, other, _ string) { f.record(f.signer, "dev", other, unknown) }, Fail, "dev has not run"},
		{"record by another key", func(f *fixture, d, _, _ string) {
			other := newFixture(f.t, f.host)
			f.record(other.signer, "dev", d, unknown)
		}, Fail, "dev has not run"},
		{"record from the change itself", func(f *fixture, d, _, head string) { f.record(f.signer, "dev", d, head) }, Fail, "dev has not run"},
		{"a forged record beside a good one", func(f *fixture, d, _, head string) {
			f.record(f.signer, "dev", d, unknown)
			other := newFixture(f.t, f.host)
			f.record(other.signer, "dev", d, head) // names the change: every record must hold
		}, Fail, "dev has not run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, host)
			d, other := f.good("1.0.0"), f.good("0.9.0")
			// staging is set without dev ever running d on main.
			head := f.commitEnvs("staging", map[string]string{"staging": d})
			tt.attach(f, d, other, head)
			pl, err := f.promoter().Plan(f.ctx, ModeApply, "", "")
			if err != nil {
				t.Fatal(err)
			}
			r := rule(t, pl, "staging", RuleOrder)
			if r.Status != tt.want || !strings.Contains(r.Detail, tt.detail) {
				t.Errorf("order: %s %q, want %s containing %q", r.Status, r.Detail, tt.want, tt.detail)
			}
		})
	}
}

// record attaches a promotion record for env about digest, signed by s.
func (f *fixture) record(s *sign.Signer, env, digest, mergeCommit string) {
	f.t.Helper()
	rec := &attest.Promotion{Environment: env, Repository: f.repo, Git: attest.PromotionGit{MergeCommit: mergeCommit}, PromotedAt: time.Now()}
	if _, err := (&SignRecorder{Signer: s}).Record(f.ctx, f.repo+"@"+digest, rec); err != nil {
		f.t.Fatalf("attaching a %s record to %s: %v", env, digest, err)
	}
}

// TestStatusShowsRecord: status says whether the deployed digest carries
// a verified promotion record, and takes PROMOTED from it.
func TestStatusShowsRecord(t *testing.T) {
	t.Parallel()
	f := newFixture(t, startRegistry(t))
	d, byHand := f.good("1.0.0"), f.good("1.1.0")
	c := f.commitEnvs("dev", map[string]string{"dev": d})
	if _, err := f.promoter().Apply(f.ctx, "", ""); err != nil {
		t.Fatal(err)
	}
	f.setTag("staging", byHand) // moved by hand: no record
	st, err := f.promoter().Status(f.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	dev, staging := st[0], st[1]
	if dev.Record != "verified" || dev.RecordSigner != "key cosign.key" && dev.RecordSigner != "key cosign.pub" || !strings.Contains(dev.Source, "promotion record, merge commit "+short(c)) {
		t.Errorf("dev %+v, want a verified record as the source", dev)
	}
	if staging.Record != "none" || !strings.Contains(staging.RecordDetail, "no promotion record for staging") {
		t.Errorf("staging %+v, want record none (moved by hand)", staging)
	}
}

func TestRecordRefText(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		r    RecordRef
		want string
	}{
		{RecordRef{Signer: "key cosign.key", Tag: "r:sha256-ab.att"}, "promotion record signed by key cosign.key → r:sha256-ab.att"},
		{RecordRef{Signer: "key cosign.key"}, "promotion record signed by key cosign.key"},
		{RecordRef{Signer: "k", Referrers: []string{"r@sha256:1"}, GitHubAttestations: []int64{7}}, "promotion record signed by k → r@sha256:1 (and 1 GitHub attestation(s))"},
		{RecordRef{Signer: "k", Referrers: []string{"r@sha256:1"}, Tag: "r:t.att"}, "promotion record signed by k → r@sha256:1, r:t.att"},
		{RecordRef{Signer: "key cosign.pub", Existing: true}, "promotion record already attached, signed by key cosign.pub"},
	} {
		if got := tt.r.Text(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.r, got, tt.want)
		}
		pl := &Plan{Mode: ModeApply, Envs: []EnvPlan{{Environment: "dev", To: "sha256:ab", Outcome: Moved, Record: &tt.r}}}
		if !strings.Contains(pl.Text(), "record: "+tt.want) || !strings.Contains(pl.Markdown(), tt.r.Signer) {
			t.Errorf("plan text/markdown do not show the record:\n%s\n%s", pl.Text(), pl.Markdown())
		}
	}
}

// TestApplyRecordFormats: records in every storage format internal/sign
// writes, on a registry without the referrers API (Distribution: the tag
// schema) and on one with it, are written once, found again on a re-run
// and verified for their environment only.
func TestApplyRecordFormats(t *testing.T) {
	t.Parallel()
	hosts := map[string]string{"distribution": startRegistry(t), "referrers API": testenv.InProcessRegistry(t, registry.WithReferrersSupport(true))}
	for hostName, host := range hosts {
		for _, format := range []sign.Format{sign.FormatLegacy, sign.FormatBundle, sign.FormatBoth} {
			t.Run(hostName+"/"+string(format), func(t *testing.T) {
				t.Parallel()
				f := newFixture(t, host)
				d := f.good("1.0.0")
				f.commitEnvs("dev", map[string]string{"dev": d})
				p := f.promoter(WithRecorder(&SignRecorder{Signer: f.signer, Options: []sign.Option{sign.WithFormat(format)}}))
				if pl, err := p.Apply(f.ctx, "", ""); err != nil {
					t.Fatalf("apply: %v\n%s", err, pl.Text())
				}
				if n := len(f.records(d)); n != 1 {
					t.Errorf("%d records, want 1", n)
				}
				pl, err := p.Apply(f.ctx, "", "")
				if err != nil {
					t.Fatal(err)
				}
				if e := pl.Envs[0]; e.Outcome != Unchanged || e.Record == nil || !e.Record.Existing {
					t.Errorf("re-run: %s %+v, want the existing record found", e.Outcome, e.Record)
				}
				if err := f.verifyRecord("dev", d); err != nil {
					t.Error(err)
				}
				if err := f.verifyRecord("staging", d); err == nil || !strings.Contains(err.Error(), "no promotion record for staging") {
					t.Errorf("verify for staging: %v", err)
				}
			})
		}
	}
}

// TestPlanLeavesOwnPromotionRecordToApply: an environment that lists
// "promotion" in its attestations (what its deployers require) is not
// refused for lacking the record apply is about to write.
func TestPlanLeavesOwnPromotionRecordToApply(t *testing.T) {
	t.Parallel()
	f := newFixture(t, startRegistry(t))
	s := strings.Replace(fmt.Sprintf(specTemplate, f.repo), `attestations: ["eval"]`, `attestations: ["eval", "promotion"]`, 1)
	s = strings.Replace(s, "dev: {}", `dev: attestations: ["promotion"]`, 1)
	f.write(filepath.Join(f.dir, "model.cue"), []byte(s))
	f.gitRun("commit", "-q", "-am", "staging's deployers require its promotion record")
	m, err := spec.Load(f.ctx, f.dir)
	if err != nil {
		t.Fatal(err)
	}
	f.model = m
	d := f.good("1.0.0")
	p := f.promoter()
	f.commitEnvs("dev", map[string]string{"dev": d})
	pl, err := p.Apply(f.ctx, "", "")
	if err != nil {
		t.Fatalf("apply dev: %v\n%s", err, pl.Text())
	}
	if r := rule(t, pl, "dev", RuleAttestations); r.Status != Pass || !strings.Contains(r.Detail, "none required (the promotion record is written by apply") {
		t.Errorf("dev attestations: %+v", r)
	}
	f.commitEnvs("staging", map[string]string{"dev": d, "staging": d})
	pl, err = p.Apply(f.ctx, "", "")
	if err != nil {
		t.Fatalf("apply staging: %v\n%s", err, pl.Text())
	}
	if r := rule(t, pl, "staging", RuleAttestations); r.Status != Pass || !strings.Contains(r.Detail, "eval passed") || !strings.Contains(r.Detail, "written by apply") {
		t.Errorf("attestations: %+v", r)
	}
	if err := f.verifyRecord("staging", d); err != nil {
		t.Error(err)
	}
}

// TestOrderRecordWithoutHistory: a checkout without the main branch (the
// history cannot be read) passes the order rule on a signed record for the
// previous environment, and without one fails naming why the history
// could not answer.
func TestOrderRecordWithoutHistory(t *testing.T) {
	t.Parallel()
	host := startRegistry(t)
	for _, withRecord := range []bool{true, false} {
		t.Run(fmt.Sprint("record=", withRecord), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, host)
			d := f.good("1.0.0")
			head := f.commitEnvs("staging", map[string]string{"staging": d})
			if withRecord {
				f.record(f.signer, "dev", d, strings.Repeat("c", 40))
			}
			f.gitRun("branch", "-m", "main", "work")
			pl, err := f.promoter().Plan(f.ctx, ModePlan, head+"^", head)
			if err != nil {
				t.Fatal(err)
			}
			r := rule(t, pl, "staging", RuleOrder)
			switch {
			case withRecord && (r.Status != Pass || !strings.Contains(r.Detail, "signed promotion record") || !strings.Contains(r.Detail, "not in the local history")):
				t.Errorf("order with a record: %+v", r)
			case !withRecord && (r.Status != Fail || !strings.Contains(r.Detail, "no main branch")):
				t.Errorf("order without a record: %+v", r)
			}
		})
	}
}
