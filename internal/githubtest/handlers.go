package githubtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// GitHub's documented size limits, enforced as api.github.com does (422).
const (
	MaxCommentBody        = 65536
	MaxCheckRunSummary    = 65535
	MaxCheckRunText       = 65535
	MaxAnnotationsPerCall = 50
)

// handlers maps operationIds of GitHub's description to emulations. A valid
// request for an operation missing here fails the test with a pointer to
// this file.
var handlers = map[string]func(*call){
	"issues/list-comments":    listComments,
	"issues/create-comment":   createComment,
	"issues/get-comment":      getComment,
	"issues/update-comment":   updateComment,
	"issues/delete-comment":   deleteComment,
	"checks/create":           createCheckRun,
	"checks/update":           updateCheckRun,
	"checks/get":              getCheckRun,
	"checks/list-for-ref":     listCheckRunsForRef,
	"checks/list-annotations": listAnnotations,

	"repos/create-commit-status":         createCommitStatus,
	"repos/list-commit-statuses-for-ref": listCommitStatuses,
	"repos/get-combined-status-for-ref":  combinedStatus,

	"repos/create-deployment":        createDeployment,
	"repos/list-deployments":         listDeployments,
	"repos/get-deployment":           getDeployment,
	"repos/create-deployment-status": createDeploymentStatus,
	"repos/list-deployment-statuses": listDeploymentStatuses,

	"pulls/get":           getPull,
	"pulls/list":          listPulls,
	"pulls/create":        createPull,
	"pulls/update":        updatePull,
	"pulls/list-reviews":  listReviews,
	"pulls/create-review": createReview,
	"repos/list-pull-requests-associated-with-commit": pullsForCommit,

	"teams/get-membership-for-user-in-org":           getTeamMembership,
	"teams/add-or-update-membership-for-user-in-org": putTeamMembership,
	"teams/remove-membership-for-user-in-org":        deleteTeamMembership,

	"actions/generate-runner-jitconfig-for-repo": generateJITConfig,

	"repos/get": getRepo,
}

// ---- repositories (any owner/name exists, created on first use)

func getRepo(c *call) {
	r := c.repo()
	o := c.s.repository(r)
	o["network_count"] = 0
	o["subscribers_count"] = 0
	o["permissions"] = obj{"admin": false, "maintain": false, "push": true, "triage": true, "pull": true}
	c.json(http.StatusOK, o)
}

// ---- issue comments

func (r *repo) hasIssue(n int) bool { _, ok := r.issues[n]; return ok }

func listComments(c *call) {
	r := c.repo()
	n, ok := c.intParam("issue_number")
	if !ok {
		return
	}
	if !r.hasIssue(n) {
		c.notFound()
		return
	}
	var since time.Time
	if v := c.query("since"); v != "" {
		since, _ = time.Parse(time.RFC3339, v)
	}
	var out []any
	for _, cm := range r.comments {
		if cm.Issue == n && !cm.UpdatedAt.Before(since) {
			out = append(out, c.s.comment(r, cm))
		}
	}
	c.json(http.StatusOK, nonNil(page(c, out)))
}

func nonNil(xs []any) []any {
	if xs == nil {
		return []any{}
	}
	return xs
}

func commentTooLong(c *call, body string) bool {
	if utf8.RuneCountInString(body) > MaxCommentBody {
		c.unprocessable("IssueComment", "body", "custom", fmt.Sprintf("body is too long (maximum is %d characters)", MaxCommentBody))
		return true
	}
	return false
}

func createComment(c *call) {
	r := c.repo()
	n, ok := c.intParam("issue_number")
	if !ok {
		return
	}
	var in struct{ Body string }
	if !c.decode(&in) {
		return
	}
	if !r.hasIssue(n) {
		c.notFound()
		return
	}
	if commentTooLong(c, in.Body) {
		return
	}
	now := c.now()
	cm := &Comment{ID: c.s.st.id(), Issue: n, User: c.s.login, Body: in.Body, CreatedAt: now, UpdatedAt: now}
	r.comments = append(r.comments, cm)
	c.w.header.Set("Location", fmt.Sprintf("%s/issues/comments/%d", c.s.repoURL(r), cm.ID))
	c.json(http.StatusCreated, c.s.comment(r, cm))
}

