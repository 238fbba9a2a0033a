package promote

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/spec"
)

// Status is a rule's result.
type Status string

// Rule results. Pending is a rule that cannot pass yet (approvals not yet
// given on an open pull request): a plan with pending rules is not
// refused, but apply treats pending as a failure.
const (
	Pass    Status = "pass"
	Fail    Status = "fail"
	Pending Status = "pending"
	Skip    Status = "skip"
)

// The rules, by their stable names (used in refusals, JSON and docs).
const (
	RuleEnvironment  = "environment"
	RuleDigestExists = "digest-exists"
	RuleSignature    = "signature"
	RuleAttestations = "attestations"
	RuleOrder        = "order"
	RuleApprovals    = "approvals"
	// RulePolicy fails when the policy that must judge the change (the
	// spec on main before it) cannot be read.
	RulePolicy = "policy"
	// RulePolicyChange fails when one change both edits the policy and
	// promotes.
	RulePolicyChange = "policy-change"
)

// Rule is one rule's result for one environment.
type Rule struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// Mode says whether a plan is for review (plan) or for applying (apply).
type Mode string

// Modes.
const (
	ModePlan  Mode = "plan"
	ModeApply Mode = "apply"
)

// Outcome is what apply did to an environment.
type Outcome string

// Outcomes.
const (
	// Moved: the tag now points at the target digest.
	Moved Outcome = "moved"
	// Unchanged: the tag already pointed at the target digest.
	Unchanged Outcome = "unchanged"
	// Superseded: a newer commit on main changed this environment; its
	// apply owns the tag, this one leaves it alone.
	Superseded Outcome = "superseded"
)

// EnvPlan is one environment that changes between the two commits.
type EnvPlan struct {
	Environment string `json:"environment"`
	// From is the digest at the base commit ("" when none), To the digest
	// at the head commit.
	From    string `json:"from,omitempty"`
	To      string `json:"to"`
	Version string `json:"version,omitempty"`
	// Tag is the registry tag that apply moves (repo:env).
	Tag   string `json:"tag"`
	Rules []Rule `json:"rules"`
	// Approvers are the reviewers whose approvals counted (gated
	// environments).
	Approvers []string `json:"approvers,omitempty"`

	// Set by apply.
	Outcome      Outcome `json:"outcome,omitempty"`
	TagWas       string  `json:"tagWas,omitempty"`
	Note         string  `json:"note,omitempty"`
	DeploymentID int64   `json:"deploymentId,omitempty"`
	// Record is the signed promotion record apply attached to the digest
	// before it moved the tag.
	Record *RecordRef `json:"record,omitempty"`
}

// Passed reports whether no rule failed (in apply mode, none pending either).
func (e *EnvPlan) Passed(mode Mode) bool {
	for _, r := range e.Rules {
		if r.Status == Fail || (mode == ModeApply && r.Status == Pending) {
			return false
		}
	}
	return true
}

// Plan is what a promotion would do: for each environment whose desired
// digest differs between Base and Head, the rules and their results.
type Plan struct {
	Model       string `json:"model"`
	Repository  string `json:"repository"`
	Mode        Mode   `json:"mode"`
	Base        string `json:"base"`
	Head        string `json:"head"`
	File        string `json:"file,omitempty"`
	PullRequest int    `json:"pullRequest,omitempty"`
	// PullRequestURL is the promotion pull request's page, when known.
	PullRequestURL string `json:"pullRequestURL,omitempty"`
	// PolicyChange is set when the head's policy differs from the base's.
	PolicyChange *PolicyDiff `json:"policyChange,omitempty"`
	// PolicyCommit is the commit whose policy judged the plan.
	PolicyCommit string    `json:"policyCommit,omitempty"`
	Envs         []EnvPlan `json:"environments"`
	// OK is true when nothing failed (apply: nothing pending either).
	OK bool `json:"ok"`
	// Pending is true when only pending rules (approvals) stand in the way.
	Pending bool `json:"pending"`

	// view is the policy that judged the plan (apply verifies existing
	// promotion records against it).
	view *policyView
}

