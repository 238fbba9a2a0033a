package ghapi

import (
	"context"
	"fmt"
	"net/http"

	"github.com/google/go-github/v62/github"
)

// DefaultRunnerGroup is the id of a repository's or organization's
// "Default" runner group.
const DefaultRunnerGroup = 1

// GenerateJITConfig registers a just-in-time (ephemeral, single-job)
// self-hosted runner on owner/repo and returns its encoded configuration,
// to pass to `run.sh --jitconfig`, and the runner id. labels are its custom
// labels (1 to 100, e.g. "gpu", "a100"); runnerGroupID 0 means the default
// group. The token needs administration: write on the repository.
func (c *Client) GenerateJITConfig(ctx context.Context, owner, repo, name string, labels []string, runnerGroupID int64) (encodedConfig string, runnerID int64, err error) {
	if name == "" {
		return "", 0, fmt.Errorf("JIT runner on %s/%s: a runner name is required", owner, repo)
	}
	if len(labels) == 0 || len(labels) > 100 {
		return "", 0, fmt.Errorf("JIT runner %q on %s/%s: %d labels given, GitHub wants 1 to 100", name, owner, repo, len(labels))
	}
	if runnerGroupID == 0 {
		runnerGroupID = DefaultRunnerGroup
	}
	path := fmt.Sprintf("repos/%s/%s/actions/runners/generate-jitconfig", owner, repo)
	// Not repeated after a 5xx: the runner name may already be taken by the
	// first attempt, and a fresh name is the caller's choice.
	err = c.do(ctx, http.MethodPost, path, notIdempotent, func() (*github.Response, error) {
		j, resp, err := c.gh.Actions.GenerateRepoJITConfig(ctx, owner, repo, &github.GenerateJITConfigRequest{
			Name: name, RunnerGroupID: runnerGroupID, Labels: labels,
		})
		encodedConfig, runnerID = j.GetEncodedJITConfig(), j.GetRunner().GetID()
		return resp, err
	})
	if err != nil {
		return "", 0, err
	}
	return encodedConfig, runnerID, nil
}