func (r *repo) findComment(id int64) (int, *Comment) {
	for i, cm := range r.comments {
		if cm.ID == id {
			return i, cm
		}
	}
	return -1, nil
}

func getComment(c *call) {
	r := c.repo()
	id, ok := c.int64Param("comment_id")
	if !ok {
		return
	}
	if _, cm := r.findComment(id); cm != nil {
		c.json(http.StatusOK, c.s.comment(r, cm))
		return
	}
	c.notFound()
}

func updateComment(c *call) {
	r := c.repo()
	id, ok := c.int64Param("comment_id")
	if !ok {
		return
	}
	var in struct{ Body string }
	if !c.decode(&in) {
		return
	}
	_, cm := r.findComment(id)
	if cm == nil {
		c.notFound()
		return
	}
	if commentTooLong(c, in.Body) {
		return
	}
	cm.Body = in.Body
	cm.UpdatedAt = c.now()
	c.json(http.StatusOK, c.s.comment(r, cm))
}

func deleteComment(c *call) {
	r := c.repo()
	id, ok := c.int64Param("comment_id")
	if !ok {
		return
	}
	i, cm := r.findComment(id)
	if cm == nil {
		c.notFound()
		return
	}
	r.comments = slices.Delete(r.comments, i, i+1)
	c.noContent()
}

// ---- check runs

type checkRunInput struct {
	Name        *string    `json:"name"`
	HeadSHA     string     `json:"head_sha"`
	DetailsURL  *string    `json:"details_url"`
	ExternalID  *string    `json:"external_id"`
	Status      *string    `json:"status"`
	StartedAt   *time.Time `json:"started_at"`
	Conclusion  *string    `json:"conclusion"`
	CompletedAt *time.Time `json:"completed_at"`
	Output      *struct {
		Title       *string      `json:"title"`
		Summary     *string      `json:"summary"`
		Text        *string      `json:"text"`
		Annotations []Annotation `json:"annotations"`
	} `json:"output"`
}

// applyCheckRun merges in into cr as GitHub does: fields given replace,
// annotations accumulate, a conclusion completes the run.
func applyCheckRun(c *call, cr *CheckRun, in *checkRunInput) bool {
	if in.Output != nil {
		o := in.Output
		if len(o.Annotations) > MaxAnnotationsPerCall {
			c.unprocessable("CheckRun", "annotations", "custom", fmt.Sprintf("Only %d annotations can be sent per request", MaxAnnotationsPerCall))
			return false
		}
		if o.Summary != nil && utf8.RuneCountInString(*o.Summary) > MaxCheckRunSummary {
			c.unprocessable("CheckRun", "summary", "custom", fmt.Sprintf("summary is too long (maximum is %d characters)", MaxCheckRunSummary))
			return false
		}
		if o.Text != nil && utf8.RuneCountInString(*o.Text) > MaxCheckRunText {
			c.unprocessable("CheckRun", "text", "custom", fmt.Sprintf("text is too long (maximum is %d characters)", MaxCheckRunText))
			return false
		}
		if o.Title != nil {
			cr.Title = *o.Title
		}
		if o.Summary != nil {
			cr.Summary = *o.Summary
		}
		if o.Text != nil {
			cr.Text = *o.Text
		}
		cr.Annotations = append(cr.Annotations, o.Annotations...)
		cr.MaxAnnotationsPerRequest = max(cr.MaxAnnotationsPerRequest, len(o.Annotations))
	}
	if in.Name != nil {
		cr.Name = *in.Name
	}
	if in.DetailsURL != nil {
		cr.DetailsURL = *in.DetailsURL
	}
	if in.ExternalID != nil {
		cr.ExternalID = *in.ExternalID
	}
	if in.StartedAt != nil {
		cr.StartedAt = in.StartedAt.UTC()
	}
	if in.Status != nil {
		cr.Status = *in.Status
	}
	if in.Conclusion != nil {
		cr.Conclusion = *in.Conclusion
		cr.Status = "completed"
	}
	if in.CompletedAt != nil {
		cr.CompletedAt = in.CompletedAt.UTC()
	}
	if cr.Status == "completed" {
		if cr.Conclusion == "" {
			c.unprocessable("CheckRun", "conclusion", "missing_field", "conclusion is required when status is completed")
			return false
		}
		if cr.CompletedAt.IsZero() {
			cr.CompletedAt = c.now()
		}
	}
	if cr.StartedAt.IsZero() && cr.Status != "queued" {
		cr.StartedAt = c.now()
	}
	cr.Requests++
	return true
}

