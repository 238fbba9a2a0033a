package promote

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlship/mlship/internal/githubtest"
	"github.com/mlship/mlship/internal/sign"
	"github.com/mlship/mlship/internal/spec"
)

// The promotion attacks of issue 12: each is a real git history (a PR
// branch with its own commits, merged into main with --no-ff) and a real
// registry and GitHub emulator; each must be refused naming its rule, the
// tag must not move and no deployment may be recorded.

// onMain gives dev and staging the digest d by two commits on main (staging
// after dev ran it), the state a prod promotion starts from.
func (f *fixture) onMain(d string) {
	f.t.Helper()
	f.commitEnvs("dev", map[string]string{"dev": d})
	f.commitEnvs("staging", map[string]string{"dev": d, "staging": d})
}

// editSpec rewrites model.cue with edit (old → new, which must occur).
func (f *fixture) editSpec(pairs ...string) {
	f.t.Helper()
	path := filepath.Join(f.dir, "model.cue")
	b, err := os.ReadFile(path)
	if err != nil {
		f.t.Fatal(err)
	}
	s := string(b)
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			f.t.Fatalf("model.cue has no %q:\n%s", pairs[i], s)
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	f.write(path, []byte(s))
}

// commitAll commits everything in the work tree.
func (f *fixture) commitAll(msg string) string {
	f.t.Helper()
	f.gitRun("add", "-A")
	f.gitRun("commit", "-q", "-m", msg)
	return f.gitRun("rev-parse", "HEAD")
}

// mergeNoFF merges branch into the checked-out branch with a merge commit,
// as GitHub's merge button does, and returns the merge commit.
func (f *fixture) mergeNoFF(branch string) string {
	f.t.Helper()
	f.gitRun("merge", "-q", "--no-ff", "-m", "Merge branch "+branch, branch)
	return f.gitRun("rev-parse", "HEAD")
}

// recordPR records in the emulator that a pull request from head into base
// (by author, approved by reviewers) was merged at mergeSHA.
func (f *fixture) recordPR(head, headSHA, base, mergeSHA, author string, reviewers ...string) githubtest.PullRequest {
	f.t.Helper()
	pr := f.gh.AddPullRequest(owner, ghRepo, githubtest.PullRequest{User: author, Head: head, HeadSHA: headSHA, Base: base, Merged: true, MergeSHA: mergeSHA})
	for _, r := range reviewers {
		f.gh.AddReview(owner, ghRepo, pr.Number, githubtest.Review{User: r})
	}
	return pr
}

// headPromoter is the promoter the CLI builds on the push to main: the
// spec loaded from the work tree, which is the merge commit.
func (f *fixture) headPromoter(opts ...Option) *Promoter {
	f.t.Helper()
	m, err := spec.Load(f.ctx, f.dir)
	if err != nil {
		f.t.Fatalf("loading the spec at HEAD: %v", err)
	}
	f.model = m
	return f.promoter(opts...)
}

