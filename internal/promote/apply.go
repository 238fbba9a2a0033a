package promote

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/mlship/mlship/internal/ghapi"
	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/spec"
)

// Apply recomputes the plan from baseRev (default headRev^) to headRev
// (default HEAD), refuses it if any rule fails or is pending, and
// reconciles each changed environment's tag:
//
//   - the tag already points at the target: unchanged (idempotent re-run);
//   - a newer commit on the main branch wants another digest for the
//     environment (the desired state at the branch's tip differs from this
//     commit's): superseded, the tag is left to that commit's apply, so an
//     older commit can never move a tag over a newer one;
//   - otherwise the tag is moved to the target (compare-and-swap against
//     the expected previous digest; when the tag points elsewhere and this
//     commit is the newest desired state, it is reconciled and the plan
//     notes what it found).
//
// Before a tag moves, its promotion record (attest.Promotion: environment,
// merge commit, pull request, approvers, rules, previous digest, time) is
// signed by the Recorder and attached to the digest; if that fails the tag
// does not move. An unchanged tag gets a record too when the digest has
// no verified one for the environment yet.
//
// Each moved or unchanged environment gets a GitHub deployment (ref = the
// commit, payload = digest and version) with a success status, unless one
// already exists for that environment and commit.
func (p *Promoter) Apply(ctx context.Context, baseRev, headRev string) (*Plan, error) {
	pl, err := p.Plan(ctx, ModeApply, baseRev, headRev)
	if err != nil {
		return nil, err
	}
	if err := pl.Err(); err != nil {
		return pl, err
	}
	if len(pl.Envs) == 0 {
		return pl, nil
	}
	tip, err := p.tipState(ctx, pl.Head)
	if err != nil {
		return pl, err
	}
	var errs []error
	for i := range pl.Envs {
		e := &pl.Envs[i]
		if err := p.applyEnv(ctx, pl, e, tip); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", e.Environment, err))
		}
	}
	return pl, errors.Join(errs...)
}

// tipState is the desired state at the newest commit of the main branch
// that descends from head, or nil when head is that commit (or is not on
// the branch).
func (p *Promoter) tipState(ctx context.Context, head string) (*State, error) {
	if p.o.fetch && p.o.remote != "" && p.git.HasRemote(ctx, p.o.remote) {
		ref := "+refs/heads/" + p.o.mainBranch + ":refs/remotes/" + p.o.remote + "/" + p.o.mainBranch
		if _, err := p.git.run(ctx, nil, "fetch", "--quiet", "--no-tags", p.o.remote, ref); err != nil {
			p.o.logf("warning: fetching %s from %s failed (deciding from the local copy): %v", p.o.mainBranch, p.o.remote, err)
		}
	}
	ref := p.mainRef(ctx)
	if ref == "" {
		return nil, nil
	}
	tip, err := p.git.LastCommit(ctx, ref, spec.EnvironmentsFiles...)
	if err != nil || tip == "" || tip == head {
		return nil, err
	}
	if ok, err := p.git.IsAncestor(ctx, head, tip); err != nil || !ok {
		return nil, err
	}
	return p.StateAt(ctx, tip)
}

func (p *Promoter) applyEnv(ctx context.Context, pl *Plan, e *EnvPlan, tip *State) error {
	cur, err := p.o.registry.Resolve(ctx, p.repo, e.Environment)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("reading the tag %s: %w", e.Tag, err)
	}
	e.TagWas = cur
	switch {
	case cur == e.To:
		// A re-run, or a tag moved by hand: it keeps (or gets) its record.
		if err := p.ensureRecord(ctx, pl, e, cur); err != nil {
			return err
		}
		e.Outcome = Unchanged
	case tip != nil && tip.Envs[e.Environment].Digest != e.To:
		e.Outcome = Superseded
		e.Note = fmt.Sprintf("commit %s on %s wants %s for %s: its apply moves the tag", short(tip.Commit), p.o.mainBranch, orNone(tip.Envs[e.Environment].Digest), e.Environment)
		p.o.logf("%s: superseded: %s", e.Environment, e.Note)
		return nil
	default:
		if cur != e.From {
			e.Note = fmt.Sprintf("the tag pointed at %s, not the expected %s (moved by hand, or an earlier apply failed): reconciled to this commit, the newest desired state", orNone(cur), orNone(e.From))
			p.o.logf("warning: %s: %s", e.Environment, e.Note)
		}
		// The record first, then the tag: a tag never points at a digest
		// without its promotion record (see docs/promotion.md).
		if err := p.writeRecord(ctx, pl, e, cur); err != nil {
			return err
		}
		if err := p.o.registry.Tag(ctx, p.repo, e.To, e.Environment); err != nil {
			return fmt.Errorf("moving %s to %s: %w", e.Tag, e.To, err)
		}
		now, err := p.o.registry.Resolve(ctx, p.repo, e.Environment)
		if err != nil {
			return fmt.Errorf("reading %s back: %w", e.Tag, err)
		}
		if now != e.To {
			return fmt.Errorf("%s points at %s right after it was moved to %s: another apply ran at the same time; re-run this one", e.Tag, now, e.To)
		}
		e.Outcome = Moved
		p.o.logf("%s: %s -> %s", e.Environment, e.Tag, e.To)
	}
	return p.recordDeployment(ctx, pl, e)
}

func (p *Promoter) recordDeployment(ctx context.Context, pl *Plan, e *EnvPlan) error {
	gh := p.o.github
	if gh == nil {
		e.Note = strings.TrimPrefix(e.Note+"; no GitHub token: no deployment recorded", "; ")
		return nil
	}
	existing, err := gh.ListDeployments(ctx, p.o.owner, p.o.repo, e.Environment, pl.Head, 10)
	if err != nil {
		return fmt.Errorf("listing deployments: %w", err)
	}
	if len(existing) > 0 {
		e.DeploymentID = existing[0].ID
		return nil
	}
	payload := map[string]string{"model": pl.Model, "digest": e.To, "tag": e.Tag, "repository": p.repo}
	if e.Version != "" {
		payload["version"] = e.Version
	}
	if e.From != "" {
		payload["previous"] = e.From
	}
	desc := fmt.Sprintf("%s %s%s", pl.Model, oci.ShortDigest(e.To), versionSuffix(e.Version))
	id, err := gh.CreateDeployment(ctx, p.o.owner, p.o.repo, ghapi.DeploymentRequest{
		Ref: pl.Head, Environment: e.Environment, Task: "deploy", Description: desc, Payload: payload,
	})
	if err != nil {
		return fmt.Errorf("recording the deployment: %w", err)
	}
	e.DeploymentID = id
	err = gh.SetDeploymentStatus(ctx, p.o.owner, p.o.repo, id, ghapi.DeploymentStatus{
		State: "success", Description: e.Tag + " → " + oci.ShortDigest(e.To), LogURL: p.o.runURL,
	})
	if err != nil {
		return fmt.Errorf("setting the status of deployment %d: %w", id, err)
	}
	return nil
}

func matchesAny(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

func patterns(res []*regexp.Regexp) string {
	s := make([]string, len(res))
	for i, re := range res {
		s[i] = re.String()
	}
	return strings.Join(s, " or ")
}
