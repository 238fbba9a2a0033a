package attest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// EvalSchemaVersion identifies the EvalResult layout; it changes only when
// a field changes meaning or goes away (fields may be added).
const EvalSchemaVersion = "mlship.dev/eval/v1"

// Verdicts of a Comparison.
const (
	VerdictPass = "pass"
	VerdictFail = "fail"
	// VerdictInfo marks a metric with no bound or gate: reported, not judged.
	VerdictInfo = "info"
)

// Metrics maps a metric name to its value.
type Metrics map[string]float64

// Names returns the metric names, sorted.
func (m Metrics) Names() []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// EvalResult is the outcome of an evaluation: what was measured, what it
// was compared with, and whether the gates passed. It is the one type of
// the eval predicate: mlship eval writes it, attest signs it, verify and
// promote read it, report renders it. The field names are documented in
// docs/eval.md and stay stable.
type EvalResult struct {
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
	Datasets     []Dataset             `json:"datasets"`
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

// GateResult is the outcome of all gates for one environment.
type GateResult struct {
	Passed   bool     `json:"passed"`
	Failures []string `json:"failures,omitempty"`
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
}

// CI is a paired bootstrap confidence interval for the mean per-example
// difference (current − baseline) of one metric.
type CI struct {
	Low        float64 `json:"low"`
	High       float64 `json:"high"`
	Confidence float64 `json:"confidence"`
	// Mean is the observed mean per-example difference (the point estimate).
	Mean float64 `json:"mean"`
	// Samples is the number of bootstrap resamples, N the number of paired
	// examples (ids present with this metric in both files).
	Samples int   `json:"samples"`
	N       int   `json:"n"`
	Seed    int64 `json:"seed"`
}

// Excludes0 reports whether the interval lies entirely on one side of zero:
// the difference is unlikely to be noise.
func (c CI) Excludes0() bool { return c.Low > 0 || c.High < 0 }

// Dataset is a dataset the model was evaluated (or trained) with.
type Dataset struct {
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
func (r *EvalResult) Failures() []string {
	var out []string
	for _, c := range r.Comparisons {
		for _, why := range c.Failed {
			out = append(out, c.Metric+": "+why)
		}
	}
	return out
}

// ParseEvalResult decodes an eval result (eval-result.json, or the
// predicate of an eval attestation) and checks its schema version.
func ParseEvalResult(b []byte) (*EvalResult, error) {
	var r EvalResult
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decoding eval result: %w", err)
	}
	if r.SchemaVersion != EvalSchemaVersion {
		return nil, fmt.Errorf("eval result has schemaVersion %q, want %q: was it written by another mlship release?", r.SchemaVersion, EvalSchemaVersion)
	}
	if r.Metrics == nil {
		r.Metrics = Metrics{}
	}
	return &r, nil
}

// ParseEvalPredicate reads an eval result about to be attested and checks
// it is usable as a predicate: metrics present and finite, "passed" given
// explicitly, and consistent with the failed gates it lists. It does not
// require the schema version, so that results written by hand (or by other
// tools in the same shape) can be attested.
func ParseEvalPredicate(b []byte) (*EvalResult, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("the eval result is not a JSON object: %w", err)
	}
	if _, ok := raw["passed"]; !ok {
		return nil, errors.New(`the eval result has no "passed" field: run mlship eval first and attest its result file`)
	}
	var p EvalResult
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("decoding the eval result: %w", err)
	}
	if len(p.Metrics) == 0 {
		return nil, errors.New(`the eval result has no "metrics"`)
	}
	for k, v := range p.Metrics {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("the eval result's metric %q is not a finite number", k)
		}
	}
	for _, g := range p.Gates {
		if !g.Passed && p.Passed {
			return nil, fmt.Errorf("the eval result says passed but gate %s failed: refusing an inconsistent result", g.Metric)
		}
	}
	for _, d := range p.Datasets {
		if d.Digest != "" && !strings.Contains(d.Digest, ":") {
			return nil, fmt.Errorf("dataset %s digest %q: want algorithm:hex", d.Name, d.Digest)
		}
	}
	if p.Baseline != nil && p.Baseline.Digest != "" && !strings.HasPrefix(p.Baseline.Digest, "sha256:") {
		return nil, fmt.Errorf("baseline digest %q: want sha256:hex", p.Baseline.Digest)
	}
	return &p, nil
}

// CheckGates applies bounds to the result's metrics and returns the first
// failure as "accuracy 0.71 < 0.9", sorted by metric name; then, when the
// result recorded passed=false, its failed gates.
func (r *EvalResult) CheckGates(bounds map[string]Bounds) error {
	for _, k := range SortedBounds(bounds) {
		b := bounds[k]
		v, ok := r.Metrics[k]
		if !ok {
			return fmt.Errorf("metric %s is missing from the eval attestation", k)
		}
		if b.Min != nil && v < *b.Min {
			return fmt.Errorf("%s %s < %s", k, fmtFloat(v), fmtFloat(*b.Min))
		}
		if b.Max != nil && v > *b.Max {
			return fmt.Errorf("%s %s > %s", k, fmtFloat(v), fmtFloat(*b.Max))
		}
	}
	if r.Passed {
		return nil
	}
	var failed []string
	for _, g := range r.Gates {
		if !g.Passed {
			failed = append(failed, fmt.Sprintf("%s %s %s %s", g.Metric, fmtFloat(g.Value), Negate(g.Op), fmtFloat(g.Bound)))
		}
	}
	if len(failed) > 0 {
		return errors.New(strings.Join(failed, ", "))
	}
	return errors.New("the evaluation recorded passed=false")
}

// SortedBounds returns the metric names of bounds, sorted: the order in
// which CheckGates applies them.
func SortedBounds(bounds map[string]Bounds) []string {
	keys := make([]string, 0, len(bounds))
	for k := range bounds {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Negate turns a gate's requirement (">=") into the violated relation ("<").
func Negate(op string) string {
	switch op {
	case ">=":
		return "<"
	case "<=":
		return ">"
	case ">":
		return "<="
	case "<":
		return ">="
	}
	return "violates " + op
}

func fmtFloat(f float64) string {
	return fmt.Sprintf("%g", f)
}