// otherKey writes a fresh key pair's public key to the spec directory as
// name and returns a signer for its private key.
func (f *fixture) otherKey(name string) *sign.Signer {
	f.t.Helper()
	priv, pub, err := sign.GenerateKeyPair([]byte(testPassword))
	if err != nil {
		f.t.Fatal(err)
	}
	keyPath := filepath.Join(f.t.TempDir(), "mallory.key")
	f.write(keyPath, priv)
	f.write(filepath.Join(f.dir, name), pub)
	sv, err := sign.LoadPrivateKey(keyPath, []byte(testPassword), nil)
	if err != nil {
		f.t.Fatal(err)
	}
	s, err := sign.NewKeySigner(sv, "mallory.key")
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// signedBy pushes an artifact signed and attested (eval 0.95, provenance)
// by s.
func (f *fixture) signedBy(s *sign.Signer, version string) string {
	f.t.Helper()
	good := f.signer
	f.signer = s
	defer func() { f.signer = good }()
	return f.good(version)
}

// TestApplyRefusesPromotionAttacks: a promotion that edits the policy in
// the same change, or borrows order or approvals from outside main's
// history, is refused on apply.
func TestApplyRefusesPromotionAttacks(t *testing.T) {
	t.Parallel()
	host := startRegistry(t)
	tests := []struct {
		name string
		// attack builds the history on top of a spec commit and returns
		// the environment it wants to move; HEAD is on main when it
		// returns, at the commit to apply.
		attack func(f *fixture) string
		// rules that must fail (environment: rule: ... containing text).
		want map[string]string
	}{
		{"(a) the promoting PR removes prod's approvals", func(f *fixture) string {
			d := f.good("1.0.0")
			f.onMain(d)
			f.gitRun("checkout", "-q", "-b", "mlship/promote-prod")
			f.editSpec(`approvals: {required: 1, reviewers: ["alice", "acme/ml-team"]}`, ``)
			head := f.commitEnvs("promote prod, no review needed", map[string]string{"dev": d, "staging": d, "prod": d})
			f.gitRun("checkout", "-q", "main")
			m := f.mergeNoFF("mlship/promote-prod")
			f.recordPR("mlship/promote-prod", head, "main", m, "mallory")
			return "prod"
		}, map[string]string{RulePolicyChange: "change the policy in one PR, promote in another", RuleApprovals: "0 of 1 required approval(s)"}},
		{"(a) the promoting PR lowers prod's gates and drops provenance", func(f *fixture) string {
			d := f.push("1.0.0")
			f.sign(d)
			f.attestEval(d, 0.87, true) // below prod's 0.9; no provenance
			f.onMain(d)
			f.gitRun("checkout", "-q", "-b", "mlship/promote-prod")
			f.editSpec(`gates: accuracy: min: 0.9`, `gates: accuracy: min: 0.8`, `attestations: ["eval", "provenance"]`, `attestations: ["eval"]`)
			f.commitAll("relax prod")
			head := f.commitEnvs("promote prod", map[string]string{"dev": d, "staging": d, "prod": d})
			f.gitRun("checkout", "-q", "main")
			m := f.mergeNoFF("mlship/promote-prod")
			f.recordPR("mlship/promote-prod", head, "main", m, "mallory", "alice")
			return "prod"
		}, map[string]string{RulePolicyChange: "environments.prod.gates", RuleAttestations: "accuracy 0.87 < 0.9"}},
		{"(a) the promoting PR adds allowSkip", func(f *fixture) string {
			d := f.good("1.0.0")
			f.commitEnvs("dev", map[string]string{"dev": d})
			f.gitRun("checkout", "-q", "-b", "mlship/promote-prod")
			f.editSpec(`after: "staging"`, `after: "staging"
		allowSkip: true`)
			head := f.commitEnvs("skip staging", map[string]string{"dev": d, "prod": d})
			f.gitRun("checkout", "-q", "main")
			m := f.mergeNoFF("mlship/promote-prod")
			f.recordPR("mlship/promote-prod", head, "main", m, "mallory", "alice")
			return "prod"
		}, map[string]string{RulePolicyChange: "environments.prod.allowSkip", RuleOrder: "staging has not run"}},
		{"(a) the promoting PR points signing.key at a key it commits", func(f *fixture) string {
			f.gitRun("checkout", "-q", "-b", "mlship/promote-dev")
			mallory := f.otherKey("mallory.pub")
			d := f.signedBy(mallory, "1.0.0")
			f.editSpec(`signing: key: "cosign.pub"`, `signing: key: "mallory.pub"`)
			head := f.commitEnvs("promote dev", map[string]string{"dev": d})
			f.gitRun("checkout", "-q", "main")
			m := f.mergeNoFF("mlship/promote-dev")
			f.recordPR("mlship/promote-dev", head, "main", m, "mallory", "alice")
			return "dev"
		}, map[string]string{RulePolicyChange: "signing.key", RuleSignature: "not signed by key cosign.pub"}},
		{"(a) the promoting PR replaces the key file's content", func(f *fixture) string {
			f.gitRun("checkout", "-q", "-b", "mlship/promote-dev")
			mallory := f.otherKey("cosign.pub") // same path, other key
			d := f.signedBy(mallory, "1.0.0")
			head := f.commitEnvs("promote dev", map[string]string{"dev": d})
			f.gitRun("checkout", "-q", "main")
			m := f.mergeNoFF("mlship/promote-dev")
			f.recordPR("mlship/promote-dev", head, "main", m, "mallory", "alice")
			return "dev"
		}, map[string]string{RulePolicyChange: "signing.keySha256", RuleSignature: "not signed by key cosign.pub"}},
		{"(b) the promoting PR adds its author's friend to the reviewers", func(f *fixture) string {
			d := f.good("1.0.0")
			f.onMain(d)
			f.gitRun("checkout", "-q", "-b", "mlship/promote-prod")
			f.editSpec(`reviewers: ["alice", "acme/ml-team"]`, `reviewers: ["alice", "acme/ml-team", "mallory2"]`)
			head := f.commitEnvs("promote prod", map[string]string{"dev": d, "staging": d, "prod": d})
			f.gitRun("checkout", "-q", "main")
			m := f.mergeNoFF("mlship/promote-prod")
			f.recordPR("mlship/promote-prod", head, "main", m, "mallory", "mallory2")
			return "prod"
		}, map[string]string{RulePolicyChange: "environments.prod.approvals.reviewers", RuleApprovals: "mallory2 (not an allowed reviewer)"}},
		{"(c) order satisfied only by a commit on the PR branch", func(f *fixture) string {
			d := f.good("1.0.0")
			f.commitEnvs("dev", map[string]string{"dev": d})
			f.gitRun("checkout", "-q", "-b", "mlship/promote-prod")
			f.commitEnvs("staging for a moment", map[string]string{"dev": d, "staging": d})
			head := f.commitEnvs("prod", map[string]string{"dev": d, "prod": d})
			f.gitRun("checkout", "-q", "main")
			m := f.mergeNoFF("mlship/promote-prod")
			f.recordPR("mlship/promote-prod", head, "main", m, "mallory", "alice")
			return "prod"
		}, map[string]string{RuleOrder: "staging has not run"}},
		{"(c) order satisfied only by a tag moved by hand", func(f *fixture) string {
			d := f.good("1.0.0")
			f.commitEnvs("dev", map[string]string{"dev": d})
			f.setTag("staging", d)
			f.gitRun("checkout", "-q", "-b", "mlship/promote-prod")
			head := f.commitEnvs("prod", map[string]string{"dev": d, "prod": d})
			f.gitRun("checkout", "-q", "main")
			m := f.mergeNoFF("mlship/promote-prod")
			f.recordPR("mlship/promote-prod", head, "main", m, "mallory", "alice")
			return "prod"
		}, map[string]string{RuleOrder: "staging has not run"}},
		{"(d) approvals from a PR into another branch", func(f *fixture) string {
			d := f.good("1.0.0")
			f.onMain(d)
			f.gitRun("checkout", "-q", "-b", "release")
			f.gitRun("checkout", "-q", "-b", "mlship/promote-prod")
			head := f.commitEnvs("prod", map[string]string{"dev": d, "staging": d, "prod": d})
			f.gitRun("checkout", "-q", "release")
			r := f.mergeNoFF("mlship/promote-prod")
			f.recordPR("mlship/promote-prod", head, "release", r, "mallory", "alice")
			// release reaches main without a reviewed pull request into main.
			f.gitRun("checkout", "-q", "main")
			f.gitRun("merge", "-q", "--ff-only", "release")
			return "prod"
		}, map[string]string{RuleApprovals: "into release, not main"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, host)
			env := tt.attack(f)
			before := f.tag(env)
			pl, err := f.headPromoter().Apply(f.ctx, "", "")
			var re *RefusedError
			if !errors.As(err, &re) {
				md := ""
				if pl != nil {
					md = pl.Markdown()
				}
				t.Fatalf("apply: err %v, want a refusal\n%s", err, md)
			}
			for name, text := range tt.want {
				found := false
				for _, msg := range re.Failures {
					if strings.HasPrefix(msg, env+": "+name+": ") && strings.Contains(msg, text) {
						found = true
					}
				}
				if !found {
					t.Errorf("refusal does not name %s: %s containing %q:\n%s", env, name, text, strings.Join(re.Failures, "\n"))
				}
			}
			if got := f.tag(env); got != before {
				t.Errorf("the %s tag moved from %q to %q", env, before, got)
			}
			if n := len(f.deployments(env)); n != 0 {
				t.Errorf("%d deployments recorded for a refused promotion", n)
			}
		})
	}
}

