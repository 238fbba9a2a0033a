package ghapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-github/v62/github"
)

// DeploymentRequest describes a deployment to record.
type DeploymentRequest struct {
	// Ref is the branch, tag or SHA deployed; use the commit SHA so the
	// record names exactly what was deployed.
	Ref         string
	Environment string // e.g. "staging"; required
	Task        string // default "deploy"
	Description string
	// Payload is stored with the deployment (digest, version, ...); it is
	// marshalled as a JSON object.
	Payload any
	// RequiredContexts lists commit status contexts GitHub must see
	// succeed first. nil sends [] (no check): mlship's own gates decide,
	// and GitHub's default (all contexts) would refuse while other checks
	// on the commit are still running.
	RequiredContexts []string
	// Production marks a production environment; nil lets GitHub decide
	// (true for "production").
	Production *bool
	Transient  bool
}

// Deployment is a recorded deployment.
type Deployment struct {
	ID          int64
	SHA         string
	Ref         string
	Task        string
	Environment string
	Description string
	Payload     json.RawMessage
	Creator     string
	CreatedAt   time.Time
}

// CreateDeployment records a deployment and returns its id. GitHub's
// auto-merge is always off: a deployment must name exactly the commit given.
func (c *Client) CreateDeployment(ctx context.Context, owner, repo string, d DeploymentRequest) (int64, error) {
	if d.Ref == "" || d.Environment == "" {
		return 0, fmt.Errorf("deployment on %s/%s: ref %q and environment %q are both required", owner, repo, d.Ref, d.Environment)
	}
	req := &github.DeploymentRequest{
		Ref: github.String(d.Ref), Environment: github.String(d.Environment), AutoMerge: github.Bool(false),
		ProductionEnvironment: d.Production, TransientEnvironment: github.Bool(d.Transient),
	}
	if d.Task != "" {
		req.Task = github.String(d.Task)
	}
	if d.Description != "" {
		req.Description = github.String(truncateShort(d.Description, MaxDeploymentStatusDes))
	}
	if d.Payload != nil {
		req.Payload = d.Payload
	}
	ctxs := d.RequiredContexts
	if ctxs == nil {
		ctxs = []string{}
	}
	req.RequiredContexts = &ctxs
	var id int64
	path := fmt.Sprintf("repos/%s/%s/deployments", owner, repo)
	// A repeated create after a 5xx could record the deployment twice;
	// a duplicate record is harmless and a missing one is not, so retry.
	err := c.do(ctx, http.MethodPost, path, idempotent, func() (*github.Response, error) {
		dep, resp, err := c.gh.Repositories.CreateDeployment(ctx, owner, repo, req)
		id = dep.GetID()
		return resp, err
	})
	return id, err
}

// DeploymentStatus is a state change of a deployment.
type DeploymentStatus struct {
	// State: error, failure, inactive, in_progress, queued, pending, success.
	State          string
	Description    string // cut to 140 characters
	LogURL         string // the workflow run, usually
	EnvironmentURL string
	// Environment renames the deployment's environment ("" keeps it).
	Environment string
	// KeepOthersActive stops GitHub from marking earlier deployments of
	// the environment inactive on success.
	KeepOthersActive bool
}

// SetDeploymentStatus adds a status to deployment id.
func (c *Client) SetDeploymentStatus(ctx context.Context, owner, repo string, id int64, st DeploymentStatus) error {
	if st.State == "" {
		return fmt.Errorf("deployment %d status on %s/%s: state is required", id, owner, repo)
	}
	req := &github.DeploymentStatusRequest{State: github.String(st.State)}
	if st.Description != "" {
		req.Description = github.String(truncateShort(st.Description, MaxDeploymentStatusDes))
	}
	if st.LogURL != "" {
		req.LogURL = github.String(st.LogURL)
	}
	if st.EnvironmentURL != "" {
		req.EnvironmentURL = github.String(st.EnvironmentURL)
	}
	if st.Environment != "" {
		req.Environment = github.String(st.Environment)
	}
	if st.KeepOthersActive {
		req.AutoInactive = github.Bool(false)
	}
	path := fmt.Sprintf("repos/%s/%s/deployments/%d/statuses", owner, repo, id)
	return c.do(ctx, http.MethodPost, path, idempotent, func() (*github.Response, error) {
		_, resp, err := c.gh.Repositories.CreateDeploymentStatus(ctx, owner, repo, id, req)
		return resp, err
	})
}

// ListDeployments returns deployments, newest first, filtered by
// environment and sha when not empty (at most limit; 0 means 100).
func (c *Client) ListDeployments(ctx context.Context, owner, repo, environment, sha string, limit int) ([]Deployment, error) {
	if limit <= 0 {
		limit = 100
	}
	opt := &github.DeploymentsListOptions{Environment: environment, SHA: sha, ListOptions: github.ListOptions{PerPage: min(limit, 100)}}
	path := fmt.Sprintf("repos/%s/%s/deployments", owner, repo)
	var out []Deployment
	err := listAll(ctx, c, path, &opt.ListOptions, func() ([]*github.Deployment, *github.Response, error) {
		return c.gh.Repositories.ListDeployments(ctx, owner, repo, opt)
	}, func(d *github.Deployment) bool {
		out = append(out, Deployment{
			ID: d.GetID(), SHA: d.GetSHA(), Ref: d.GetRef(), Task: d.GetTask(), Environment: d.GetEnvironment(),
			Description: d.GetDescription(), Payload: d.Payload, Creator: d.GetCreator().GetLogin(), CreatedAt: d.GetCreatedAt().Time,
		})
		return len(out) < limit
	})
	if err != nil {
		return nil, err
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// SetCommitStatus posts a commit status (state: error, failure, pending,
// success) under context on sha. description is cut to 140 characters.
func (c *Client) SetCommitStatus(ctx context.Context, owner, repo, sha, state, statusContext, description, targetURL string) error {
	if sha == "" || state == "" || statusContext == "" {
		return fmt.Errorf("commit status on %s/%s: sha %q, state %q and context %q are all required", owner, repo, sha, state, statusContext)
	}
	st := &github.RepoStatus{State: github.String(state), Context: github.String(statusContext)}
	if description != "" {
		st.Description = github.String(truncateShort(description, MaxDeploymentStatusDes))
	}
	if targetURL != "" {
		st.TargetURL = github.String(targetURL)
	}
	path := fmt.Sprintf("repos/%s/%s/statuses/%s", owner, repo, sha)
	return c.do(ctx, http.MethodPost, path, idempotent, func() (*github.Response, error) {
		_, resp, err := c.gh.Repositories.CreateStatus(ctx, owner, repo, sha, st)
		return resp, err
	})
}
