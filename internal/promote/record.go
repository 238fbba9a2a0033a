package promote

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/mlship/mlship/internal/attest"
	"github.com/mlship/mlship/internal/sign"
)

// Recorder signs a promotion record (an in-toto statement of predicate
// type attest.PromotionType about the digest ref names) and attaches it to
// that digest in the registry. Apply calls it before it moves a tag: an
// error leaves the tag where it was.
type Recorder interface {
	Record(ctx context.Context, ref string, rec *attest.Promotion) (*RecordRef, error)
}

// RecordRef says who signed a promotion record and where it went.
type RecordRef struct {
	Signer string `json:"signer"`
	// Tag is cosign's attestation tag holding it (legacy format) and
	// Referrers the Sigstore bundle manifests (bundle format), as
	// internal/sign reports them; GitHubAttestations the ids GitHub's
	// attestations API gave its bundles (--github-attestation).
	Tag                string   `json:"tag,omitempty"`
	Referrers          []string `json:"referrers,omitempty"`
	GitHubAttestations []int64  `json:"githubAttestations,omitempty"`
	// Existing is set when apply found a verified record for the
	// environment and digest already attached (a re-run: nothing written).
	Existing bool `json:"existing,omitempty"`
}

// Text says what the record is, for the plan's text and Markdown.
func (r *RecordRef) Text() string {
	if r.Existing {
		return "promotion record already attached, signed by " + r.Signer
	}
	s := "promotion record signed by " + r.Signer
	where := append([]string(nil), r.Referrers...)
	if r.Tag != "" {
		where = append(where, r.Tag)
	}
	if len(where) > 0 {
		s += " → " + strings.Join(where, ", ")
	}
	if n := len(r.GitHubAttestations); n > 0 {
		s += fmt.Sprintf(" (and %d GitHub attestation(s))", n)
	}
	return s
}

// SignRecorder is the Recorder over internal/sign: sign.Attest with the
// signer, never replacing earlier records (a digest holds one record per
// environment it went through, and one per promotion).
type SignRecorder struct {
	// Signer signs the records. When nil, NewSigner makes it on first use,
	// so a keyless signer asks Fulcio for a certificate only when a tag is
	// about to move.
	Signer    *sign.Signer
	NewSigner func(context.Context) (*sign.Signer, error)
	// Options are passed to sign.Attest (the registry client, the format).
	Options []sign.Option
}

// Record signs rec and attaches it to ref's digest.
func (r *SignRecorder) Record(ctx context.Context, ref string, rec *attest.Promotion) (*RecordRef, error) {
	if r.Signer == nil {
		if r.NewSigner == nil {
			return nil, errors.New("no signer for promotion records")
		}
		s, err := r.NewSigner(ctx)
		if err != nil {
			return nil, err
		}
		r.Signer = s
	}
	pred, err := rec.Marshal()
	if err != nil {
		return nil, err
	}
	res, err := sign.Attest(ctx, ref, r.Signer, attest.PromotionType, pred, r.Options...)
	if err != nil {
		return nil, err
	}
	return &RecordRef{Signer: res.Signer, Tag: res.Tag, Referrers: res.Referrers}, nil
}

// WithRecorder sets how apply signs promotion records. Without one, apply
// refuses to move any tag (fail closed): a tag never moves without a
// record.
func WithRecorder(r Recorder) Option { return func(o *options) error { o.recorder = r; return nil } }

// newRecord is the promotion record of e, about to be moved (or found
// unchanged) by the apply of pl; tagWas is what the tag pointed at.
func (p *Promoter) newRecord(pl *Plan, e *EnvPlan, tagWas string) *attest.Promotion {
	rec := &attest.Promotion{
		Environment:    e.Environment,
		Model:          pl.Model,
		Version:        e.Version,
		Repository:     p.repo,
		Tag:            e.Tag,
		Git:            attest.PromotionGit{Repository: p.gitRepository(), MergeCommit: pl.Head, Ref: "refs/heads/" + p.o.mainBranch},
		Approvers:      e.Approvers,
		PreviousDigest: tagWas,
		PromotedAt:     p.o.now().UTC(),
		RunURL:         p.o.runURL,
	}
	if pl.PullRequest > 0 {
		rec.PullRequest = &attest.PromotionPR{Number: pl.PullRequest, URL: pl.PullRequestURL}
	}
	for _, r := range e.Rules {
		rec.Rules = append(rec.Rules, attest.PromotionRule{Name: r.Name, Outcome: string(r.Status), Detail: r.Detail})
	}
	return rec
}

