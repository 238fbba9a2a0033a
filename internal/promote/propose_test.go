package promote

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestPropose opens the promotion pull request for staging after dev ran a
// digest: the branch on origin holds the changed file, the pull request
// body holds the plan; proposing again updates the same pull request.
func TestPropose(t *testing.T) {
	t.Parallel()
	f := newFixture(t, startRegistry(t))
	origin := filepath.Join(t.TempDir(), "origin.git")
	f.gitRun("init", "-q", "--bare", origin)
	f.gitRun("remote", "add", "origin", origin)
	d := f.good("1.3.0")
	f.commitEnvs("dev", map[string]string{"dev": d})
	f.gitRun("push", "-q", "origin", "main")
	p := f.promoter()
	if _, err := p.Apply(f.ctx, "", ""); err != nil {
		t.Fatal(err)
	}
	head := f.gitRun("rev-parse", "HEAD")
	next, err := p.NextEnvironments(f.ctx, "", "")
	if err != nil || len(next) != 1 || next[0] != "staging" {
		t.Fatalf("next environments %v, %v; want [staging]", next, err)
	}

	pr, err := p.Propose(f.ctx, "staging", ProposeOptions{Push: true, Actor: "octocat"})
	if err != nil {
		t.Fatalf("propose: %v", err)
	}
	if !pr.Created || pr.PullRequest == nil || pr.Branch != "mlship/promote-staging" {
		t.Fatalf("proposal %+v", pr)
	}
	// The work tree and the checked-out branch are untouched.
	if got := f.gitRun("rev-parse", "HEAD"); got != head {
		t.Errorf("HEAD moved to %s", got)
	}
	if st := f.gitRun("status", "--porcelain"); st != "" {
		t.Errorf("work tree changed: %s", st)
	}
	// The branch on origin changes exactly the environments file.
	cmd := f.gitRun("--git-dir", origin, "show", "mlship/promote-staging:model/mlship/environments.cue")
	for _, want := range []string{"// Desired state", `staging: {`, `digest: "` + d + `"`, `version: "1.3.0"`, `promotedBy: "octocat"`} {
		if !strings.Contains(strings.Join(strings.Fields(cmd), " "), want) {
			t.Errorf("proposed file lacks %q:\n%s", want, cmd)
		}
	}
	if diff := f.gitRun("--git-dir", origin, "diff", "--name-only", "main", "mlship/promote-staging"); diff != "model/mlship/environments.cue" {
		t.Errorf("the proposal changes %q", diff)
	}
	prs := f.gh.PullRequests(owner, ghRepo)
	if len(prs) != 1 || prs[0].Head != "mlship/promote-staging" || prs[0].Base != "main" {
		t.Fatalf("pull requests %+v", prs)
	}
	for _, want := range []string{"Promotes **iris** 1.3.0 to **staging**", "`signature` | ✅ pass", "`order` | ✅ pass | dev ran it"} {
		if !strings.Contains(prs[0].Body, want) {
			t.Errorf("body lacks %q:\n%s", want, prs[0].Body)
		}
	}
	if pr.Plan == nil || !pr.Plan.OK {
		t.Errorf("plan %+v", pr.Plan)
	}

	// Again: the same pull request is updated, not a second one opened.
	pr2, err := p.Propose(f.ctx, "staging", ProposeOptions{Push: true})
	if err != nil {
		t.Fatal(err)
	}
	if pr2.Created || pr2.PullRequest.Number != pr.PullRequest.Number || len(f.gh.PullRequests(owner, ghRepo)) != 1 {
		t.Errorf("second proposal created=%t #%d, %d pull requests", pr2.Created, pr2.PullRequest.Number, len(f.gh.PullRequests(owner, ghRepo)))
	}

	// prod cannot be proposed before staging runs something.
	if _, err := p.Propose(f.ctx, "prod", ProposeOptions{}); err == nil || !strings.Contains(err.Error(), "staging runs no digest") {
		t.Errorf("propose prod: %v", err)
	}
	// Up to date: nothing to do.
	if pr, err := p.Propose(f.ctx, "staging", ProposeOptions{Base: "mlship/promote-staging"}); err == nil {
		t.Errorf("proposing from a ref that is not local: %+v", pr)
	}
	f.gitRun("fetch", "-q", "origin", "mlship/promote-staging:promo")
	if pr, err := p.Propose(f.ctx, "staging", ProposeOptions{Base: "promo"}); err != nil || !pr.UpToDate {
		t.Errorf("proposal from the promoted state: %+v, %v", pr, err)
	}
}

