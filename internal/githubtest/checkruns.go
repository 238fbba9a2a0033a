package githubtest

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// check runs.

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

func updateCheckRun(c *call) {
	r := c.repo()
	var in checkRunInput
	cr, ok := resolve(c, "check_run_id", &in, byID(r.checkRuns))
	if !ok {
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
	if cr, ok := resolve(c, "check_run_id", nil, byID(r.checkRuns)); ok {
		c.json(http.StatusOK, c.s.checkRun(r, cr))
	}
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
	cr, ok := resolve(c, "check_run_id", nil, byID(r.checkRuns))
	if !ok {
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