// Failures lists "env: rule: detail" for every failed (or, in apply mode,
// pending) rule.
func (pl *Plan) Failures() []string {
	var out []string
	for _, e := range pl.Envs {
		for _, r := range e.Rules {
			if r.Status == Fail || (pl.Mode == ModeApply && r.Status == Pending) {
				out = append(out, e.Environment+": "+r.Name+": "+r.Detail)
			}
		}
	}
	return out
}

// RefusedError is a plan with failed rules; its message names each
// environment and rule.
type RefusedError struct {
	Failures []string
}

func (e *RefusedError) Error() string {
	return "promotion refused: " + strings.Join(e.Failures, "; ")
}

// Err returns a *RefusedError when a rule failed, else nil.
func (pl *Plan) Err() error {
	if f := pl.Failures(); len(f) > 0 {
		return &RefusedError{Failures: f}
	}
	return nil
}

func (pl *Plan) finish() {
	pl.OK, pl.Pending = true, false
	for i := range pl.Envs {
		e := &pl.Envs[i]
		if !e.Passed(pl.Mode) {
			pl.OK = false
		}
		for _, r := range e.Rules {
			if r.Status == Pending {
				pl.Pending = true
			}
		}
	}
}

// Plan compares the environments file at baseRev and headRev and checks
// every changed environment. baseRev "" means HEAD^ (apply) or the merge
// base with the main branch (plan); headRev "" means HEAD. It changes
// nothing. A plan whose rules fail is returned with a nil error: see
// Plan.Err.
//
// The rules are those of the policy on the main branch before the change
// (see policyCommit), never the head's own: a change can propose a policy,
// it cannot be judged by it.
func (p *Promoter) Plan(ctx context.Context, mode Mode, baseRev, headRev string) (*Plan, error) {
	bs, hs, err := p.states(ctx, mode, baseRev, headRev)
	if err != nil {
		return nil, err
	}
	pc, why := p.policyCommit(ctx, mode, bs.Commit, hs.Commit)
	return p.plan(ctx, mode, bs, hs, pc, why)
}

// policyCommit is the commit whose policy judges the change to head: on
// apply the first parent of head, which must be on the main branch's
// first-parent history (main before the merge); on a plan the merge base
// of head with the main branch (base when there is no main branch: --base
// named it). why says why there is none.
func (p *Promoter) policyCommit(ctx context.Context, mode Mode, base, head string) (string, error) {
	ref := p.mainRef(ctx)
	if mode != ModeApply {
		if ref == "" {
			return base, nil
		}
		mb, err := p.git.MergeBase(ctx, head, ref)
		if err != nil {
			return "", fmt.Errorf("finding the merge base of %s with %s: %w", short(head), p.o.mainBranch, err)
		}
		return mb, nil
	}
	if ref == "" {
		return "", fmt.Errorf("no %s branch to check that commit %s is on it (fetch it: actions/checkout with fetch-depth: 0)", p.o.mainBranch, short(head))
	}
	on, err := p.git.OnFirstParent(ctx, ref, head)
	if err != nil {
		return "", err
	}
	if !on {
		return "", fmt.Errorf("commit %s is not on %s's first-parent history: apply promotes only what %s merged", short(head), p.o.mainBranch, p.o.mainBranch)
	}
	parent, err := p.git.Commit(ctx, head+"^1")
	if err != nil {
		return "", fmt.Errorf("commit %s has no parent on %s: no policy before it", short(head), p.o.mainBranch)
	}
	return parent, nil
}

// states resolves headRev (default HEAD) and baseRev (see resolveBase) and
// reads the desired state at both; a missing base is an empty state.
func (p *Promoter) states(ctx context.Context, mode Mode, baseRev, headRev string) (bs, hs *State, err error) {
	if headRev == "" {
		headRev = "HEAD"
	}
	head, err := p.git.Commit(ctx, headRev)
	if err != nil {
		return nil, nil, err
	}
	base, err := p.resolveBase(ctx, mode, baseRev, head)
	if err != nil {
		return nil, nil, err
	}
	bs = &State{Commit: base, Envs: map[string]spec.EnvState{}}
	if base != "" {
		if bs, err = p.StateAt(ctx, base); err != nil {
			return nil, nil, err
		}
	}
	if hs, err = p.StateAt(ctx, head); err != nil {
		return nil, nil, err
	}
	return bs, hs, nil
}

