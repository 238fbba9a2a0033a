package promote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/sign"
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

	// Set by apply.
	Outcome      Outcome `json:"outcome,omitempty"`
	TagWas       string  `json:"tagWas,omitempty"`
	Note         string  `json:"note,omitempty"`
	DeploymentID int64   `json:"deploymentId,omitempty"`
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
	Model       string    `json:"model"`
	Repository  string    `json:"repository"`
	Mode        Mode      `json:"mode"`
	Base        string    `json:"base"`
	Head        string    `json:"head"`
	File        string    `json:"file,omitempty"`
	PullRequest int       `json:"pullRequest,omitempty"`
	Envs        []EnvPlan `json:"environments"`
	// OK is true when nothing failed (apply: nothing pending either).
	OK bool `json:"ok"`
	// Pending is true when only pending rules (approvals) stand in the way.
	Pending bool `json:"pending"`
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
func (p *Promoter) Plan(ctx context.Context, mode Mode, baseRev, headRev string) (*Plan, error) {
	bs, hs, err := p.states(ctx, mode, baseRev, headRev)
	if err != nil {
		return nil, err
	}
	return p.plan(ctx, mode, bs, hs)
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

// plan checks the changes from bs to hs.
func (p *Promoter) plan(ctx context.Context, mode Mode, bs, hs *State) (*Plan, error) {
	pl := &Plan{Model: p.model.Name, Repository: p.repo, Mode: mode, Base: bs.Commit, Head: hs.Commit, File: hs.File, PullRequest: p.o.pullRequest, Envs: []EnvPlan{}}
	if pl.File == "" {
		pl.File = bs.File
	}
	ap := &approvalCheck{p: p, mode: mode, head: hs.Commit}
	for _, env := range p.envNames(bs, hs) {
		from, to := bs.Envs[env].Digest, hs.Envs[env].Digest
		if from == to {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p.o.logf("checking %s: %s -> %s", env, orNone(from), to)
		e := p.checkEnv(ctx, env, from, to, bs, hs, ap)
		pl.Envs = append(pl.Envs, e)
	}
	if ap.pr != nil {
		pl.PullRequest = ap.pr.Number
	}
	pl.finish()
	return pl, nil
}

func orNone(d string) string {
	if d == "" {
		return "(none)"
	}
	return d
}

// envNames lists the spec's environments in promotion order, then any
// others the files name (sorted), which the plan refuses.
func (p *Promoter) envNames(states ...*State) []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range p.model.EnvironmentOrder {
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

func (p *Promoter) checkEnv(ctx context.Context, env, from, to string, bs, hs *State, ap *approvalCheck) EnvPlan {
	ep := EnvPlan{Environment: env, From: from, To: to, Version: hs.Envs[env].Version, Tag: p.TagRef(env)}
	add := func(name string, st Status, detail string, args ...any) {
		if len(args) > 0 {
			detail = fmt.Sprintf(detail, args...)
		}
		ep.Rules = append(ep.Rules, Rule{Name: name, Status: st, Detail: detail})
	}
	e, ok := p.model.Environments[env]
	if !ok {
		add(RuleEnvironment, Fail, "%s is not an environment of the spec (it has %s)", env, strings.Join(p.model.EnvironmentOrder, ", "))
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
			add(RuleDigestExists, Fail, "the environments file says version %s but %s@%s is version %s", ep.Version, p.repo, shortDigest(to), v)
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
		p.checkSigned(ctx, env, e, to, add)
	}

	// order
	switch {
	case e.After == "":
		add(RuleOrder, Pass, "%s is the first environment", env)
	default:
		where, err := p.ranIn(ctx, e.After, to, bs, hs)
		switch {
		case err != nil:
			add(RuleOrder, Fail, "checking whether %s ran %s: %v", e.After, shortDigest(to), err)
		case where != "":
			add(RuleOrder, Pass, "%s ran it (%s)", e.After, where)
		case e.AllowSkip:
			add(RuleOrder, Pass, "%s has not run it, but %s allows skipping (allowSkip)", e.After, env)
		default:
			add(RuleOrder, Fail, "%s has not run %s", e.After, to)
		}
	}

	// approvals
	if e.Approvals.Required <= 0 {
		add(RuleApprovals, Pass, "none required")
	} else {
		st, detail := ap.check(ctx, env, e.Approvals)
		add(RuleApprovals, st, "%s", detail)
	}
	return ep
}

func versionSuffix(v string) string {
	if v == "" {
		return ""
	}
	return " (version " + v + ")"
}

// Policy is the verification policy for promoting to env: the spec's
// signing section (or the WithSigner override) and env's required
// attestations and gates.
func (p *Promoter) Policy(env string) (*sign.Policy, error) {
	m := *p.model
	if p.o.signer != nil {
		m.Signing.Key, m.Signing.Keyless = "", nil
	}
	pol, err := sign.PolicyFromSpec(&m, env, p.o.getenv)
	if pol == nil {
		return nil, err
	}
	if p.o.signer != nil {
		pol.Keys, pol.Identities = p.o.signer.Keys, p.o.signer.Identities
		err = pol.Validate()
	}
	if err != nil {
		return nil, err
	}
	pol.Trust = p.o.trust
	return pol, nil
}

func (p *Promoter) checkSigned(ctx context.Context, env string, e spec.Environment, digest string, add func(string, Status, string, ...any)) {
	ref := digestRef(p.repo, digest)
	pol, err := p.Policy(env)
	if err != nil {
		add(RuleSignature, Fail, "%v", err)
		add(RuleAttestations, Skip, "no verification policy")
		return
	}
	sigOnly := *pol
	sigOnly.Attestations = nil
	v, err := p.o.verifier.Verify(ctx, ref, &sigOnly)
	if err != nil {
		add(RuleSignature, Fail, "%s", refusalText(err))
		add(RuleAttestations, Skip, "the signature failed")
		return
	}
	signer := ""
	if len(v.Signatures) > 0 {
		signer = v.Signatures[0].Signer
	}
	add(RuleSignature, Pass, "signed by %s", signer)

	if len(pol.Attestations) == 0 {
		add(RuleAttestations, Pass, "none required")
		return
	}
	if _, err := p.o.verifier.Verify(ctx, ref, pol); err != nil {
		add(RuleAttestations, Fail, "%s", refusalText(err))
		return
	}
	var got []string
	for _, r := range pol.Attestations {
		switch r.PredicateType {
		case sign.EvalPredicateType:
			got = append(got, "eval passed"+gatesText(e.Gates))
		case sign.ProvenancePredicateType:
			builder, err := p.checkProvenance(ctx, ref, digest)
			if err != nil {
				add(RuleAttestations, Fail, "provenance: %v", err)
				return
			}
			got = append(got, "provenance from "+builder)
		default:
			got = append(got, r.Name())
		}
	}
	add(RuleAttestations, Pass, "%s", strings.Join(got, "; "))
}

func refusalText(err error) string {
	var r *sign.Refusal
	if errors.As(err, &r) {
		s := r.Rule
		if r.Detail != "" {
			d := r.Detail
			if len(d) > 300 {
				d = d[:300] + "…"
			}
			s += " (" + d + ")"
		}
		return s
	}
	return err.Error()
}

func gatesText(g map[string]spec.Gate) string {
	if len(g) == 0 {
		return ""
	}
	keys := make([]string, 0, len(g))
	for k := range g {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		if g[k].Min != nil {
			parts = append(parts, fmt.Sprintf("%s ≥ %g", k, *g[k].Min))
		}
		if g[k].Max != nil {
			parts = append(parts, fmt.Sprintf("%s ≤ %g", k, *g[k].Max))
		}
	}
	return " with gates " + strings.Join(parts, ", ")
}

// checkProvenance requires every provenance statement about digest to come
// from an allowed workflow (conservative: the statements are read without
// matching each to its signature, so one foreign builder refuses), and
// returns the builder.
func (p *Promoter) checkProvenance(ctx context.Context, ref, digest string) (string, error) {
	sts, err := p.o.verifier.Statements(ctx, ref, sign.ProvenancePredicateType)
	if err != nil {
		return "", err
	}
	var builders []string
	for _, st := range sts {
		if !aboutDigest(st, digest) {
			continue
		}
		var pred struct {
			RunDetails struct {
				Builder struct {
					ID string `json:"id"`
				} `json:"builder"`
			} `json:"runDetails"`
		}
		if err := json.Unmarshal(st.Predicate, &pred); err != nil || pred.RunDetails.Builder.ID == "" {
			return "", errors.New("a provenance attestation names no builder (runDetails.builder.id)")
		}
		b := pred.RunDetails.Builder.ID
		if len(p.o.workflows) > 0 && !matchesAny(p.o.workflows, b) {
			return "", fmt.Errorf("builder %s is not an allowed workflow (allowed: %s)", b, patterns(p.o.workflows))
		}
		builders = append(builders, b)
	}
	if len(builders) == 0 {
		return "", fmt.Errorf("no provenance attestation about %s", digest)
	}
	sort.Strings(builders)
	out := strings.Join(uniq(builders), ", ")
	if len(p.o.workflows) == 0 {
		out += " (any workflow accepted: no allowed workflows configured)"
	}
	return out, nil
}

func aboutDigest(st sign.Statement, digest string) bool {
	alg, hex, _ := strings.Cut(digest, ":")
	for _, s := range st.Subject {
		if s.Digest[alg] == hex {
			return true
		}
	}
	return false
}

func uniq(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// ranIn reports where env ran digest: its desired state at the base or
// head commit, its registry tag, or its desired state at an earlier commit
// (so a rollback to a digest that went through env passes). "" means it
// did not.
func (p *Promoter) ranIn(ctx context.Context, env, digest string, bs, hs *State) (string, error) {
	if hs.Envs[env].Digest == digest {
		return "desired state at " + short(hs.Commit), nil
	}
	if bs.Envs[env].Digest == digest {
		return "desired state at " + short(bs.Commit), nil
	}
	cur, err := p.o.registry.Resolve(ctx, p.repo, env)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return "", err
	}
	if cur == digest {
		return "the tag " + p.TagRef(env) + " points at it", nil
	}
	// Only commits whose diff adds or removes a line holding the digest
	// can have given it to env.
	_, hex, _ := strings.Cut(digest, ":")
	commits, err := p.git.Commits(ctx, hs.Commit, p.o.historyLimit, append([]string{"-G" + regexp.QuoteMeta(hex), "--"}, spec.EnvironmentsFiles...)...)
	if err != nil {
		return "", err
	}
	for _, c := range commits {
		if c == hs.Commit || c == bs.Commit {
			continue
		}
		st, err := p.StateAt(ctx, c)
		if err != nil {
			continue // an old invalid file proves nothing
		}
		if st.Envs[env].Digest == digest {
			return "desired state at " + short(c), nil
		}
	}
	return "", nil
}
