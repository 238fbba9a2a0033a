package eval

// PredicateType is the in-toto predicate type of the eval attestation, whose
// predicate is a Result.
const PredicateType = "https://mlship.dev/attestations/eval/v1"

// SchemaVersion identifies the Result layout; it changes only when a field
// changes meaning or goes away (fields may be added).
const SchemaVersion = "mlship.dev/eval/v1"

// Verdicts of a Comparison.
const (
	VerdictPass = "pass"
	VerdictFail = "fail"
	// VerdictInfo marks a metric with no bound or gate: reported, not judged.
	VerdictInfo = "info"
)

// Result is the outcome of an evaluation: what was measured, what it was
// compared with, and whether the gates passed. Its JSON is the eval
// attestation's predicate and the input of `mlship report`; the field names
// are documented in docs/eval.md and stay stable.
type Result struct {
	SchemaVersion string   `json:"schemaVersion"`
	Model         ModelRef `json:"model"`
	// Environment is the target environment whose gates decide Passed
	// ("" when only the spec-wide bounds apply).
	Environment string `json:"environment,omitempty"`
	Passed      bool   `json:"passed"`
	// Metrics are the current model's metrics, all of them, gated or not.
	Metrics Metrics `json:"metrics"`
	// Thresholds are the bounds from the spec's eval.metrics, with the
	// target environment's gate bounds under "gate".
	Thresholds map[string]Threshold `json:"thresholds"`
	// Baseline is the model the current one is compared with; null when
	// there is none (a first release): then only absolute bounds apply.
	Baseline *Baseline `json:"baseline"`
	// Comparisons has one entry per metric, gated metrics first, each
	// group sorted by name.
	Comparisons []Comparison `json:"comparisons"`
	// Gates are the individual checks that decided Passed: each bound,
	// maximum regression and target-environment gate of each gated metric.
	Gates []GateCheck `json:"gates"`
	// Environments says, for every environment of the spec, whether this
	// result passes its gates (spec-wide bounds and regression included);
	// promote reads the entry of the environment it moves to.
	Environments map[string]GateResult `json:"environments,omitempty"`
	Datasets     []DatasetRef          `json:"datasets"`
	Bootstrap    *BootstrapConfig      `json:"bootstrap,omitempty"`
	// Notes explain what was and was not compared (no baseline, unpaired
	// examples, …), in plain sentences.
	Notes []string `json:"notes,omitempty"`
	// EvaluatedAt is when the evaluation ran (RFC 3339, UTC).
	EvaluatedAt string `json:"evaluatedAt,omitempty"`
}

// GateCheck is one rule applied to one metric: value op bound.
type GateCheck struct {
	Metric string `json:"metric"`
	// Rule is "min", "max", "maxRegression", "gate.min" or "gate.max"
	// (the target environment's gates), or "present" for a missing metric.
	Rule string `json:"rule"`
	// Value is the metric's value, or for maxRegression its regression
	// against the baseline (positive = worse).
	Value   float64 `json:"value"`
	Op      string  `json:"op"`
	Bound   float64 `json:"bound"`
	Passed  bool    `json:"passed"`
	Message string  `json:"message,omitempty"`
}

// ModelRef names the evaluated model.
type ModelRef struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// SpecDigest is the sha256 of the spec's canonical JSON.
	SpecDigest string `json:"specDigest,omitempty"`
	// Digest is the artifact's manifest digest when known.
	Digest string `json:"digest,omitempty"`
}

// Bounds is an absolute range.
type Bounds struct {
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
}

// Threshold is what one metric is held to.
type Threshold struct {
	Direction     string   `json:"direction,omitempty"`
	Min           *float64 `json:"min,omitempty"`
	Max           *float64 `json:"max,omitempty"`
	MaxRegression *float64 `json:"maxRegression,omitempty"`
	// Gate is the target environment's bound on the metric, if any.
	Gate *Bounds `json:"gate,omitempty"`
}

// Baseline is the model the current one is compared with.
type Baseline struct {
	// Environment whose model this is (e.g. "prod").
	Environment string `json:"environment,omitempty"`
	// Source says where it was read: "registry", "file", or a caller's name.
	Source string `json:"source"`
	// Ref is the registry reference or file path it was read from.
	Ref     string  `json:"ref,omitempty"`
	Digest  string  `json:"digest,omitempty"`
	Version string  `json:"version,omitempty"`
	Metrics Metrics `json:"metrics"`
	// Examples are the baseline's per-example results, when known; they
	// are not part of the JSON.
	Examples *Examples `json:"-"`
}

// Comparison is the verdict on one metric.
type Comparison struct {
	Metric    string   `json:"metric"`
	Direction string   `json:"direction,omitempty"`
	Current   *float64 `json:"current"`
	Baseline  *float64 `json:"baseline,omitempty"`
	// Delta is current − baseline.
	Delta *float64 `json:"delta,omitempty"`
	// Regression is the move in the bad direction (positive = worse,
	// negative = better), for metrics with a direction.
	Regression *float64 `json:"regression,omitempty"`
	// CI is the paired bootstrap interval of the mean per-example delta.
	CI *CI `json:"ci,omitempty"`
	// Significant is set with CI: true when the interval excludes 0.
	Significant *bool  `json:"significant,omitempty"`
	Gated       bool   `json:"gated"`
	Verdict     string `json:"verdict"`
	// Reasons explain the verdict, one sentence per rule checked.
	Reasons []string `json:"reasons"`
	// Failed are the reasons of the rules that failed (a subset of Reasons).
	Failed []string `json:"failed,omitempty"`

	// specFailed are the failures of spec-wide rules (not environment
	// gates), which apply to every environment.
	specFailed []string
	checks     []GateCheck
}

// GateResult is the outcome for one environment.
type GateResult struct {
	Passed   bool     `json:"passed"`
	Failures []string `json:"failures,omitempty"`
}

// DatasetRef is a dataset the model was evaluated with.
type DatasetRef struct {
	Name   string `json:"name"`
	URI    string `json:"uri"`
	Role   string `json:"role"`
	Digest string `json:"digest,omitempty"`
}

// BootstrapConfig records how confidence intervals were computed.
type BootstrapConfig struct {
	Samples    int     `json:"samples"`
	Confidence float64 `json:"confidence"`
	Seed       int64   `json:"seed"`
}

// Failures lists the reasons of every failed comparison, prefixed by the
// metric name.
func (r *Result) Failures() []string {
	var out []string
	for _, c := range r.Comparisons {
		for _, why := range c.Failed {
			out = append(out, c.Metric+": "+why)
		}
	}
	return out
}