func createCheckRun(c *call) {
	r := c.repo()
	var in checkRunInput
	if !c.decode(&in) {
		return
	}
	if in.Name == nil || *in.Name == "" || in.HeadSHA == "" {
		c.unprocessable("CheckRun", "name", "missing_field", "name and head_sha are required")
		return
	}
	cr := &CheckRun{ID: c.s.st.id(), HeadSHA: in.HeadSHA, Status: "queued", StartedAt: c.now()}
	if !applyCheckRun(c, cr, &in) {
		return
	}
	r.checkRuns = append(r.checkRuns, cr)
	c.json(http.StatusCreated, c.s.checkRun(r, cr))
}

func (r *repo) findCheckRun(id int64) *CheckRun {
	for _, cr := range r.checkRuns {
		if cr.ID == id {
			return cr
		}
	}
	return nil
}

func updateCheckRun(c *call) {
	r := c.repo()
	id, ok := c.int64Param("check_run_id")
	if !ok {
		return
	}
	var in checkRunInput
	if !c.decode(&in) {
		return
	}
	cr := r.findCheckRun(id)
	if cr == nil {
		c.notFound()
		return
	}
	// Apply to a copy so a refused update changes nothing.
	next := *cr
	next.Annotations = slices.Clone(cr.Annotations)
	if !applyCheckRun(c, &next, &in) {
		return
	}
	*cr = next
	c.json(http.StatusOK, c.s.checkRun(r, cr))
}

func getCheckRun(c *call) {
	r := c.repo()
	id, ok := c.int64Param("check_run_id")
	if !ok {
		return
	}
	if cr := r.findCheckRun(id); cr != nil {
		c.json(http.StatusOK, c.s.checkRun(r, cr))
		return
	}
	c.notFound()
}

var shaRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

// resolveRef turns a branch name or SHA into a SHA.
func (r *repo) resolveRef(ref string) string {
	if shaRE.MatchString(ref) {
		return ref
	}
	return r.branchSHA(strings.TrimPrefix(ref, "refs/heads/"))
}

func listCheckRunsForRef(c *call) {
	r := c.repo()
	sha := r.resolveRef(c.params["ref"])
	name := c.query("check_name")
	status := c.query("status")
	var out []any
	// Newest first, like GitHub; filter=latest (default) keeps the most
	// recent run per name.
	seen := map[string]bool{}
	latest := c.query("filter") != "all"
	for i := len(r.checkRuns) - 1; i >= 0; i-- {
		cr := r.checkRuns[i]
		if cr.HeadSHA != sha || (name != "" && cr.Name != name) || (status != "" && cr.Status != status) {
			continue
		}
		if latest && seen[cr.Name] {
			continue
		}
		seen[cr.Name] = true
		out = append(out, c.s.checkRun(r, cr))
	}
	total := len(out)
	c.json(http.StatusOK, obj{"total_count": total, "check_runs": nonNil(page(c, out))})
}