func (p *Promoter) resolveBase(ctx context.Context, mode Mode, baseRev, head string) (string, error) {
	if baseRev != "" {
		return p.git.Commit(ctx, baseRev)
	}
	if mode == ModeApply {
		b, err := p.git.Commit(ctx, head+"^")
		if err != nil {
			// A root commit has no parent: everything in it is new.
			if _, perr := p.git.run(ctx, nil, "rev-parse", "--verify", "--quiet", head+"^"); perr != nil {
				return "", nil
			}
			return "", err
		}
		return b, nil
	}
	ref := p.mainRef(ctx)
	if ref == "" {
		return "", fmt.Errorf("no %s branch (local or %s/%s) to compare with: fetch it (actions/checkout with fetch-depth: 0) or pass --base REV", p.o.mainBranch, p.o.remote, p.o.mainBranch)
	}
	return p.git.MergeBase(ctx, head, ref)
}

// plan checks the changes from bs to hs under the policy at commit pc
// (why: the reason there is none).
func (p *Promoter) plan(ctx context.Context, mode Mode, bs, hs *State, pc string, why error) (*Plan, error) {
	pl := &Plan{Model: p.model.Name, Repository: p.repo, Mode: mode, Base: bs.Commit, Head: hs.Commit, File: hs.File, PullRequest: p.o.pullRequest, PolicyCommit: pc, Envs: []EnvPlan{}}
	if pl.File == "" {
		pl.File = bs.File
	}
	base, baseErr := (*policyView)(nil), why
	if why == nil {
		base, baseErr = p.policyAt(ctx, pc)
	}
	head, headErr := p.policyAt(ctx, hs.Commit)
	if baseErr == nil && headErr == nil {
		d, err := diffPolicies(base, head)
		if err != nil {
			return nil, err
		}
		pl.PolicyChange = d
	}
	order := p.model.EnvironmentOrder
	if base != nil {
		order = base.model.EnvironmentOrder
	}
	ap := &approvalCheck{p: p, mode: mode, head: hs.Commit}
	pl.view = base
	for _, env := range envNames(order, bs, hs) {
		from, to := bs.Envs[env].Digest, hs.Envs[env].Digest
		if from == to {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p.o.logf("checking %s: %s -> %s", env, orNone(from), to)
		if baseErr != nil {
			pl.Envs = append(pl.Envs, EnvPlan{Environment: env, From: from, To: to, Version: hs.Envs[env].Version, Tag: p.TagRef(env), Rules: []Rule{{
				Name: RulePolicy, Status: Fail,
				Detail: fmt.Sprintf("the policy that judges this change (the spec on %s before it%s) cannot be read: %v; a change is never judged by its own policy: fix the spec on %s in a change that promotes nothing", p.o.mainBranch, commitSuffix(pc), baseErr, p.o.mainBranch),
			}}})
			continue
		}
		var pre []Rule
		switch {
		case headErr != nil:
			pre = append(pre, Rule{Name: RulePolicy, Status: Fail, Detail: fmt.Sprintf("the spec at %s cannot be read, so whether this change edits the policy is unknown: %v", short(hs.Commit), headErr)})
		case pl.PolicyChange != nil:
			pre = append(pre, Rule{Name: RulePolicyChange, Status: Fail, Detail: fmt.Sprintf("this change edits the promotion policy (%s) and promotes %s: change the policy in one PR, promote in another (this one is judged by the policy at %s)", strings.Join(pl.PolicyChange.Paths(), ", "), env, short(pc))})
		}
		e := p.checkEnv(ctx, base, env, from, to, hs, ap)
		e.Rules = append(pre, e.Rules...)
		pl.Envs = append(pl.Envs, e)
	}
	if mode == ModeApply && len(pl.Envs) > 0 {
		// The promotion records name the merged pull request, gated or not.
		ap.load(ctx)
	}
	if ap.pr != nil {
		pl.PullRequest, pl.PullRequestURL = ap.pr.Number, ap.pr.HTMLURL
	}
	pl.finish()
	return pl, nil
}

func commitSuffix(c string) string {
	if c == "" {
		return ""
	}
	return ", commit " + short(c)
}

func orNone(d string) string {
	if d == "" {
		return "(none)"
	}
	return d
}

// envNames lists the policy's environments in promotion order, then any
// others the files name (sorted), which the plan refuses.
func envNames(order []string, states ...*State) []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range order {
		seen[e] = true
		out = append(out, e)
	}
	var extra []string
	for _, s := range states {
		for e := range s.Envs {
			if !seen[e] {
				seen[e] = true
				extra = append(extra, e)
			}
		}
	}
	sort.Strings(extra)
	return append(out, extra...)
}