// gitRepository names the git repository for records: the GitHub URL when
// the run's repository is known, else the remote's URL, else "".
func (p *Promoter) gitRepository() string {
	if p.o.ownerRepo != "" {
		server := p.o.serverURL
		if server == "" {
			server = "https://github.com"
		}
		return server + "/" + p.o.ownerRepo
	}
	return ""
}

// writeRecord signs and attaches e's promotion record. A failure is the
// reason the tag does not move.
func (p *Promoter) writeRecord(ctx context.Context, pl *Plan, e *EnvPlan, tagWas string) error {
	if p.o.recorder == nil {
		return errors.New("no signer for the promotion record (give --attest-key FILE|env://VAR, or run keyless in GitHub Actions with id-token: write): the tag was not moved")
	}
	ref, err := p.o.recorder.Record(ctx, digestRef(p.repo, e.To), p.newRecord(pl, e, tagWas))
	if err != nil {
		return fmt.Errorf("signing the promotion record of %s for %s: %w: the tag was not moved", e.To, e.Environment, err)
	}
	e.Record = ref
	p.o.logf("%s: promotion record for %s signed by %s", e.Environment, e.To, ref.Signer)
	var pol *sign.Policy
	if pl.view != nil {
		pol = pl.view.sign[e.Environment]
	}
	switch {
	case pol != nil && pol.HasPromotionSigners():
		// A record the policy's promotion signer did not make counts for
		// no deployer and no order rule: the tag does not move.
		if _, _, err := p.verifiedRecords(ctx, pol, e.Environment, e.To); err != nil {
			e.Record = nil
			if isRefusal(err) {
				return fmt.Errorf("the promotion record of %s for %s was signed by %s, which signing.promotion does not accept (%s): sign records with the promotion signer (--attest-key, or keyless as the main workflow): the tag was not moved", e.To, e.Environment, ref.Signer, refusalText(err))
			}
			return fmt.Errorf("checking the promotion record of %s for %s: %w: the tag was not moved", e.To, e.Environment, err)
		}
	case pol != nil:
		p.o.logf("%s: warning: the spec has no signing.promotion, so promotion records count when signed by the candidates' signer (signing.key / signing.keyless), which pull-request workflows hold: anyone who can push a branch can sign a record. Give records a signer of their own (signing.promotion, see docs/promotion.md)", e.Environment)
	}
	return nil
}

// ensureRecord writes e's record unless a verified one for e's
// environment is already attached to e.To (a re-run of this apply, or of
// an earlier promotion of the same digest).
func (p *Promoter) ensureRecord(ctx context.Context, pl *Plan, e *EnvPlan, tagWas string) error {
	if pl.view != nil && pl.view.sign[e.Environment] != nil {
		signer, _, err := p.verifiedRecords(ctx, pl.view.sign[e.Environment], e.Environment, e.To)
		if err == nil {
			e.Record = &RecordRef{Signer: signer, Existing: true}
			return nil
		}
		if !isRefusal(err) {
			return fmt.Errorf("checking for the promotion record of %s: %w", e.To, err)
		}
	}
	return p.writeRecord(ctx, pl, e, tagWas)
}

// recordPolicy is pol's signers and trust with one rule: a promotion
// record for env.
func recordPolicy(pol *sign.Policy, env string) *sign.Policy {
	rp := *pol
	rp.Attestations = []sign.AttestationRule{sign.NewPromotionRule(env)}
	return &rp
}

