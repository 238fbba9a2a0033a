package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
)

// workflow dispatches.

// SetWorkflows declares the workflow files (or ids) of owner/repo that take
// workflow_dispatch; a dispatch of any other answers 404 as GitHub does for
// a workflow it does not know. Until it is called, every workflow exists.
func (s *Server) SetWorkflows(owner, repo string, workflows ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.locked(owner, repo)
	r.workflows = append([]string{}, workflows...)
	r.workflowsSet = true
}

func createWorkflowDispatch(c *call) {
	r := c.repo()
	var in struct {
		Ref              string         `json:"ref"`
		Inputs           map[string]any `json:"inputs"`
		ReturnRunDetails bool           `json:"return_run_details"`
	}
	if !c.decode(&in) {
		return
	}
	wf := c.params["workflow_id"]
	if r.workflowsSet && !slices.Contains(r.workflows, wf) {
		c.notFound()
		return
	}
	if in.Ref == "" {
		c.unprocessable("Workflow", "ref", "missing_field", "")
		return
	}
	// GitHub takes input values as strings, numbers or booleans only.
	for k, v := range in.Inputs {
		switch v.(type) {
		case string, float64, bool:
		default:
			c.unprocessable("Workflow", "inputs", "invalid", fmt.Sprintf("input %q: want a string, number or boolean", k))
			return
		}
	}
	d := Dispatch{Workflow: wf, Ref: in.Ref, Inputs: in.Inputs, ReturnRunDetails: in.ReturnRunDetails, CreatedAt: c.now()}
	r.dispatches = append(r.dispatches, d)
	if !in.ReturnRunDetails {
		c.noContent()
		return
	}
	id := c.s.st.id()
	c.json(http.StatusOK, obj{
		"workflow_run_id": id,
		"run_url":         fmt.Sprintf("%s/actions/runs/%d", c.s.repoURL(r), id),
		"html_url":        fmt.Sprintf("%s/%s/%s/actions/runs/%d", htmlBase, r.owner, r.name, id),
	})
}

// Dispatches returns the workflow_dispatch events of owner/repo, in order.
func (s *Server) Dispatches(owner, repo string) []Dispatch {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Dispatch
	for _, d := range s.locked(owner, repo).dispatches {
		cp := d
		if d.Inputs != nil {
			b, _ := json.Marshal(d.Inputs)
			cp.Inputs = nil
			_ = json.Unmarshal(b, &cp.Inputs)
		}
		out = append(out, cp)
	}
	return out
}
