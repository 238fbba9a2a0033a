package ghapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v62/github"
)

// MaxDispatchInputs is the most inputs a workflow_dispatch event may carry.
const MaxDispatchInputs = 25

// DispatchWorkflow starts workflow (its file name, "retrain.yml", or its
// numeric id) on ref (a branch or tag) with a workflow_dispatch event. The
// workflow must declare "on: workflow_dispatch" and the token needs
// actions: write. Not retried after an ambiguous failure: two dispatches
// would start two runs.
func (c *Client) DispatchWorkflow(ctx context.Context, owner, repo, workflow, ref string, inputs map[string]any) error {
	if workflow == "" || strings.ContainsAny(workflow, "/?#%\\ \t\r\n") {
		return fmt.Errorf("workflow dispatch on %s/%s: workflow %q: want a workflow file name (e.g. retrain.yml) or id", owner, repo, workflow)
	}
	if ref == "" {
		return fmt.Errorf("workflow dispatch of %s on %s/%s: a ref (branch or tag) is required", workflow, owner, repo)
	}
	if len(inputs) > MaxDispatchInputs {
		return fmt.Errorf("workflow dispatch of %s on %s/%s: %d inputs, GitHub takes at most %d", workflow, owner, repo, len(inputs), MaxDispatchInputs)
	}
	ev := github.CreateWorkflowDispatchEventRequest{Ref: ref, Inputs: inputs}
	path := fmt.Sprintf("repos/%s/%s/actions/workflows/%s/dispatches", owner, repo, workflow)
	return c.do(ctx, http.MethodPost, path, notIdempotent, func() (*github.Response, error) {
		return c.gh.Actions.CreateWorkflowDispatchEventByFileName(ctx, owner, repo, workflow, ev)
	})
}