// verifiedRecords verifies that a promotion record for env, signed by a
// signer pol accepts, is attached to exactly digest (its only subject)
// and names this repository, and returns the verified records for env,
// oldest first (by promotedAt), with the signer of the newest. A refusal
// (no record, another environment, repository or digest, another signer)
// is a *sign.Refusal.
//
// The records are the predicates of the statements that verified
// (sign.VerifiedAttestation.Predicate): a record attached by someone
// else, signed by a signer pol does not accept, is never read.
func (p *Promoter) verifiedRecords(ctx context.Context, pol *sign.Policy, env, digest string) (string, []*attest.Promotion, error) {
	ref := digestRef(p.repo, digest)
	v, err := p.o.verifier.Verify(ctx, ref, recordPolicy(pol, env))
	if err != nil {
		return "", nil, err
	}
	type signed struct {
		rec    *attest.Promotion
		signer string
	}
	var list []signed
	for _, a := range v.Attestations {
		if a.PredicateType != attest.PromotionType {
			continue
		}
		rec, err := attest.ParsePromotion(a.Predicate)
		if err != nil || rec.Environment != env {
			continue
		}
		list = append(list, signed{rec, a.Signer})
	}
	if len(list) == 0 {
		return "", nil, fmt.Errorf("the verifier accepted a promotion record for %s on %s but reported none", env, ref)
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].rec.PromotedAt.Before(list[j].rec.PromotedAt) })
	recs := make([]*attest.Promotion, len(list))
	for i, s := range list {
		recs[i] = s.rec
	}
	return list[len(list)-1].signer, recs, nil
}

// isRefusal reports whether err is a verification refusal (as opposed to
// a registry or setup error).
func isRefusal(err error) bool {
	var r *sign.Refusal
	return errors.As(err, &r)
}

// recordEvidence answers the order rule from signed promotion records: env
// ran digest when a record for env, by a signer env's policy (at the
// policy commit) accepts, is attached to exactly digest, and every record
// for env about digest names a merge commit that is, where the local
// history has it, on the main branch's first-parent history at or before
// the policy commit, and whose desired state gives env that digest. A
// record whose commit a shallow checkout lacks counts on its signature
// alone (that is what signing it is for); in a full clone such a commit is
// not main's and the record does not count.
type recordEvidence struct{ p *Promoter }

func (r recordEvidence) ran(ctx context.Context, v *policyView, env, digest string) (string, error) {
	p := r.p
	pol := v.sign[env]
	if pol == nil {
		return "", nil
	}
	signer, recs, err := p.verifiedRecords(ctx, pol, env, digest)
	if err != nil {
		if isRefusal(err) {
			return "", nil
		}
		return "", err
	}
	ref := p.mainRef(ctx)
	// The signer of records is often the signer of candidates, whose key
	// pull-request workflows hold: where the clone has main's history, a
	// record adds nothing git does not show. It counts only if the commit
	// it names is on main and gave env the digest; a commit absent from a
	// full clone is not main's. Only a shallow clone (or none of main)
	// takes a record on its signature alone.
	full := false
	if ref != "" {
		shallow, err := p.git.IsShallow(ctx)
		if err != nil {
			return "", err
		}
		full = !shallow
	}
	var commits []string
	for _, rec := range recs {
		c, err := p.git.Commit(ctx, rec.Git.MergeCommit)
		if err != nil {
			if full {
				p.o.logf("order: a promotion record for %s about %s names commit %s, which this full clone of %s does not have: not counted", env, digest, short(rec.Git.MergeCommit), p.o.mainBranch)
				return "", nil
			}
			commits = append(commits, short(rec.Git.MergeCommit)+" (not in the local history)")
			continue
		}
		ok, err := p.git.IsAncestor(ctx, c, v.commit)
		if err == nil && ok && ref != "" {
			ok, err = p.git.OnFirstParent(ctx, ref, c)
		}
		if err != nil {
			return "", err
		}
		if !ok {
			p.o.logf("order: a promotion record for %s about %s names commit %s, not on %s's first-parent history before %s: not counted", env, digest, short(c), p.o.mainBranch, short(v.commit))
			return "", nil
		}
		st, err := p.StateAt(ctx, c)
		if err != nil && ctx.Err() != nil {
			return "", ctx.Err()
		}
		if err != nil || st.Envs[env].Digest != digest {
			p.o.logf("order: a promotion record for %s about %s names commit %s, whose desired state does not give %s that digest: not counted", env, digest, short(c), env)
			return "", nil
		}
		commits = append(commits, short(c))
	}
	return fmt.Sprintf("signed promotion record by %s, merge commit %s", signer, strings.Join(uniqStrings(commits), ", ")), nil
}

func uniqStrings(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
