package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// deployments.

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

func getDeployment(c *call) {
	r := c.repo()
	if d, ok := resolve(c, "deployment_id", nil, byID(r.deployments)); ok {
		c.json(http.StatusOK, c.s.deployment(r, d))
	}
}

func createDeploymentStatus(c *call) {
	r := c.repo()
	var in struct {
		State          string  `json:"state"`
		TargetURL      *string `json:"target_url"`
		LogURL         *string `json:"log_url"`
		Description    *string `json:"description"`
		Environment    *string `json:"environment"`
		EnvironmentURL *string `json:"environment_url"`
		AutoInactive   *bool   `json:"auto_inactive"`
	}
	d, ok := resolve(c, "deployment_id", &in, byID(r.deployments))
	if !ok {
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
	d, ok := resolve(c, "deployment_id", nil, byID(r.deployments))
	if !ok {
		return
	}
	var out []any
	for i := len(d.Statuses) - 1; i >= 0; i-- {
		out = append(out, c.s.deploymentStatus(r, d, &d.Statuses[i]))
	}
	c.json(http.StatusOK, nonNil(page(c, out)))
}