func (p *Promoter) checkEnv(ctx context.Context, v *policyView, env, from, to string, hs *State, ap *approvalCheck) EnvPlan {
	ep := EnvPlan{Environment: env, From: from, To: to, Version: hs.Envs[env].Version, Tag: p.TagRef(env)}
	add := func(name string, st Status, detail string, args ...any) {
		if len(args) > 0 {
			detail = fmt.Sprintf(detail, args...)
		}
		ep.Rules = append(ep.Rules, Rule{Name: name, Status: st, Detail: detail})
	}
	e, ok := v.model.Environments[env]
	if !ok {
		add(RuleEnvironment, Fail, "%s is not an environment of the spec on %s (it has %s)", env, p.o.mainBranch, strings.Join(v.model.EnvironmentOrder, ", "))
		return ep
	}
	if to == "" {
		add(RuleEnvironment, Fail, "the change removes %s's digest: set it to the digest %s should run (a rollback is a revert of the promotion)", env, env)
		return ep
	}

	// digest-exists
	exists := false
	ann, err := p.o.registry.Annotations(ctx, p.repo, to)
	switch {
	case errors.Is(err, ErrNotFound):
		add(RuleDigestExists, Fail, "%s is not in %s", to, p.repo)
	case err != nil:
		add(RuleDigestExists, Fail, "reading %s@%s: %v", p.repo, to, err)
	default:
		exists = true
		v := ann[oci.AnnotationVersion]
		switch {
		case ep.Version != "" && v != "" && v != ep.Version:
			exists = false
			add(RuleDigestExists, Fail, "the environments file says version %s but %s@%s is version %s", ep.Version, p.repo, oci.ShortDigest(to), v)
		default:
			if ep.Version == "" {
				ep.Version = v
			}
			add(RuleDigestExists, Pass, "%s@%s%s", p.repo, to, versionSuffix(v))
		}
	}

	// signature, attestations
	if !exists {
		add(RuleSignature, Skip, "the digest is not in the registry")
		add(RuleAttestations, Skip, "the digest is not in the registry")
	} else {
		p.checkSigned(ctx, v, env, e, to, add)
	}

	// order
	switch {
	case e.After == "":
		add(RuleOrder, Pass, "%s is the first environment", env)
	default:
		where, err := p.ranIn(ctx, v, e.After, to)
		switch {
		case err != nil:
			add(RuleOrder, Fail, "checking whether %s ran %s: %v", e.After, oci.ShortDigest(to), err)
		case where != "":
			add(RuleOrder, Pass, "%s ran it (%s)", e.After, where)
		case e.AllowSkip:
			add(RuleOrder, Pass, "%s has not run it, but %s allows skipping (allowSkip)", e.After, env)
		default:
			add(RuleOrder, Fail, "%s has not run %s on %s (only %s's first-parent history counts, before this change)", e.After, to, p.o.mainBranch, p.o.mainBranch)
		}
	}

	// approvals
	if e.Approvals.Required <= 0 {
		add(RuleApprovals, Pass, "none required")
	} else {
		st, detail, who := ap.check(ctx, env, e.Approvals)
		add(RuleApprovals, st, "%s", detail)
		if st == Pass {
			ep.Approvers = who
		}
	}
	return ep
}

func versionSuffix(v string) string {
	if v == "" {
		return ""
	}
	return " (version " + v + ")"
}