func listAnnotations(c *call) {
	r := c.repo()
	id, ok := c.int64Param("check_run_id")
	if !ok {
		return
	}
	cr := r.findCheckRun(id)
	if cr == nil {
		c.notFound()
		return
	}
	var out []any
	for _, a := range cr.Annotations {
		var sc, ec any
		if a.StartColumn != nil {
			sc = *a.StartColumn
		}
		if a.EndColumn != nil {
			ec = *a.EndColumn
		}
		out = append(out, obj{
			"path": a.Path, "start_line": a.StartLine, "end_line": a.EndLine, "start_column": sc, "end_column": ec,
			"annotation_level": a.AnnotationLevel, "title": nullable(a.Title), "message": a.Message,
			"raw_details": nullable(a.RawDetails),
			"blob_href":   fmt.Sprintf("%s/%s/%s/blob/%s/%s", htmlBase, r.owner, r.name, cr.HeadSHA, a.Path),
		})
	}
	c.json(http.StatusOK, nonNil(page(c, out)))
}

// ---- commit statuses

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

// ---- deployments

func createDeployment(c *call) {
	r := c.repo()
	var in struct {
		Ref                   string          `json:"ref"`
		Task                  *string         `json:"task"`
		RequiredContexts      *[]string       `json:"required_contexts"`
		Payload               json.RawMessage `json:"payload"`
		Environment           *string         `json:"environment"`
		Description           *string         `json:"description"`
		TransientEnvironment  bool            `json:"transient_environment"`
		ProductionEnvironment *bool           `json:"production_environment"`
	}
	if !c.decode(&in) {
		return
	}
	if in.Ref == "" {
		c.unprocessable("Deployment", "ref", "missing_field", "")
		return
	}
	sha := r.resolveRef(in.Ref)
	if !shaRE.MatchString(sha) {
		c.error(http.StatusConflict, fmt.Sprintf("No ref found for: %s", in.Ref))
		return
	}
	// GitHub verifies commit statuses before deploying: the listed contexts,
	// or every context when required_contexts is omitted.
	latest, _ := combined(r.statusesFor(sha))
	byCtx := map[string]string{}
	for _, cs := range latest {
		byCtx[cs.Context] = cs.State
	}
	var need []string
	if in.RequiredContexts != nil {
		need = *in.RequiredContexts
	} else {
		for ctx := range byCtx {
			need = append(need, ctx)
		}
		sort.Strings(need)
	}
	var failed []string
	for _, ctx := range need {
		if byCtx[ctx] != "success" {
			failed = append(failed, ctx)
		}
	}
	if len(failed) > 0 {
		c.error(http.StatusConflict, fmt.Sprintf("Conflict: Commit status checks failed for %s. (%s)", in.Ref, strings.Join(failed, ", ")))
		return
	}
	now := c.now()
	d := &Deployment{ID: c.s.st.id(), SHA: sha, Ref: in.Ref, Task: "deploy", Environment: "production", Creator: c.s.login, CreatedAt: now, UpdatedAt: now, TransientEnvironment: in.TransientEnvironment}
	if in.Task != nil {
		d.Task = *in.Task
	}
	if in.Environment != nil {
		d.Environment = *in.Environment
	}
	if in.Description != nil {
		d.Description = *in.Description
	}
	d.ProductionEnvironment = d.Environment == "production"
	if in.ProductionEnvironment != nil {
		d.ProductionEnvironment = *in.ProductionEnvironment
	}
	d.Payload = normalizePayload(in.Payload)
	r.deployments = append(r.deployments, d)
	c.json(http.StatusCreated, c.s.deployment(r, d))
}

// normalizePayload stores an object as is and a string holding a JSON
// object as that object, as GitHub does; other strings stay strings.
func normalizePayload(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		var m map[string]any
		if s == "" {
			return nil
		}
		if json.Unmarshal([]byte(s), &m) == nil {
			return json.RawMessage(s)
		}
	}
	return raw
}

