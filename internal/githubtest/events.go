package githubtest

import (
	"encoding/json"
	"fmt"
	"time"
)

// PullRequestEvent returns a pull_request event payload (as GitHub writes to
// the file gha.VarEventPath names) for a pull request of the emulator, e.g. to run a
// workflow with act -e. action is "opened", "synchronize", "closed", ...
// The payload is checked against GitHub's webhook schema.
func (s *Server) PullRequestEvent(owner, repo string, number int, action string) ([]byte, error) {
	s.mu.Lock()
	r := s.locked(owner, repo)
	p := r.pulls[number]
	if p == nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("githubtest: %s/%s has no pull request #%d", owner, repo, number)
	}
	pr := s.pullRequest(r, p, false)
	pr["requested_reviewers"] = []any{}
	pr["requested_teams"] = []any{}
	pr["rebaseable"] = pr["mergeable"]
	ev := obj{
		"action": action, "number": p.Number, "pull_request": pr,
		"repository": s.webhookRepository(r), "sender": s.user(p.User),
	}
	if action == "synchronize" {
		ev["before"] = fakeSHA(p.HeadSHA + "^")
		ev["after"] = p.HeadSHA
	}
	s.mu.Unlock()
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	return b, validateWebhook("pull_request", b)
}

// PushEvent returns a push event payload for ref (e.g. "refs/heads/main")
// moving from before to after, pushed by pusher.
func (s *Server) PushEvent(owner, repo, ref, before, after, pusher string) ([]byte, error) {
	s.mu.Lock()
	r := s.locked(owner, repo)
	now := s.now().UTC().Format(time.RFC3339)
	u := s.user(pusher)
	commit := obj{
		"id": after, "tree_id": fakeSHA("tree" + after), "distinct": true, "message": "Merge pull request",
		"timestamp": now, "url": fmt.Sprintf("%s/%s/%s/commit/%s", htmlBase, owner, repo, after),
		"author":    obj{"name": pusher, "email": pusher + "@users.noreply.github.com", "username": pusher},
		"committer": obj{"name": "GitHub", "email": "noreply@github.com", "username": "web-flow"},
		"added":     []any{}, "removed": []any{}, "modified": []any{},
	}
	ev := obj{
		"ref": ref, "before": before, "after": after, "created": false, "deleted": false, "forced": false,
		"base_ref": nil, "compare": fmt.Sprintf("%s/%s/%s/compare/%s...%s", htmlBase, owner, repo, before[:12], after[:12]),
		"commits": []any{commit}, "head_commit": commit,
		"repository": s.webhookRepository(r),
		"pusher":     obj{"name": pusher, "email": pusher + "@users.noreply.github.com"},
		"sender":     u,
	}
	s.mu.Unlock()
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	return b, validateWebhook("push", b)
}

// webhookRepository is the repository object of webhook payloads: the REST
// one plus a few fields only webhooks carry.
func (s *Server) webhookRepository(r *repo) obj {
	o := s.repository(r)
	o["stargazers"] = 0
	o["master_branch"] = "main"
	o["allow_rebase_merge"] = true
	o["allow_squash_merge"] = true
	o["allow_merge_commit"] = true
	o["allow_auto_merge"] = false
	o["delete_branch_on_merge"] = false
	o["custom_properties"] = obj{}
	return o
}
