package demo

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/mlship/mlship/internal/ghapi"
)

// localGitHub stands in for GitHub in the demo, where there is no API to
// talk to: it holds the promotion pull requests the demo "merges" with a
// reviewer's approval, and the deployments promote records. It implements
// exactly what promote needs (promote.GitHub) and nothing more; the tests
// of promote and report run against the OpenAPI-checked emulator instead.
type localGitHub struct {
	mu          sync.Mutex
	prs         []ghapi.PullRequest
	reviews     map[int][]ghapi.Review
	deployments []ghapi.Deployment
	statuses    map[int64]ghapi.DeploymentStatus
}

func newLocalGitHub() *localGitHub {
	return &localGitHub{reviews: map[int][]ghapi.Review{}, statuses: map[int64]ghapi.DeploymentStatus{}}
}

// merge records pull request #n, written by author and approved by
// reviewer, as merged into main at commit sha.
func (g *localGitHub) merge(title, author, reviewer, sha string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := len(g.prs) + 1
	now := time.Now().UTC()
	g.prs = append(g.prs, ghapi.PullRequest{Number: n, Title: title, State: "closed", Author: author, HeadRef: fmt.Sprintf("mlship/promote-%d", n),
		HeadSHA: sha, BaseRef: "main", Merged: true, MergeCommitSHA: sha, MergedAt: now})
	g.reviews[n] = []ghapi.Review{{ID: int64(n), User: reviewer, State: "APPROVED", CommitID: sha, SubmittedAt: now}}
	return n
}

func (g *localGitHub) GetPullRequest(_ context.Context, _, _ string, number int) (ghapi.PullRequest, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if number < 1 || number > len(g.prs) {
		return ghapi.PullRequest{}, fmt.Errorf("pull request #%d not found", number)
	}
	return g.prs[number-1], nil
}

func (g *localGitHub) PullRequestsForCommit(_ context.Context, _, _, sha string) ([]ghapi.PullRequest, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []ghapi.PullRequest
	for _, pr := range g.prs {
		if pr.MergeCommitSHA == sha || pr.HeadSHA == sha {
			out = append(out, pr)
		}
	}
	return out, nil
}

func (g *localGitHub) ApprovingReviews(_ context.Context, _, _ string, pr int) ([]ghapi.Review, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]ghapi.Review(nil), g.reviews[pr]...), nil
}

func (g *localGitHub) IsTeamMember(context.Context, string, string, string) (bool, error) {
	return false, nil
}

func (g *localGitHub) CreateDeployment(_ context.Context, _, _ string, d ghapi.DeploymentRequest) (int64, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	id := int64(len(g.deployments) + 1)
	g.deployments = append(g.deployments, ghapi.Deployment{ID: id, SHA: d.Ref, Ref: d.Ref, Task: "deploy", Environment: d.Environment, Description: d.Description, Creator: "mlship-demo", CreatedAt: time.Now().UTC()})
	return id, nil
}

func (g *localGitHub) SetDeploymentStatus(_ context.Context, _, _ string, id int64, st ghapi.DeploymentStatus) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.statuses[id] = st
	return nil
}

func (g *localGitHub) ListDeployments(_ context.Context, _, _, environment, sha string, limit int) ([]ghapi.Deployment, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []ghapi.Deployment
	for i := len(g.deployments) - 1; i >= 0 && (limit <= 0 || len(out) < limit); i-- {
		d := g.deployments[i]
		if (environment == "" || d.Environment == environment) && (sha == "" || d.SHA == sha) {
			out = append(out, d)
		}
	}
	return out, nil
}

func (g *localGitHub) UpsertPullRequest(context.Context, string, string, string, string, string, string) (ghapi.PullRequest, bool, error) {
	return ghapi.PullRequest{}, false, fmt.Errorf("the demo opens no pull requests")
}