func listDeployments(c *call) {
	r := c.repo()
	q := c.r.URL.Query()
	var out []any
	for i := len(r.deployments) - 1; i >= 0; i-- {
		d := r.deployments[i]
		if v := q.Get("sha"); v != "" && v != d.SHA {
			continue
		}
		if v := q.Get("ref"); v != "" && v != d.Ref {
			continue
		}
		if v := q.Get("task"); v != "" && v != d.Task {
			continue
		}
		if v := q.Get("environment"); v != "" && v != d.Environment {
			continue
		}
		out = append(out, c.s.deployment(r, d))
	}
	c.json(http.StatusOK, nonNil(page(c, out)))
}

func (r *repo) findDeployment(id int64) *Deployment {
	for _, d := range r.deployments {
		if d.ID == id {
			return d
		}
	}
	return nil
}

func getDeployment(c *call) {
	r := c.repo()
	id, ok := c.int64Param("deployment_id")
	if !ok {
		return
	}
	if d := r.findDeployment(id); d != nil {
		c.json(http.StatusOK, c.s.deployment(r, d))
		return
	}
	c.notFound()
}

func createDeploymentStatus(c *call) {
	r := c.repo()
	id, ok := c.int64Param("deployment_id")
	if !ok {
		return
	}
	var in struct {
		State          string  `json:"state"`
		TargetURL      *string `json:"target_url"`
		LogURL         *string `json:"log_url"`
		Description    *string `json:"description"`
		Environment    *string `json:"environment"`
		EnvironmentURL *string `json:"environment_url"`
		AutoInactive   *bool   `json:"auto_inactive"`
	}
	if !c.decode(&in) {
		return
	}
	d := r.findDeployment(id)
	if d == nil {
		c.notFound()
		return
	}
	now := c.now()
	st := DeploymentStatus{ID: c.s.st.id(), State: in.State, Environment: d.Environment, Creator: c.s.login, CreatedAt: now}
	if in.TargetURL != nil {
		st.LogURL = *in.TargetURL
	}
	if in.LogURL != nil {
		st.LogURL = *in.LogURL
	}
	if in.Description != nil {
		st.Description = *in.Description
	}
	if in.Environment != nil && *in.Environment != "" {
		d.Environment = *in.Environment
		st.Environment = *in.Environment
	}
	if in.EnvironmentURL != nil {
		st.EnvironmentURL = *in.EnvironmentURL
	}
	d.Statuses = append(d.Statuses, st)
	d.UpdatedAt = now
	// auto_inactive (default true): a success marks earlier non-transient
	// deployments of the same environment inactive.
	if st.State == "success" && (in.AutoInactive == nil || *in.AutoInactive) {
		for _, o := range r.deployments {
			if o == d || o.Environment != d.Environment || o.TransientEnvironment || len(o.Statuses) == 0 {
				continue
			}
			if last := o.Statuses[len(o.Statuses)-1]; last.State == "success" {
				o.Statuses = append(o.Statuses, DeploymentStatus{ID: c.s.st.id(), State: "inactive", Environment: o.Environment, Creator: c.s.login, CreatedAt: now, Description: "superseded by deployment " + fmt.Sprint(d.ID)})
				o.UpdatedAt = now
			}
		}
	}
	c.json(http.StatusCreated, c.s.deploymentStatus(r, d, &d.Statuses[len(d.Statuses)-1]))
}

func listDeploymentStatuses(c *call) {
	r := c.repo()
	id, ok := c.int64Param("deployment_id")
	if !ok {
		return
	}
	d := r.findDeployment(id)
	if d == nil {
		c.notFound()
		return
	}
	var out []any
	for i := len(d.Statuses) - 1; i >= 0; i-- {
		out = append(out, c.s.deploymentStatus(r, d, &d.Statuses[i]))
	}
	c.json(http.StatusOK, nonNil(page(c, out)))
}

