package promote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/mlship/mlship/internal/attest"
	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/spec"
)

// EnvStatus is one environment as git (desired), the registry (actual)
// and GitHub (deployments) see it.
type EnvStatus struct {
	Environment string `json:"environment"`
	// Desired is the digest the environments file gives at the commit.
	Desired string `json:"desired,omitempty"`
	// Tag is repo:env and Current the digest it points at ("" when absent).
	Tag     string `json:"tag"`
	Current string `json:"current,omitempty"`
	InSync  bool   `json:"inSync"`
	// Sync is SyncYes, SyncNo or SyncError (the tag could not be read:
	// RegistryError says why).
	Sync          string `json:"sync"`
	RegistryError string `json:"registryError,omitempty"`
	// Reconcile says, for an environment out of sync, what apply would do
	// about it (refuse, leave it to a newer commit, move it if re-run).
	Reconcile string `json:"reconcile,omitempty"`
	Version   string `json:"version,omitempty"`
	// Signature is "verified", "unsigned", "invalid" or "unknown"; Signer
	// or SignatureDetail say more.
	Signature       string `json:"signature"`
	Signer          string `json:"signer,omitempty"`
	SignatureDetail string `json:"signatureDetail,omitempty"`
	// Record is the signed promotion record of the digest the tag points
	// at: "verified" (a record for this environment by an accepted signer
	// is attached to exactly that digest; RecordSigner says who), "none"
	// (RecordDetail says why), or "unknown" (it could not be checked).
	Record       string `json:"record,omitempty"`
	RecordSigner string `json:"recordSigner,omitempty"`
	RecordDetail string `json:"recordDetail,omitempty"`
	// PromotedAt and PromotedBy come from the verified promotion record
	// when the tag is in sync, else the newest GitHub deployment of the
	// environment when it names the desired digest, else the git commit
	// that introduced the digest into the file (Source says which).
	PromotedAt string `json:"promotedAt,omitempty"`
	PromotedBy string `json:"promotedBy,omitempty"`
	Source     string `json:"source,omitempty"`
}

// Sync values.
const (
	SyncYes   = "yes"
	SyncNo    = "no"
	SyncError = "error"
)

// Status reports every environment of the spec at rev (default HEAD).
func (p *Promoter) Status(ctx context.Context, rev string) ([]EnvStatus, error) {
	if rev == "" {
		rev = "HEAD"
	}
	commit, err := p.git.Commit(ctx, rev)
	if err != nil {
		return nil, err
	}
	st, err := p.StateAt(ctx, commit)
	if err != nil {
		return nil, err
	}
	var out []EnvStatus
	for _, env := range envNames(p.model.EnvironmentOrder, st) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		es := EnvStatus{Environment: env, Desired: st.Envs[env].Digest, Version: st.Envs[env].Version, Tag: p.TagRef(env), Signature: "unknown"}
		cur, err := p.o.registry.Resolve(ctx, p.repo, env)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			// Unknown is not "in sync": a registry that cannot be read
			// says nothing about the tag.
			es.Sync, es.RegistryError = SyncError, "reading the tag "+es.Tag+": "+err.Error()
		default:
			es.Current = cur
		}
		if es.Sync == "" {
			es.InSync = es.Desired == es.Current
			es.Sync = map[bool]string{true: SyncYes, false: SyncNo}[es.InSync]
		}
		subject := es.Desired
		if subject == "" {
			subject = es.Current
		}
		if subject != "" {
			p.signatureState(ctx, env, subject, &es)
		}
		var rec *attest.Promotion
		if es.Current != "" {
			rec = p.recordState(ctx, env, es.Current, &es)
		}
		var changer *CommitInfo
		if es.Desired != "" {
			changer = p.changedTo(ctx, commit, env, es.Desired)
			if rec != nil && es.InSync {
				es.PromotedAt, es.PromotedBy = rec.PromotedAt.UTC().Format(time.RFC3339), strings.Join(rec.Approvers, ", ")
				es.Source = "promotion record, merge commit " + short(rec.Git.MergeCommit)
				if rec.PullRequest != nil {
					es.Source += fmt.Sprintf(" (#%d)", rec.PullRequest.Number)
				}
			} else {
				p.promotedWhen(ctx, env, changer, &es)
			}
		}
		if es.Sync == SyncNo {
			es.Reconcile = p.reconcile(ctx, commit, env, changer, &es)
		}
		out = append(out, es)
	}
	return out, nil
}

func (p *Promoter) signatureState(ctx context.Context, env, digest string, es *EnvStatus) {
	if es.Version == "" {
		if ann, err := p.o.registry.Annotations(ctx, p.repo, digest); err == nil {
			es.Version = ann[oci.AnnotationVersion]
		} else if errors.Is(err, ErrNotFound) {
			es.Signature, es.SignatureDetail = "missing", digest+" is not in "+p.repo
			return
		}
	}
	pol, err := p.Policy(env)
	if err != nil {
		es.SignatureDetail = err.Error()
		return
	}
	pol.Attestations = nil
	v, err := p.o.verifier.Verify(ctx, digestRef(p.repo, digest), pol)
	switch {
	case err == nil:
		es.Signature = "verified"
		if len(v.Signatures) > 0 {
			es.Signer = v.Signatures[0].Signer
		}
	default:
		es.Signature, es.SignatureDetail = "invalid", refusalText(err)
		if strings.HasPrefix(es.SignatureDetail, "unsigned") {
			es.Signature = "unsigned"
		}
	}
}

