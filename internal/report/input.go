package report

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/mlship/mlship/internal/drift"
	"github.com/mlship/mlship/internal/eval"
	"github.com/mlship/mlship/internal/ghapi"
)

// ReadDriftFile reads a drift result JSON file.
func ReadDriftFile(path string) (*drift.Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading drift result %s: %w (write it with `mlship drift --output json > FILE`)", path, err)
	}
	var d drift.Result
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("drift result %s: %w: want the JSON of `mlship drift --output json`", path, err)
	}
	if d.Columns == nil {
		return nil, fmt.Errorf("drift result %s has no \"columns\": want the JSON of `mlship drift --output json`", path)
	}
	return &d, nil
}

// Section is a block of Markdown added to the report, such as a promotion
// plan. Priority orders trimming: when the report is too large, sections
// are dropped lowest priority first. Short, when set, replaces Markdown
// before the section is dropped entirely.
type Section struct {
	Title    string
	Markdown string
	Short    string
	Priority int

	// fit, when set, renders a shortened form within a byte budget
	// (built-in tables that can drop rows).
	fit func(budget int) string
}

// Priorities of the built-in sections; callers place theirs among them.
const (
	PriorityCharts  = 10
	PriorityDetails = 30
	PriorityDrift   = 80
	PriorityPlan    = 90
	PriorityMetrics = 100
)

// Input is everything a report is rendered from. At least one of Eval,
// Drift and Sections must be set.
type Input struct {
	// Model names the report in its hidden marker; the default is the
	// eval result's model name.
	Model    string
	Eval     *eval.Result
	Drift    *drift.Result
	Sections []Section
	// FullReportURL is where the untrimmed report can be read (the
	// workflow run: job summary and artifact); trimmed reports link it.
	FullReportURL string
	// Card, when set, is the candidate's model card: the report links it.
	Card *CardLink
}

// CardLink points at the model card (MODEL_CARD.md) of the candidate.
type CardLink struct {
	// Ref is the candidate's digest reference: mlship card REF prints it.
	Ref string
	// URL is where the card can be read in a browser (the workflow run
	// whose package step wrote it to the job summary, a registry's package
	// page); only http(s) URLs are linked.
	URL string
}

// ModelName is the name used in the marker.
func (in Input) ModelName() string {
	if in.Model != "" {
		return in.Model
	}
	if in.Eval != nil && in.Eval.Model.Name != "" {
		return in.Eval.Model.Name
	}
	return "model"
}

// Marker is the hidden HTML comment that finds the sticky comment of a
// model again.
func Marker(model string) string { return ghapi.StickyMarker(markerName(model)) }

// Limits bound a rendered report.
type Limits struct {
	// MaxBytes bounds the UTF-8 size (GitHub counts characters; bytes are
	// never fewer, so a byte bound is safe).
	MaxBytes int
	// Name says which limit this is, in the trimming notice.
	Name string
}

// GitHub's limits.
var (
	CommentLimits      = Limits{MaxBytes: 65536, Name: "a pull request comment (65,536 characters)"}
	CheckSummaryLimits = Limits{MaxBytes: 65535, Name: "a check run summary (65,535 characters)"}
	StepSummaryLimits  = Limits{MaxBytes: 1 << 20, Name: "a job summary (1 MiB)"}
	// NoLimits renders everything (the full report in an artifact).
	NoLimits = Limits{}
)

// Conclusion is the check run conclusion the results call for: failure when
// the eval gates failed, neutral when only the data drifted, else success.
func (in Input) Conclusion() string {
	switch {
	case in.Eval != nil && !in.Eval.Passed:
		return "failure"
	case in.Drift != nil && in.Drift.DatasetDrift:
		return "neutral"
	}
	return "success"
}