// ---- pull requests

func sortedNumbers[T any](m map[int]T) []int {
	ns := make([]int, 0, len(m))
	for n := range m {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	return ns
}

func getPull(c *call) {
	r := c.repo()
	n, ok := c.intParam("pull_number")
	if !ok {
		return
	}
	if p := r.pulls[n]; p != nil {
		c.json(http.StatusOK, c.s.pullRequest(r, p, false))
		return
	}
	c.notFound()
}

// branchOf strips an "owner:" prefix from a head given as "owner:branch".
func branchOf(r *repo, head string) (string, bool) {
	owner, branch, ok := strings.Cut(head, ":")
	if !ok {
		return head, true
	}
	return branch, owner == r.owner
}

func listPulls(c *call) {
	r := c.repo()
	q := c.r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	var ps []*PullRequest
	for _, n := range sortedNumbers(r.pulls) {
		p := r.pulls[n]
		if state != "all" && p.State != state {
			continue
		}
		if h := q.Get("head"); h != "" {
			if b, same := branchOf(r, h); !same || b != p.Head {
				continue
			}
		}
		if b := q.Get("base"); b != "" && b != p.Base {
			continue
		}
		ps = append(ps, p)
	}
	sortBy := q.Get("sort")
	dir := q.Get("direction")
	if dir == "" {
		dir = "asc"
		if sortBy == "" || sortBy == "created" {
			dir = "desc"
		}
	}
	key := func(p *PullRequest) time.Time {
		if sortBy == "updated" {
			return p.UpdatedAt
		}
		return p.CreatedAt
	}
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := key(ps[i]), key(ps[j])
		if a.Equal(b) {
			a, b = time.Unix(int64(ps[i].Number), 0), time.Unix(int64(ps[j].Number), 0)
		}
		if dir == "desc" {
			return a.After(b)
		}
		return a.Before(b)
	})
	var out []any
	for _, p := range ps {
		out = append(out, c.s.pullRequest(r, p, true))
	}
	c.json(http.StatusOK, nonNil(page(c, out)))
}

func createPull(c *call) {
	r := c.repo()
	var in struct {
		Title string `json:"title"`
		Head  string `json:"head"`
		Base  string `json:"base"`
		Body  string `json:"body"`
		Draft bool   `json:"draft"`
		Issue *int   `json:"issue"`
	}
	if !c.decode(&in) {
		return
	}
	head, _ := branchOf(r, in.Head)
	switch {
	case in.Title == "" && in.Issue == nil:
		c.unprocessable("PullRequest", "title", "missing_field", "")
		return
	case in.Base == "":
		c.unprocessable("PullRequest", "base", "missing_field", "")
		return
	case head == in.Base:
		c.unprocessable("PullRequest", "", "custom", "No commits between "+in.Base+" and "+head)
		return
	}
	for _, p := range r.pulls {
		if p.State == "open" && p.Head == head && p.Base == in.Base {
			c.unprocessable("PullRequest", "", "custom", fmt.Sprintf("A pull request already exists for %s:%s.", r.owner, head))
			return
		}
	}
	now := c.now()
	p := &PullRequest{Number: r.newNumber(), ID: c.s.st.id(), Title: in.Title, Body: in.Body, User: c.s.login, State: "open",
		Head: head, HeadSHA: r.branchSHA(head), Base: in.Base, BaseSHA: r.branchSHA(in.Base), Draft: in.Draft, CreatedAt: now, UpdatedAt: now}
	r.pulls[p.Number] = p
	r.issues[p.Number] = &issue{number: p.Number, isPull: true}
	c.w.header.Set("Location", fmt.Sprintf("%s/pulls/%d", c.s.repoURL(r), p.Number))
	c.json(http.StatusCreated, c.s.pullRequest(r, p, false))
}