// TestPlanOrderIgnoresPRBranchCommits: on the pull request itself, an
// intermediate commit of its branch does not count as staging running the
// digest.
func TestPlanOrderIgnoresPRBranchCommits(t *testing.T) {
	t.Parallel()
	f := newFixture(t, startRegistry(t))
	d := f.good("1.0.0")
	f.commitEnvs("dev", map[string]string{"dev": d})
	f.gitRun("checkout", "-q", "-b", "mlship/promote-prod")
	f.commitEnvs("staging for a moment", map[string]string{"dev": d, "staging": d})
	f.commitEnvs("prod", map[string]string{"dev": d, "prod": d})
	pl, err := f.headPromoter().Plan(f.ctx, ModePlan, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if r := rule(t, pl, "prod", RuleOrder); r.Status != Fail || !strings.Contains(r.Detail, "staging has not run") {
		t.Errorf("order: %+v", r)
	}
}

// TestPolicyOnlyChange: a pull request that changes the policy and no
// digest passes, and its plan shows the policy diff; once merged, the new
// policy judges the next promotion.
func TestPolicyOnlyChange(t *testing.T) {
	t.Parallel()
	f := newFixture(t, startRegistry(t))
	d := f.good("1.0.0")
	f.commitEnvs("dev", map[string]string{"dev": d})
	f.gitRun("checkout", "-q", "-b", "allow-skip")
	f.editSpec(`after: "staging"`, `after: "staging"
		allowSkip: true`)
	f.commitAll("prod may skip staging")
	pl, err := f.headPromoter().Plan(f.ctx, ModePlan, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if !pl.OK || pl.PolicyChange == nil || len(pl.Envs) != 0 {
		t.Fatalf("plan ok=%t change=%+v envs=%d, want an OK policy-only plan", pl.OK, pl.PolicyChange, len(pl.Envs))
	}
	md := pl.Markdown()
	for _, want := range []string{"Policy change", "environments.prod.allowSkip", "false", "true"} {
		if !strings.Contains(md, want) {
			t.Errorf("plan Markdown lacks %q:\n%s", want, md)
		}
	}
	f.gitRun("checkout", "-q", "main")
	f.mergeNoFF("allow-skip")
	if pl, err := f.headPromoter().Apply(f.ctx, "", ""); err != nil || len(pl.Envs) != 0 {
		t.Fatalf("applying the policy change: %v", err)
	}

	// The next promotion is judged by the merged policy: prod skips staging.
	f.gitRun("checkout", "-q", "-b", "mlship/promote-prod")
	head := f.commitEnvs("prod", map[string]string{"dev": d, "prod": d})
	f.gitRun("checkout", "-q", "main")
	m := f.mergeNoFF("mlship/promote-prod")
	f.recordPR("mlship/promote-prod", head, "main", m, "bob", "alice")
	pl, err = f.headPromoter().Apply(f.ctx, "", "")
	if err != nil {
		t.Fatalf("apply: %v\n%s", err, pl.Markdown())
	}
	if r := rule(t, pl, "prod", RuleOrder); r.Status != Pass || !strings.Contains(r.Detail, "allowSkip") {
		t.Errorf("order: %+v", r)
	}
	if f.tag("prod") != d {
		t.Errorf("prod tag %q, want %s", f.tag("prod"), d)
	}
}

// TestApplyUnreadablePolicy: when the policy before the change cannot be
// read, nothing is promoted, and the refusal names the rule.
func TestApplyUnreadablePolicy(t *testing.T) {
	t.Parallel()
	f := newFixture(t, startRegistry(t))
	d := f.good("1.0.0")
	good, err := os.ReadFile(filepath.Join(f.dir, "model.cue"))
	if err != nil {
		t.Fatal(err)
	}
	f.write(filepath.Join(f.dir, "model.cue"), []byte("name: \"iris\"\nenvironments: dev: after: 7\n"))
	f.commitAll("break the spec on main")
	f.write(filepath.Join(f.dir, "model.cue"), good)
	f.commitEnvs("fix the spec and promote", map[string]string{"dev": d})
	pl, err := f.headPromoter().Apply(f.ctx, "", "")
	var re *RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("apply: %v, want a refusal", err)
	}
	if r := rule(t, pl, "dev", RulePolicy); r.Status != Fail || !strings.Contains(r.Detail, "cannot be read") {
		t.Errorf("policy rule: %+v", r)
	}
	if f.tag("dev") != "" {
		t.Errorf("dev tag moved to %s", f.tag("dev"))
	}
}

// TestPlanRefusesOversizedEnvironmentsFile: an environments file larger
// than promote reads is an error naming it, before anything parses it.
func TestPlanRefusesOversizedEnvironmentsFile(t *testing.T) {
	t.Parallel()
	f := newFixture(t, startRegistry(t))
	f.gitRun("checkout", "-q", "-b", "big")
	pad := "// " + strings.Repeat("x", 1<<20) + "\n"
	f.write(filepath.Join(f.dir, "mlship", "environments.cue"), []byte(strings.Repeat(pad, 5)+"environments: {}\n"))
	f.commitAll("a 5 MiB environments file")
	_, err := f.headPromoter().Plan(f.ctx, ModePlan, "", "")
	if err == nil || !strings.Contains(err.Error(), "environments.cue") || !strings.Contains(err.Error(), "refused") {
		t.Errorf("plan of a 5 MiB environments file: %v, want a refusal naming it", err)
	}
}
