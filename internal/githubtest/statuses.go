package githubtest

import (
	"fmt"
	"net/http"
)

// commit statuses.

func createCommitStatus(c *call) {
	r := c.repo()
	var in struct {
		State       string  `json:"state"`
		TargetURL   *string `json:"target_url"`
		Description *string `json:"description"`
		Context     *string `json:"context"`
	}
	if !c.decode(&in) {
		return
	}
	cs := &CommitStatus{ID: c.s.st.id(), SHA: c.params["sha"], State: in.State, Context: "default", Creator: c.s.login, CreatedAt: c.now()}
	if in.TargetURL != nil {
		cs.TargetURL = *in.TargetURL
	}
	if in.Description != nil {
		cs.Description = *in.Description
	}
	if in.Context != nil && *in.Context != "" {
		cs.Context = *in.Context
	}
	r.statuses = append(r.statuses, cs)
	c.json(http.StatusCreated, c.s.commitStatus(r, cs))
}

func (r *repo) statusesFor(sha string) []*CommitStatus {
	var out []*CommitStatus
	for i := len(r.statuses) - 1; i >= 0; i-- {
		if r.statuses[i].SHA == sha {
			out = append(out, r.statuses[i])
		}
	}
	return out
}

func listCommitStatuses(c *call) {
	r := c.repo()
	var out []any
	for _, cs := range r.statusesFor(r.resolveRef(c.params["ref"])) {
		out = append(out, c.s.commitStatus(r, cs))
	}
	c.json(http.StatusOK, nonNil(page(c, out)))
}

// combined returns the latest status per context and the combined state.
func combined(list []*CommitStatus) ([]*CommitStatus, string) {
	seen := map[string]bool{}
	var latest []*CommitStatus
	for _, cs := range list { // newest first
		if !seen[cs.Context] {
			seen[cs.Context] = true
			latest = append(latest, cs)
		}
	}
	state := "success"
	if len(latest) == 0 {
		state = "pending"
	}
	for _, cs := range latest {
		switch cs.State {
		case "error", "failure":
			state = "failure"
		case "pending":
			if state != "failure" {
				state = "pending"
			}
		}
	}
	return latest, state
}

func combinedStatus(c *call) {
	r := c.repo()
	sha := r.resolveRef(c.params["ref"])
	latest, state := combined(r.statusesFor(sha))
	var out []any
	for _, cs := range latest {
		out = append(out, obj{
			"avatar_url": fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", c.s.st.userID(cs.Creator)),
			"url":        c.s.repoURL(r) + "/statuses/" + cs.SHA, "id": cs.ID, "node_id": nodeID("SC", cs.ID),
			"state": cs.State, "description": nullable(cs.Description), "target_url": nullable(cs.TargetURL),
			"context": cs.Context, "created_at": ts(cs.CreatedAt), "updated_at": ts(cs.CreatedAt),
		})
	}
	total := len(out)
	c.json(http.StatusOK, obj{
		"state": state, "statuses": nonNil(page(c, out)), "sha": sha, "total_count": total,
		"repository": c.s.repository(r), "commit_url": c.s.repoURL(r) + "/commits/" + sha,
		"url": c.s.repoURL(r) + "/commits/" + sha + "/status",
	})
}
