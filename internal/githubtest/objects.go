package githubtest

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// The JSON objects below follow the shapes api.github.com returns; every
// response is validated against the description, so a missing required
// field shows up as a test failure here first.

const htmlBase = "https://github.com"

type obj = map[string]any

func (s *Server) api() string { return strings.TrimSuffix(s.URL, "/") }

func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func nodeID(prefix string, id int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(id))
	return prefix + "_kwDO" + base64.RawURLEncoding.EncodeToString(b[:])
}

// fakeSHA derives a stable commit-like SHA from a string.
func fakeSHA(s string) string {
	h := sha1.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

func (s *Server) user(login string) obj {
	id := s.st.userID(login)
	typ := "User"
	if strings.HasSuffix(login, "[bot]") {
		typ = "Bot"
	}
	u := s.api() + "/users/" + login
	return obj{
		"login": login, "id": id, "node_id": nodeID("U", id),
		"avatar_url":  fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", id),
		"gravatar_id": "", "url": u, "html_url": htmlBase + "/" + login,
		"followers_url": u + "/followers", "following_url": u + "/following{/other_user}",
		"gists_url": u + "/gists{/gist_id}", "starred_url": u + "/starred{/owner}{/repo}",
		"subscriptions_url": u + "/subscriptions", "organizations_url": u + "/orgs",
		"repos_url": u + "/repos", "events_url": u + "/events{/privacy}",
		"received_events_url": u + "/received_events", "type": typ, "site_admin": false,
		"user_view_type": "public",
	}
}

func (s *Server) userOrNil(login string) any {
	if login == "" {
		return nil
	}
	return s.user(login)
}

func (s *Server) app() obj {
	return obj{
		"id": 15368, "slug": "github-actions", "node_id": "MDM6QXBwMTUzNjg=", "client_id": "Iv1.05c79e9ad1f6bdfa",
		"owner": s.user("github"), "name": "GitHub Actions", "description": "Automate your workflow from idea to production",
		"external_url": "https://help.github.com/en/actions", "html_url": htmlBase + "/apps/github-actions",
		"created_at": "2018-07-30T09:30:17Z", "updated_at": "2024-04-10T20:33:16Z",
		"permissions": obj{"checks": "write", "contents": "write", "deployments": "write", "issues": "write", "metadata": "read", "pull_requests": "write", "statuses": "write"},
		"events":      []any{"check_run", "check_suite", "pull_request", "push", "workflow_dispatch"},
	}
}

func (s *Server) repoURL(r *repo) string { return s.api() + "/repos/" + r.owner + "/" + r.name }

func (s *Server) repository(r *repo) obj {
	u := s.repoURL(r)
	full := r.owner + "/" + r.name
	html := htmlBase + "/" + full
	created := ts(r.created)
	return obj{
		"id": r.id, "node_id": nodeID("R", r.id), "name": r.name, "full_name": full,
		"owner": s.user(r.owner), "private": false, "html_url": html, "description": nil, "fork": false,
		"url": u, "archive_url": u + "/{archive_format}{/ref}", "assignees_url": u + "/assignees{/user}",
		"blobs_url": u + "/git/blobs{/sha}", "branches_url": u + "/branches{/branch}",
		"collaborators_url": u + "/collaborators{/collaborator}", "comments_url": u + "/comments{/number}",
		"commits_url": u + "/commits{/sha}", "compare_url": u + "/compare/{base}...{head}",
		"contents_url": u + "/contents/{+path}", "contributors_url": u + "/contributors",
		"deployments_url": u + "/deployments", "downloads_url": u + "/downloads", "events_url": u + "/events",
		"forks_url": u + "/forks", "git_commits_url": u + "/git/commits{/sha}", "git_refs_url": u + "/git/refs{/sha}",
		"git_tags_url": u + "/git/tags{/sha}", "git_url": "git://github.com/" + full + ".git",
		"issue_comment_url": u + "/issues/comments{/number}", "issue_events_url": u + "/issues/events{/number}",
		"issues_url": u + "/issues{/number}", "keys_url": u + "/keys{/key_id}", "labels_url": u + "/labels{/name}",
		"languages_url": u + "/languages", "merges_url": u + "/merges", "milestones_url": u + "/milestones{/number}",
		"notifications_url": u + "/notifications{?since,all,participating}", "pulls_url": u + "/pulls{/number}",
		"releases_url": u + "/releases{/id}", "ssh_url": "git@github.com:" + full + ".git",
		"stargazers_url": u + "/stargazers", "statuses_url": u + "/statuses/{sha}", "subscribers_url": u + "/subscribers",
		"subscription_url": u + "/subscription", "tags_url": u + "/tags", "teams_url": u + "/teams",
		"trees_url": u + "/git/trees{/sha}", "clone_url": html + ".git", "mirror_url": nil, "hooks_url": u + "/hooks",
		"svn_url": html, "homepage": nil, "language": "Go", "forks_count": 0, "stargazers_count": 0,
		"watchers_count": 0, "size": 108, "default_branch": "main", "open_issues_count": 0, "is_template": false,
		"topics": []any{}, "has_issues": true, "has_projects": true, "has_wiki": true, "has_pages": false,
		"has_downloads": true, "has_discussions": false, "archived": false, "disabled": false, "visibility": "public",
		"pushed_at": created, "created_at": created, "updated_at": created, "forks": 0, "open_issues": 0,
		"watchers": 0, "license": nil, "allow_forking": true, "web_commit_signoff_required": false,
	}
}

func (s *Server) comment(r *repo, c *Comment) obj {
	u := s.repoURL(r)
	return obj{
		"id": c.ID, "node_id": nodeID("IC", c.ID), "url": fmt.Sprintf("%s/issues/comments/%d", u, c.ID),
		"html_url":  fmt.Sprintf("%s/%s/%s/issues/%d#issuecomment-%d", htmlBase, r.owner, r.name, c.Issue, c.ID),
		"issue_url": fmt.Sprintf("%s/issues/%d", u, c.Issue), "body": c.Body, "user": s.user(c.User),
		"created_at": ts(c.CreatedAt), "updated_at": ts(c.UpdatedAt), "author_association": "NONE",
		"performed_via_github_app": nil,
		"reactions": obj{"url": fmt.Sprintf("%s/issues/comments/%d/reactions", u, c.ID), "total_count": 0,
			"+1": 0, "-1": 0, "laugh": 0, "confused": 0, "heart": 0, "hooray": 0, "eyes": 0, "rocket": 0},
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Server) checkRun(r *repo, c *CheckRun) obj {
	u := s.repoURL(r)
	var concl any
	if c.Conclusion != "" {
		concl = c.Conclusion
	}
	prs := []any{}
	for _, n := range sortedNumbers(r.pulls) {
		p := r.pulls[n]
		if p.State == "open" && p.HeadSHA == c.HeadSHA {
			prs = append(prs, obj{
				"id": p.ID, "number": p.Number, "url": fmt.Sprintf("%s/pulls/%d", u, p.Number),
				"head": obj{"ref": p.Head, "sha": p.HeadSHA, "repo": obj{"id": r.id, "url": u, "name": r.name}},
				"base": obj{"ref": p.Base, "sha": p.BaseSHA, "repo": obj{"id": r.id, "url": u, "name": r.name}},
			})
		}
	}
	details := c.DetailsURL
	if details == "" {
		details = fmt.Sprintf("%s/%s/%s/runs/%d", htmlBase, r.owner, r.name, c.ID)
	}
	return obj{
		"id": c.ID, "head_sha": c.HeadSHA, "node_id": nodeID("CR", c.ID), "external_id": c.ExternalID,
		"url": fmt.Sprintf("%s/check-runs/%d", u, c.ID), "html_url": fmt.Sprintf("%s/%s/%s/runs/%d", htmlBase, r.owner, r.name, c.ID),
		"details_url": details, "status": c.Status, "conclusion": concl,
		"started_at": ts(c.StartedAt), "completed_at": ts(c.CompletedAt),
		"output": obj{"title": nullable(c.Title), "summary": nullable(c.Summary), "text": nullable(c.Text),
			"annotations_count": len(c.Annotations), "annotations_url": fmt.Sprintf("%s/check-runs/%d/annotations", u, c.ID)},
		"name": c.Name, "check_suite": obj{"id": c.ID + 1_000_000}, "app": s.app(), "pull_requests": prs,
	}
}

func (s *Server) commitStatus(r *repo, c *CommitStatus) obj {
	return obj{
		"url": s.repoURL(r) + "/statuses/" + c.SHA, "avatar_url": fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", s.st.userID(c.Creator)),
		"id": c.ID, "node_id": nodeID("SC", c.ID), "state": c.State, "description": nullable(c.Description),
		"target_url": nullable(c.TargetURL), "context": c.Context, "created_at": ts(c.CreatedAt), "updated_at": ts(c.CreatedAt),
		"creator": s.user(c.Creator),
	}
}

func (s *Server) deployment(r *repo, d *Deployment) obj {
	u := s.repoURL(r)
	var payload any = obj{}
	if len(d.Payload) > 0 {
		payload = d.Payload
	}
	return obj{
		"url": fmt.Sprintf("%s/deployments/%d", u, d.ID), "id": d.ID, "node_id": nodeID("DE", d.ID),
		"sha": d.SHA, "ref": d.Ref, "task": d.Task, "payload": payload, "original_environment": d.Environment,
		"environment": d.Environment, "description": nullable(d.Description), "creator": s.user(d.Creator),
		"created_at": ts(d.CreatedAt), "updated_at": ts(d.UpdatedAt),
		"statuses_url":   fmt.Sprintf("%s/deployments/%d/statuses", u, d.ID),
		"repository_url": u, "transient_environment": d.TransientEnvironment,
		"production_environment": d.ProductionEnvironment, "performed_via_github_app": nil,
	}
}

func (s *Server) deploymentStatus(r *repo, d *Deployment, st *DeploymentStatus) obj {
	u := s.repoURL(r)
	return obj{
		"url": fmt.Sprintf("%s/deployments/%d/statuses/%d", u, d.ID, st.ID), "id": st.ID, "node_id": nodeID("DES", st.ID),
		"state": st.State, "creator": s.user(st.Creator), "description": st.Description, "environment": st.Environment,
		"target_url": st.LogURL, "log_url": st.LogURL, "environment_url": st.EnvironmentURL,
		"created_at": ts(st.CreatedAt), "updated_at": ts(st.CreatedAt),
		"deployment_url": fmt.Sprintf("%s/deployments/%d", u, d.ID), "repository_url": u,
		"performed_via_github_app": nil,
	}
}

// pullRequest renders the full pull-request object; simple=true renders
// pull-request-simple (lists).
func (s *Server) pullRequest(r *repo, p *PullRequest, simple bool) obj {
	u := s.repoURL(r)
	pu := fmt.Sprintf("%s/pulls/%d", u, p.Number)
	iu := fmt.Sprintf("%s/issues/%d", u, p.Number)
	html := fmt.Sprintf("%s/%s/%s/pull/%d", htmlBase, r.owner, r.name, p.Number)
	repoObj := s.repository(r)
	var mergeSHA any
	if p.MergeSHA != "" {
		mergeSHA = p.MergeSHA
	}
	o := obj{
		"url": pu, "id": p.ID, "node_id": nodeID("PR", p.ID), "html_url": html, "diff_url": html + ".diff",
		"patch_url": html + ".patch", "issue_url": iu, "commits_url": pu + "/commits",
		"review_comments_url": pu + "/comments", "review_comment_url": u + "/pulls/comments{/number}",
		"comments_url": iu + "/comments", "statuses_url": u + "/statuses/" + p.HeadSHA,
		"number": p.Number, "state": p.State, "locked": false, "title": p.Title, "user": s.user(p.User),
		"body": nullable(p.Body), "labels": s.labelsOf(r, p.Number), "milestone": nil, "active_lock_reason": nil,
		"created_at": ts(p.CreatedAt), "updated_at": ts(p.UpdatedAt), "closed_at": ts(p.ClosedAt),
		"merged_at": ts(p.MergedAt), "merge_commit_sha": mergeSHA, "assignee": nil, "assignees": []any{},
		"requested_reviewers": []any{}, "requested_teams": []any{},
		"head": obj{"label": r.owner + ":" + p.Head, "ref": p.Head, "sha": p.HeadSHA, "repo": repoObj, "user": s.user(r.owner)},
		"base": obj{"label": r.owner + ":" + p.Base, "ref": p.Base, "sha": p.BaseSHA, "repo": repoObj, "user": s.user(r.owner)},
		"_links": obj{
			"self": obj{"href": pu}, "html": obj{"href": html}, "issue": obj{"href": iu},
			"comments": obj{"href": iu + "/comments"}, "review_comments": obj{"href": pu + "/comments"},
			"review_comment": obj{"href": u + "/pulls/comments{/number}"}, "commits": obj{"href": pu + "/commits"},
			"statuses": obj{"href": u + "/statuses/" + p.HeadSHA},
		},
		"author_association": "CONTRIBUTOR", "auto_merge": nil, "draft": p.Draft,
	}
	if simple {
		return o
	}
	comments := 0
	for _, c := range r.comments {
		if c.Issue == p.Number {
			comments++
		}
	}
	var mergeable any = true
	state := "clean"
	if p.State != "open" {
		mergeable, state = nil, "unknown"
	}
	o["merged"] = p.Merged
	o["mergeable"] = mergeable
	o["rebaseable"] = mergeable
	o["mergeable_state"] = state
	o["merged_by"] = s.userOrNil(p.MergedBy)
	o["comments"] = comments
	o["review_comments"] = 0
	o["maintainer_can_modify"] = false
	o["commits"] = 1
	o["additions"] = 1
	o["deletions"] = 1
	o["changed_files"] = 1
	return o
}

func (s *Server) review(r *repo, p *PullRequest, v *Review) obj {
	html := fmt.Sprintf("%s/%s/%s/pull/%d", htmlBase, r.owner, r.name, p.Number)
	pu := fmt.Sprintf("%s/pulls/%d", s.repoURL(r), p.Number)
	o := obj{
		"id": v.ID, "node_id": nodeID("PRR", v.ID), "user": s.user(v.User), "body": v.Body, "state": v.State,
		"html_url": fmt.Sprintf("%s#pullrequestreview-%d", html, v.ID), "pull_request_url": pu,
		"_links":    obj{"html": obj{"href": fmt.Sprintf("%s#pullrequestreview-%d", html, v.ID)}, "pull_request": obj{"href": pu}},
		"commit_id": v.CommitID, "author_association": "MEMBER",
	}
	if !v.SubmittedAt.IsZero() {
		o["submitted_at"] = ts(v.SubmittedAt)
	}
	return o
}

func (s *Server) label(r *repo, l *Label) obj {
	return obj{
		"id": l.ID, "node_id": nodeID("LA", l.ID), "url": s.repoURL(r) + "/labels/" + url.PathEscape(l.Name),
		"name": l.Name, "description": nullable(l.Description), "color": l.Color, "default": false,
	}
}

// labelsOf renders the labels of issue (or pull request) n.
func (s *Server) labelsOf(r *repo, n int) []any {
	out := []any{}
	if is := r.issues[n]; is != nil {
		for _, name := range is.Labels {
			if l := r.labelNamed(name); l != nil {
				out = append(out, s.label(r, l))
			}
		}
	}
	return out
}

// issue renders the issue object (a pull request's issue view carries
// "pull_request").
func (s *Server) issue(r *repo, stored *Issue) obj {
	v := r.asIssue(stored)
	u := s.repoURL(r)
	iu := fmt.Sprintf("%s/issues/%d", u, v.Number)
	html := fmt.Sprintf("%s/%s/%s/issues/%d", htmlBase, r.owner, r.name, v.Number)
	labels := s.labelsOf(r, v.Number)
	comments := 0
	for _, c := range r.comments {
		if c.Issue == v.Number {
			comments++
		}
	}
	var reason any
	if v.StateReason != "" {
		reason = v.StateReason
	}
	o := obj{
		"id": v.ID, "node_id": nodeID("I", v.ID), "url": iu, "repository_url": u,
		"labels_url": iu + "/labels{/name}", "comments_url": iu + "/comments", "events_url": iu + "/events",
		"html_url": html, "number": v.Number, "state": v.State, "state_reason": reason, "title": v.Title,
		"body": nullable(v.Body), "user": s.userOrNil(v.User), "labels": labels, "assignee": nil, "assignees": []any{},
		"milestone": nil, "locked": false, "active_lock_reason": nil, "comments": comments,
		"closed_at": ts(v.ClosedAt), "created_at": ts(v.CreatedAt), "updated_at": ts(v.UpdatedAt),
		"closed_by": s.userOrNil(v.ClosedBy), "author_association": "NONE", "timeline_url": iu + "/timeline",
		"performed_via_github_app": nil,
		"reactions": obj{"url": iu + "/reactions", "total_count": 0,
			"+1": 0, "-1": 0, "laugh": 0, "confused": 0, "heart": 0, "hooray": 0, "eyes": 0, "rocket": 0},
	}
	if p := r.pulls[v.Number]; stored.isPull && p != nil {
		phtml := fmt.Sprintf("%s/%s/%s/pull/%d", htmlBase, r.owner, r.name, p.Number)
		o["html_url"] = phtml
		o["draft"] = p.Draft
		o["pull_request"] = obj{"url": fmt.Sprintf("%s/pulls/%d", u, p.Number), "html_url": phtml,
			"diff_url": phtml + ".diff", "patch_url": phtml + ".patch", "merged_at": ts(p.MergedAt)}
	}
	return o
}
