package promote

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
)

// TestApplyGoodPromotion promotes one digest dev → staging → prod through
// commits on main: each apply moves the tag and records one deployment; a
// re-run changes nothing.
func TestApplyGoodPromotion(t *testing.T) {
	t.Parallel()
	f := newFixture(t, startRegistry(t))
	d := f.good("1.2.0")
	p := f.promoter()

	c1 := f.commitEnvs("dev", map[string]string{"dev": d})
	pl, err := p.Apply(f.ctx, "", "")
	if err != nil {
		t.Fatalf("apply dev: %v\n%s", err, pl.Markdown())
	}
	if f.tag("dev") != d || pl.Envs[0].Outcome != Moved {
		t.Fatalf("dev tag %q outcome %q, want %s moved", f.tag("dev"), pl.Envs[0].Outcome, d)
	}

	c2 := f.commitEnvs("staging", map[string]string{"dev": d, "staging": d})
	if pl, err = p.Apply(f.ctx, "", ""); err != nil {
		t.Fatalf("apply staging: %v\n%s", err, pl.Markdown())
	}
	if f.tag("staging") != d {
		t.Fatalf("staging tag %q, want %s", f.tag("staging"), d)
	}
	if r := rule(t, pl, "staging", RuleOrder); r.Status != Pass || !strings.Contains(r.Detail, "dev ran it") {
		t.Errorf("order: %+v", r)
	}
	if r := rule(t, pl, "staging", RuleAttestations); r.Status != Pass || !strings.Contains(r.Detail, "accuracy ≥ 0.85") {
		t.Errorf("attestations: %+v", r)
	}

	deps := f.deployments("staging")
	if len(deps) != 1 {
		t.Fatalf("%d staging deployments, want 1", len(deps))
	}
	dep := deps[0]
	var payload map[string]string
	if err := json.Unmarshal(dep.Payload, &payload); err != nil {
		t.Fatalf("payload %s: %v", dep.Payload, err)
	}
	if dep.SHA != c2 || payload["digest"] != d || payload["version"] != "1.2.0" {
		t.Errorf("deployment sha %s payload %v, want %s and %s 1.2.0", dep.SHA, payload, c2, d)
	}
	if len(dep.Statuses) != 1 || dep.Statuses[0].State != "success" || dep.Statuses[0].LogURL != "https://github.com/acme/iris/actions/runs/42" {
		t.Errorf("deployment statuses %+v", dep.Statuses)
	}
	if len(f.deployments("dev")) != 1 || f.deployments("dev")[0].SHA != c1 {
		t.Errorf("dev deployments %+v", f.deployments("dev"))
	}

	// Re-running apply on the same commit is a no-op.
	before := len(f.gh.Deployments(owner, ghRepo))
	if pl, err = p.Apply(f.ctx, "", ""); err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if pl.Envs[0].Outcome != Unchanged || len(f.gh.Deployments(owner, ghRepo)) != before {
		t.Errorf("re-run outcome %q, deployments %d → %d", pl.Envs[0].Outcome, before, len(f.gh.Deployments(owner, ghRepo)))
	}

	// prod needs an approving review on the merged pull request.
	c3 := f.commitEnvs("prod", map[string]string{"dev": d, "staging": d, "prod": d})
	f.gh.AddTeamMember("acme", "ml-team", "carol")
	f.mergedPR(c3, "bob", "bob", "carol")
	if pl, err = p.Apply(f.ctx, "", ""); err != nil {
		t.Fatalf("apply prod: %v\n%s", err, pl.Markdown())
	}
	if f.tag("prod") != d {
		t.Fatalf("prod tag %q", f.tag("prod"))
	}
	r := rule(t, pl, "prod", RuleApprovals)
	if r.Status != Pass || !strings.Contains(r.Detail, "carol") || !strings.Contains(r.Detail, "bob (the author)") {
		t.Errorf("approvals: %+v", r)
	}
	if r := rule(t, pl, "prod", RuleAttestations); !strings.Contains(r.Detail, "provenance from "+goodBuilder) {
		t.Errorf("attestations: %+v", r)
	}
}