func updatePull(c *call) {
	r := c.repo()
	n, ok := c.intParam("pull_number")
	if !ok {
		return
	}
	var in struct {
		Title *string `json:"title"`
		Body  *string `json:"body"`
		State *string `json:"state"`
		Base  *string `json:"base"`
	}
	if !c.decode(&in) {
		return
	}
	p := r.pulls[n]
	if p == nil {
		c.notFound()
		return
	}
	now := c.now()
	if in.Title != nil {
		p.Title = *in.Title
	}
	if in.Body != nil {
		p.Body = *in.Body
	}
	if in.Base != nil {
		p.Base = *in.Base
		p.BaseSHA = r.branchSHA(*in.Base)
	}
	if in.State != nil && *in.State != p.State {
		if p.Merged {
			c.unprocessable("PullRequest", "state", "custom", "Cannot change the state of a merged pull request.")
			return
		}
		p.State = *in.State
		if p.State == "closed" {
			p.ClosedAt = now
		} else {
			p.ClosedAt = time.Time{}
		}
	}
	p.UpdatedAt = now
	c.json(http.StatusOK, c.s.pullRequest(r, p, false))
}

func listReviews(c *call) {
	r := c.repo()
	n, ok := c.intParam("pull_number")
	if !ok {
		return
	}
	p := r.pulls[n]
	if p == nil {
		c.notFound()
		return
	}
	var out []any
	for _, v := range r.reviews[n] {
		out = append(out, c.s.review(r, p, v))
	}
	c.json(http.StatusOK, nonNil(page(c, out)))
}

func createReview(c *call) {
	r := c.repo()
	n, ok := c.intParam("pull_number")
	if !ok {
		return
	}
	var in struct {
		CommitID string `json:"commit_id"`
		Body     string `json:"body"`
		Event    string `json:"event"`
	}
	if !c.decode(&in) {
		return
	}
	p := r.pulls[n]
	if p == nil {
		c.notFound()
		return
	}
	state := map[string]string{"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED", "": "PENDING"}[in.Event]
	if (state == "APPROVED" || state == "CHANGES_REQUESTED") && p.User == c.s.login {
		c.unprocessable("PullRequestReview", "", "custom", "Can not approve your own pull request")
		return
	}
	if in.CommitID == "" {
		in.CommitID = p.HeadSHA
	}
	v := &Review{ID: c.s.st.id(), User: c.s.login, State: state, Body: in.Body, CommitID: in.CommitID}
	if state != "PENDING" {
		v.SubmittedAt = c.now()
	}
	r.reviews[n] = append(r.reviews[n], v)
	c.json(http.StatusOK, c.s.review(r, p, v))
}

// pullsForCommit lists pull requests whose head is the commit, or whose
// merge commit it is (the merged pull request that introduced it to the
// default branch).
func pullsForCommit(c *call) {
	r := c.repo()
	sha := c.params["commit_sha"]
	var out []any
	for _, n := range sortedNumbers(r.pulls) {
		p := r.pulls[n]
		if p.HeadSHA == sha || (p.MergeSHA != "" && p.MergeSHA == sha) {
			out = append(out, c.s.pullRequest(r, p, true))
		}
	}
	c.json(http.StatusOK, nonNil(page(c, out)))
}

// ---- teams

func teamKey(org, team string) string { return strings.ToLower(org) + "/" + strings.ToLower(team) }

func getTeamMembership(c *call) {
	members := c.s.st.teams[teamKey(c.params["org"], c.params["team_slug"])]
	role, ok := members[strings.ToLower(c.params["username"])]
	if !ok {
		c.notFound()
		return
	}
	c.json(http.StatusOK, obj{"url": c.s.membershipURL(c.params["org"], c.params["team_slug"], c.params["username"]), "role": role, "state": "active"})
}

func (s *Server) membershipURL(org, team, user string) string {
	return fmt.Sprintf("%s/organizations/%d/team/%d/memberships/%s", s.api(), s.st.userID(org), s.st.userID(org+"/"+team), user)
}

