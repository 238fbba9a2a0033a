package promote

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/mlship/mlship/internal/ghapi"
	"github.com/mlship/mlship/internal/spec"
)

// approvalCheck finds the promotion pull request once per plan and checks
// each gated environment's approval rule against its reviews.
type approvalCheck struct {
	p    *Promoter
	mode Mode
	head string

	looked  bool
	pr      *ghapi.PullRequest
	reviews []ghapi.Review
	why     string // why there is no pull request or no reviews
	failed  bool   // why is a failure even in plan mode
}

// notYet is Pending on a plan and Fail on apply.
func (a *approvalCheck) notYet() Status {
	if a.mode == ModeApply {
		return Fail
	}
	return Pending
}

func (a *approvalCheck) load(ctx context.Context) {
	if a.looked {
		return
	}
	a.looked = true
	o := a.p.o
	if o.github == nil {
		a.why = "no GitHub token to read the promotion pull request's reviews (give the job a token with pull-requests: read)"
		return
	}
	var pr ghapi.PullRequest
	var err error
	switch {
	case a.mode == ModeApply:
		// The merged pull request that brought this commit to main: a
		// direct push has none and cannot promote to a gated environment.
		var prs []ghapi.PullRequest
		prs, err = o.github.PullRequestsForCommit(ctx, o.owner, o.repo, a.head)
		if err != nil {
			a.why, a.failed = fmt.Sprintf("listing the pull requests of commit %s: %v", short(a.head), err), true
			return
		}
		found := false
		var elsewhere []string
		for _, c := range prs {
			if !c.Merged || (c.MergeCommitSHA != a.head && c.HeadSHA != a.head) {
				continue
			}
			// Only a review of a pull request into main approves a
			// change to main: one merged into another branch that then
			// reached main brings no approvals.
			if c.BaseRef != o.mainBranch {
				elsewhere = append(elsewhere, fmt.Sprintf("#%d was merged into %s, not %s", c.Number, orNone(c.BaseRef), o.mainBranch))
				continue
			}
			pr, found = c, true
			break
		}
		if !found {
			a.why, a.failed = fmt.Sprintf("commit %s was not brought to %s by a merged pull request into %s: a direct push cannot promote to a gated environment", short(a.head), o.mainBranch, o.mainBranch), true
			if len(elsewhere) > 0 {
				a.why += " (pull request " + strings.Join(elsewhere, "; ") + ": its approvals do not count)"
			}
			return
		}
	case o.pullRequest > 0:
		pr, err = o.github.GetPullRequest(ctx, o.owner, o.repo, o.pullRequest)
		if err != nil {
			a.why, a.failed = fmt.Sprintf("reading pull request #%d: %v", o.pullRequest, err), true
			return
		}
		if pr.BaseRef != o.mainBranch {
			a.why, a.failed = fmt.Sprintf("pull request #%d goes into %s, not %s: its approvals do not count", pr.Number, orNone(pr.BaseRef), o.mainBranch), true
			return
		}
	default:
		a.why = "no promotion pull request to read reviews from (run on a pull_request event or pass --pr N)"
		return
	}
	a.pr = &pr
	a.reviews, err = o.github.ApprovingReviews(ctx, o.owner, o.repo, pr.Number)
	if err != nil {
		a.why, a.failed = fmt.Sprintf("reading the reviews of pull request #%d: %v", pr.Number, err), true
	}
}

// check counts approvals of the pull request's final head commit by
// allowed reviewers other than its author.
func (a *approvalCheck) check(ctx context.Context, env string, req spec.Approvals) (Status, string, []string) {
	a.load(ctx)
	if a.pr == nil || a.why != "" {
		st := a.notYet()
		if a.failed {
			st = Fail
		}
		return st, fmt.Sprintf("%d approving review(s) required from %s, none by the author: %s", req.Required, reviewersText(req.Reviewers), a.why), nil
	}
	var ok, notCounted []string
	for _, r := range a.reviews {
		switch {
		case strings.EqualFold(r.User, a.pr.Author):
			notCounted = append(notCounted, r.User+" (the author)")
		case r.CommitID != "" && a.pr.HeadSHA != "" && r.CommitID != a.pr.HeadSHA:
			notCounted = append(notCounted, r.User+" (approved an older commit "+short(r.CommitID)+")")
		default:
			allowed, err := a.allowed(ctx, req.Reviewers, r.User)
			if err != nil {
				return Fail, fmt.Sprintf("checking whether %s may approve: %v", r.User, err), nil
			}
			if allowed {
				ok = append(ok, r.User)
			} else {
				notCounted = append(notCounted, r.User+" (not an allowed reviewer)")
			}
		}
	}
	sort.Strings(ok)
	detail := fmt.Sprintf("%d of %d required approval(s) on #%d from %s", len(ok), req.Required, a.pr.Number, reviewersText(req.Reviewers))
	if len(ok) > 0 {
		detail += ": " + strings.Join(ok, ", ")
	}
	if len(notCounted) > 0 {
		detail += "; not counted: " + strings.Join(notCounted, ", ")
	}
	if len(ok) >= req.Required {
		return Pass, detail, ok
	}
	return a.notYet(), detail, nil
}

// allowed reports whether user is one of reviewers: a login, or a member
// of an "org/team" slug. No reviewers listed means anyone but the author.
func (a *approvalCheck) allowed(ctx context.Context, reviewers []string, user string) (bool, error) {
	if len(reviewers) == 0 {
		return true, nil
	}
	for _, r := range reviewers {
		r = strings.TrimPrefix(r, "@")
		if org, team, ok := strings.Cut(r, "/"); ok {
			member, err := a.p.o.github.IsTeamMember(ctx, org, team, user)
			if err != nil {
				return false, err
			}
			if member {
				return true, nil
			}
			continue
		}
		if strings.EqualFold(r, user) {
			return true, nil
		}
	}
	return false, nil
}

func reviewersText(r []string) string {
	if len(r) == 0 {
		return "any reviewer"
	}
	return strings.Join(r, ", ")
}