// TestApplyRefusals: each broken promotion fails naming its rule, and the
// tag does not move.
func TestApplyRefusals(t *testing.T) {
	t.Parallel()
	host := startRegistry(t)
	tests := []struct {
		name string
		// setup returns the environments of the commit to apply, after
		// preparing the registry, tags and GitHub; the last one changed is
		// the one checked.
		setup    func(f *fixture) (env string, envs map[string]string)
		rule     string
		contains string
	}{
		{"unsigned", func(f *fixture) (string, map[string]string) {
			d := f.push("1.0.0")
			return "dev", map[string]string{"dev": d}
		}, RuleSignature, "unsigned"},
		{"other key", func(f *fixture) (string, map[string]string) {
			d := f.push("1.0.0")
			other := newFixture(f.t, f.host) // another key pair
			other.repo = f.repo
			other.sign(d)
			return "dev", map[string]string{"dev": d}
		}, RuleSignature, "not signed by key cosign.pub"},
		{"no eval attestation", func(f *fixture) (string, map[string]string) {
			d := f.push("1.0.0")
			f.sign(d)
			f.setTag("dev", d)
			return "staging", map[string]string{"dev": d, "staging": d}
		}, RuleAttestations, "no eval attestation"},
		{"eval failed", func(f *fixture) (string, map[string]string) {
			d := f.push("1.0.0")
			f.sign(d)
			f.attestEval(d, 0.7, false)
			f.setTag("dev", d)
			return "staging", map[string]string{"dev": d, "staging": d}
		}, RuleAttestations, "eval gate failed"},
		{"below this environment's gate", func(f *fixture) (string, map[string]string) {
			d := f.push("1.0.0")
			f.sign(d)
			f.attestEval(d, 0.87, true) // passes staging (0.85), not prod (0.9)
			f.attestProvenance(d, goodBuilder)
			f.setTag("staging", d)
			return "prod", map[string]string{"dev": d, "staging": d, "prod": d}
		}, RuleAttestations, "accuracy 0.87 < 0.9"},
		{"provenance from another workflow", func(f *fixture) (string, map[string]string) {
			d := f.push("1.0.0")
			f.sign(d)
			f.attestEval(d, 0.95, true)
			f.attestProvenance(d, "https://github.com/mallory/fork/.github/workflows/x.yml@refs/heads/main")
			f.setTag("staging", d)
			return "prod", map[string]string{"dev": d, "staging": d, "prod": d}
		}, RuleAttestations, "is not an allowed workflow"},
		{"skipping staging", func(f *fixture) (string, map[string]string) {
			d := f.good("1.0.0")
			f.setTag("dev", d)
			return "prod", map[string]string{"dev": d, "prod": d}
		}, RuleOrder, "staging has not run sha256:"},
		{"digest not in the registry", func(f *fixture) (string, map[string]string) {
			return "dev", map[string]string{"dev": "sha256:" + strings.Repeat("0", 64)}
		}, RuleDigestExists, "is not in"},
		{"direct push to a gated environment", func(f *fixture) (string, map[string]string) {
			d := f.good("1.0.0")
			f.setTag("staging", d)
			return "prod", map[string]string{"dev": d, "staging": d, "prod": d}
		}, RuleApprovals, "a direct push cannot promote"},
		{"approved only by the author and an outsider", func(f *fixture) (string, map[string]string) {
			d := f.good("1.0.0")
			f.setTag("staging", d)
			return "prod", map[string]string{"dev": d, "staging": d, "prod": d}
		}, RuleApprovals, "0 of 1 required approval(s)"},
		{"version mismatch", func(f *fixture) (string, map[string]string) {
			d := f.good("1.0.0")
			f.setTag("dev", d)
			return "dev", map[string]string{"dev": d + "|9.9.9"}
		}, RuleDigestExists, "says version 9.9.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, host)
			env, envs := tt.setup(f)
			before := f.tag(env)
			c := f.commitEnvs("promote", envs)
			if tt.name == "approved only by the author and an outsider" {
				f.mergedPR(c, "bob", "bob", "eve")
			}
			pl, err := f.promoter().Apply(f.ctx, "", "")
			var re *RefusedError
			if !errors.As(err, &re) {
				t.Fatalf("apply: err %v, want a refusal", err)
			}
			want := env + ": " + tt.rule + ": "
			found := false
			for _, msg := range re.Failures {
				if strings.HasPrefix(msg, want) && strings.Contains(msg, tt.contains) {
					found = true
				}
			}
			if !found {
				t.Errorf("refusal %q does not name %q containing %q", err, want, tt.contains)
			}
			if r := rule(t, pl, env, tt.rule); r.Status != Fail {
				t.Errorf("rule %s: %+v", tt.rule, r)
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

// TestApplyRevert: reverting the promotion commit moves the tag back.
func TestApplyRevert(t *testing.T) {
	t.Parallel()
	f := newFixture(t, startRegistry(t))
	d1, d2 := f.good("1.0.0"), f.good("1.1.0")
	p := f.promoter()
	for _, envs := range []map[string]string{
		{"dev": d1}, {"dev": d1, "staging": d1}, {"dev": d2, "staging": d1}, {"dev": d2, "staging": d2},
	} {
		f.commitEnvs("promote", envs)
		if pl, err := p.Apply(f.ctx, "", ""); err != nil {
			t.Fatalf("apply %v: %v\n%s", envs, err, pl.Markdown())
		}
	}
	if f.tag("staging") != d2 {
		t.Fatalf("staging %s, want %s", f.tag("staging"), d2)
	}
	promotion := f.gitRun("rev-parse", "HEAD")
	f.gitRun("revert", "--no-edit", "HEAD")
	pl, err := p.Apply(f.ctx, "", "")
	if err != nil {
		t.Fatalf("apply the revert: %v\n%s", err, pl.Markdown())
	}
	if f.tag("staging") != d1 || pl.Envs[0].From != d2 || pl.Envs[0].To != d1 {
		t.Fatalf("after the revert staging is %s (plan %s → %s), want %s", f.tag("staging"), pl.Envs[0].From, pl.Envs[0].To, d1)
	}
	// Re-running the reverted promotion's apply does not undo the revert.
	pl, err = p.Apply(f.ctx, promotion+"^", promotion)
	if err != nil {
		t.Fatalf("re-running the old apply: %v", err)
	}
	if pl.Envs[0].Outcome != Superseded || f.tag("staging") != d1 {
		t.Errorf("old apply: outcome %q, staging %s; want superseded and %s", pl.Envs[0].Outcome, f.tag("staging"), d1)
	}
}

// TestApplyRace: applies of an older and a newer commit, sequential in
// both orders and concurrent, never leave the tag on the older digest.
func TestApplyRace(t *testing.T) {
	t.Parallel()
	host := startRegistry(t)
	for _, order := range []string{"older first", "newer first", "concurrent", "concurrent again"} {
		t.Run(order, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, host)
			d0, d1, d2 := f.good("1.0.0"), f.good("1.1.0"), f.good("1.2.0")
			f.commitEnvs("initial", map[string]string{"dev": d0, "staging": d0})
			f.setTag("dev", d0)
			f.setTag("staging", d0)
			f.commitEnvs("dev d1", map[string]string{"dev": d1, "staging": d0})
			older := f.commitEnvs("staging d1", map[string]string{"dev": d1, "staging": d1})
			f.commitEnvs("dev d2", map[string]string{"dev": d2, "staging": d1})
			newer := f.commitEnvs("staging d2", map[string]string{"dev": d2, "staging": d2})
			apply := func(c string) error {
				_, err := f.promoter().Apply(f.ctx, "", c)
				return err
			}
			var errs [2]error
			switch order {
			case "older first":
				errs[0], errs[1] = apply(older), apply(newer)
			case "newer first":
				errs[1], errs[0] = apply(newer), apply(older)
			default:
				var wg sync.WaitGroup
				wg.Add(2)
				go func() { defer wg.Done(); errs[0] = apply(older) }()
				go func() { defer wg.Done(); errs[1] = apply(newer) }()
				wg.Wait()
			}
			for i, err := range errs {
				if err != nil {
					t.Errorf("apply %d: %v", i, err)
				}
			}
			if got := f.tag("staging"); got != d2 {
				t.Fatalf("staging is %s, want the newer %s (older %s)", got, d2, d1)
			}
			for _, dep := range f.deployments("staging") {
				if dep.SHA == older {
					t.Errorf("the superseded commit recorded a deployment")
				}
			}
		})
	}
}