// recordState checks the promotion record of env's tag (digest) and
// returns the newest record when one verified.
func (p *Promoter) recordState(ctx context.Context, env, digest string, es *EnvStatus) *attest.Promotion {
	pol, err := p.Policy(env)
	if err != nil {
		es.Record, es.RecordDetail = "unknown", err.Error()
		return nil
	}
	signer, recs, err := p.verifiedRecords(ctx, pol, env, digest)
	switch {
	case isRefusal(err):
		es.Record, es.RecordDetail = "none", refusalText(err)
		return nil
	case err != nil:
		es.Record, es.RecordDetail = "unknown", err.Error()
		return nil
	}
	es.Record, es.RecordSigner = "verified", signer
	// Every record here verified (sign.VerifiedAttestation.Predicate): one
	// attached beside them by another signer is never read. The newest
	// decides PROMOTED.
	return recs[len(recs)-1]
}

// promotedWhen takes PROMOTED from the newest GitHub deployment of env
// when it names the desired digest, else from the commit that changed
// env's line to it.
func (p *Promoter) promotedWhen(ctx context.Context, env string, changer *CommitInfo, es *EnvStatus) {
	if gh := p.o.github; gh != nil {
		if deps, err := gh.ListDeployments(ctx, p.o.owner, p.o.repo, env, "", 1); err == nil && len(deps) > 0 {
			var pl struct {
				Digest string `json:"digest"`
			}
			_ = json.Unmarshal(deps[0].Payload, &pl)
			if pl.Digest == es.Desired {
				es.PromotedAt = deps[0].CreatedAt.UTC().Format(time.RFC3339)
				es.PromotedBy = deps[0].Creator
				es.Source = "deployment " + itoa(deps[0].ID)
				return
			}
		}
	}
	if changer != nil {
		es.PromotedAt, es.PromotedBy, es.Source = changer.Date, changer.Author, "commit "+short(changer.SHA)
	}
}

// changedTo is the newest commit on rev's first-parent history that
// changed env's digest to digest (env's line, not another environment's
// line holding the same digest), or nil.
func (p *Promoter) changedTo(ctx context.Context, rev, env, digest string) *CommitInfo {
	_, hex, _ := strings.Cut(digest, ":")
	args := append([]string{"--first-parent", "-G" + regexp.QuoteMeta(hex), "--"}, spec.EnvironmentsFiles...)
	commits, err := p.git.Commits(ctx, rev, p.o.historyLimit, args...)
	if err != nil {
		return nil
	}
	for _, c := range commits {
		st, err := p.StateAt(ctx, c)
		if err != nil || st.Envs[env].Digest != digest {
			continue
		}
		before := ""
		if parent, err := p.git.Commit(ctx, c+"^1"); err == nil {
			if ps, err := p.StateAt(ctx, parent); err == nil {
				before = ps.Envs[env].Digest
			}
		}
		if before == digest {
			continue
		}
		ci, err := p.git.Info(ctx, c)
		if err != nil {
			return nil
		}
		return ci
	}
	return nil
}

// reconcile says what apply would do about env, out of sync at commit:
// only an apply of the commit that set env's digest can move its tag, and
// only if that commit is still the newest word on env and its rules pass.
func (p *Promoter) reconcile(ctx context.Context, commit, env string, changer *CommitInfo, es *EnvStatus) string {
	if es.Desired == "" {
		return fmt.Sprintf("the environments file gives %s no digest and apply never removes a tag: set a digest by a promotion, or delete %s by hand", env, es.Tag)
	}
	if changer == nil {
		return fmt.Sprintf("no commit on the first-parent history of %s sets %s to %s: apply will not move the tag", short(commit), env, oci.ShortDigest(es.Desired))
	}
	if ref := p.mainRef(ctx); ref != "" {
		if tip, err := p.git.LastCommit(ctx, ref, spec.EnvironmentsFiles...); err == nil && tip != "" && tip != commit {
			if ts, err := p.StateAt(ctx, tip); err == nil && ts.Envs[env].Digest != es.Desired {
				return fmt.Sprintf("superseded: commit %s on %s wants %s for %s; apply of this state will not move the tag", short(tip), p.o.mainBranch, orNone(ts.Envs[env].Digest), env)
			}
		}
	}
	pl, err := p.Plan(ctx, ModeApply, "", changer.SHA)
	if err != nil {
		return fmt.Sprintf("re-checking commit %s failed (%v): apply will not move the tag until it can check it", short(changer.SHA), err)
	}
	for _, e := range pl.Envs {
		if e.Environment != env {
			continue
		}
		for _, r := range e.Rules {
			if r.Status == Fail || r.Status == Pending {
				return fmt.Sprintf("apply of commit %s refuses it (%s: %s): the tag stays until a promotion passes", short(changer.SHA), r.Name, r.Detail)
			}
		}
		return fmt.Sprintf("the rules pass for commit %s but its apply did not move the tag (it failed, or the tag was moved by hand): re-run `mlship promote apply --head %s`", short(changer.SHA), changer.SHA)
	}
	return fmt.Sprintf("commit %s does not change %s for apply: it will not move the tag", short(changer.SHA), env)
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