func putTeamMembership(c *call) {
	var in struct {
		Role string `json:"role"`
	}
	if len(c.body) > 0 && !c.decode(&in) {
		return
	}
	if in.Role == "" {
		in.Role = "member"
	}
	c.s.addTeamMember(c.params["org"], c.params["team_slug"], c.params["username"], in.Role)
	c.json(http.StatusOK, obj{"url": c.s.membershipURL(c.params["org"], c.params["team_slug"], c.params["username"]), "role": in.Role, "state": "active"})
}

func deleteTeamMembership(c *call) {
	members := c.s.st.teams[teamKey(c.params["org"], c.params["team_slug"])]
	delete(members, strings.ToLower(c.params["username"]))
	c.noContent()
}

func (s *Server) addTeamMember(org, team, user, role string) {
	k := teamKey(org, team)
	if s.st.teams[k] == nil {
		s.st.teams[k] = map[string]string{}
	}
	s.st.teams[k][strings.ToLower(user)] = role
}

// ---- JIT runners

func generateJITConfig(c *call) {
	r := c.repo()
	var in struct {
		Name          string   `json:"name"`
		RunnerGroupID int64    `json:"runner_group_id"`
		Labels        []string `json:"labels"`
		WorkFolder    string   `json:"work_folder"`
	}
	if !c.decode(&in) {
		return
	}
	if in.WorkFolder == "" {
		in.WorkFolder = "_work"
	}
	for _, j := range r.runners {
		if j.Name == in.Name {
			c.error(http.StatusConflict, fmt.Sprintf("Already exists - A runner with the name %s already exists.", in.Name))
			return
		}
	}
	id := c.s.st.id()
	labels := []any{obj{"id": 1, "name": "self-hosted", "type": "read-only"}}
	for i, l := range in.Labels {
		if strings.EqualFold(l, "self-hosted") {
			continue
		}
		labels = append(labels, obj{"id": i + 2, "name": l, "type": "custom"})
	}
	encoded := encodeJIT(c.s, r, id, in.Name, in.RunnerGroupID, in.WorkFolder)
	j := JITConfig{Owner: r.owner, Repo: r.name, RunnerID: id, Name: in.Name, Labels: slices.Clone(in.Labels), RunnerGroupID: in.RunnerGroupID, WorkFolder: in.WorkFolder, EncodedConfig: encoded}
	r.runners = append(r.runners, &j)
	c.s.st.jit = append(c.s.st.jit, j)
	c.json(http.StatusCreated, obj{
		"runner": obj{"id": id, "runner_group_id": in.RunnerGroupID, "name": in.Name, "os": "unknown", "status": "offline",
			"busy": false, "labels": labels, "ephemeral": true},
		"encoded_jit_config": encoded,
	})
}

// encodeJIT builds a configuration shaped like GitHub's: base64 of a JSON
// object holding the runner's .runner, .credentials and
// .credentials_rsaparams files, each base64-encoded.
func encodeJIT(s *Server, r *repo, id int64, name string, group int64, work string) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.StdEncoding.EncodeToString(b)
	}
	files := map[string]string{
		".runner": enc(map[string]any{
			"AgentId": id, "AgentName": name, "PoolId": group, "PoolName": "Default",
			"ServerUrl": s.api() + "/_services/pipelines/", "GitHubUrl": htmlBase + "/" + r.owner + "/" + r.name,
			"WorkFolder": work, "Ephemeral": true,
		}),
		".credentials": enc(map[string]any{
			"Scheme": "OAuthAccessToken", "Data": map[string]string{"clientId": fakeSHA(name)[:32], "authorizationUrl": s.api() + "/_apis/oauth2/token"},
		}),
		".credentials_rsaparams": enc(map[string]string{"d": "githubtest", "modulus": "githubtest", "exponent": "AQAB"}),
	}
	return enc(files)
}