// TestStatus shows git, registry and signature state per environment.
func TestStatus(t *testing.T) {
	t.Parallel()
	f := newFixture(t, startRegistry(t))
	d, unsigned := f.good("2.0.0"), f.push("2.1.0")
	f.commitEnvs("dev", map[string]string{"dev": d})
	p := f.promoter()
	if _, err := p.Apply(f.ctx, "", ""); err != nil {
		t.Fatal(err)
	}
	f.commitEnvs("staging", map[string]string{"dev": d, "staging": unsigned})
	st, err := p.Status(f.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 3 {
		t.Fatalf("%d environments", len(st))
	}
	dev, staging, prod := st[0], st[1], st[2]
	if !dev.InSync || dev.Current != d || dev.Version != "2.0.0" || dev.Signature != "verified" || dev.Record != "verified" || !strings.HasPrefix(dev.Source, "promotion record") || dev.PromotedAt == "" {
		t.Errorf("dev %+v", dev)
	}
	if staging.InSync || staging.Current != "" || staging.Signature != "unsigned" || staging.Version != "2.1.0" || !strings.HasPrefix(staging.Source, "commit ") {
		t.Errorf("staging %+v", staging)
	}
	if !prod.InSync || prod.Desired != "" || prod.Signature != "unknown" {
		t.Errorf("prod %+v", prod)
	}
}

// TestPlanApprovals: on the open pull request, missing approvals are
// pending (not a refusal); an allowed approval makes the plan ready.
func TestPlanApprovals(t *testing.T) {
	t.Parallel()
	f := newFixture(t, startRegistry(t))
	d := f.good("1.0.0")
	f.commitEnvs("staging", map[string]string{"dev": d, "staging": d})
	f.gitRun("checkout", "-q", "-b", "mlship/promote-prod")
	c := f.commitEnvs("prod", map[string]string{"dev": d, "staging": d, "prod": d})
	pr := f.gh.AddPullRequest(owner, ghRepo, githubtestPR("dave", c))
	p := f.promoter(WithPullRequest(pr.Number))
	pl, err := p.Plan(f.ctx, ModePlan, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(pl.Envs) != 1 || pl.Envs[0].Environment != "prod" || pl.Base != f.gitRun("rev-parse", "main") {
		t.Fatalf("plan %+v", pl)
	}
	if r := rule(t, pl, "prod", RuleApprovals); r.Status != Pending || !pl.OK || !pl.Pending || pl.Err() != nil || pl.Conclusion() != "action_required" {
		t.Errorf("before review: %+v ok=%t pending=%t conclusion=%s", r, pl.OK, pl.Pending, pl.Conclusion())
	}
	f.gh.AddReview(owner, ghRepo, pr.Number, reviewBy("alice"))
	if pl, err = p.Plan(f.ctx, ModePlan, "", ""); err != nil {
		t.Fatal(err)
	}
	if r := rule(t, pl, "prod", RuleApprovals); r.Status != Pass || pl.Conclusion() != "success" || pl.Verdict() != "ready to merge" {
		t.Errorf("after review: %+v, %s", r, pl.Verdict())
	}
	if md := pl.Markdown(); !strings.Contains(md, "| **prod** |") || !strings.Contains(md, "alice") {
		t.Errorf("markdown:\n%s", md)
	}
}
