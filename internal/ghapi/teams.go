package ghapi

import (
	"context"
	"fmt"
	"net/http"

	"github.com/google/go-github/v62/github"
)

// IsTeamMember reports whether user is an active member (or maintainer) of
// org's team (by slug). A pending invitation does not count. The token
// needs read access to the organization's members (members: read); a
// workflow's own token cannot see teams, so use an app or PAT token.
func (c *Client) IsTeamMember(ctx context.Context, org, team, user string) (bool, error) {
	var state string
	path := fmt.Sprintf("orgs/%s/teams/%s/memberships/%s", org, team, user)
	err := c.do(ctx, http.MethodGet, path, idempotent, func() (*github.Response, error) {
		m, resp, err := c.gh.Teams.GetTeamMembershipBySlug(ctx, org, team, user)
		state = m.GetState()
		return resp, err
	})
	if IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return state == "active", nil
}
