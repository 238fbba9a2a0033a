package sign

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Predicate types mlship writes and knows by short name.
const (
	// EvalPredicateType is mlship's evaluation result predicate.
	EvalPredicateType = "https://mlship.dev/attestations/eval/v1"
	// ProvenancePredicateType is SLSA provenance v1.
	ProvenancePredicateType = "https://slsa.dev/provenance/v1"
	// BuildType is the SLSA buildType of an mlship training run.
	BuildType = "https://mlship.dev/buildtypes/train/v1"
)

// PredicateType maps a short name (eval, provenance, slsaprovenance1) to
// its URI; anything else is returned unchanged (a URI).
func PredicateType(s string) string {
	switch s {
	case "eval":
		return EvalPredicateType
	case "provenance", "slsaprovenance1", "slsa":
		return ProvenancePredicateType
	}
	return s
}

// ShortName is the inverse of PredicateType for the known types.
func ShortName(uri string) string {
	switch uri {
	case EvalPredicateType:
		return "eval"
	case ProvenancePredicateType:
		return "provenance"
	}
	return uri
}

// EvalPredicate records an evaluation of the model against its gates.
type EvalPredicate struct {
	// Metrics are the measured values by name.
	Metrics map[string]float64 `json:"metrics"`
	// Thresholds are the gates the evaluation applied.
	Thresholds map[string]Threshold `json:"thresholds,omitempty"`
	// Baseline is the model compared against, if any.
	Baseline *Baseline `json:"baseline,omitempty"`
	// Datasets are the evaluation data, by name, with their digests.
	Datasets []Dataset `json:"datasets,omitempty"`
	// Gates are the individual gate outcomes.
	Gates []GateResult `json:"gates,omitempty"`
	// Passed is the overall gate result.
	Passed bool `json:"passed"`
	// EvaluatedAt is when the evaluation ran (RFC 3339).
	EvaluatedAt string `json:"evaluatedAt,omitempty"`
}

// Threshold bounds one metric; MaxRegression is relative to the baseline.
type Threshold struct {
	Min           *float64 `json:"min,omitempty"`
	Max           *float64 `json:"max,omitempty"`
	MaxRegression *float64 `json:"maxRegression,omitempty"`
}

// Baseline identifies the model the evaluation compared against.
type Baseline struct {
	Ref     string             `json:"ref,omitempty"`
	Digest  string             `json:"digest"`
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

// Dataset is an input identified by digest.
type Dataset struct {
	Name   string `json:"name"`
	URI    string `json:"uri,omitempty"`
	Digest string `json:"digest"`
}

// GateResult is one gate's outcome.
type GateResult struct {
	Metric  string  `json:"metric"`
	Value   float64 `json:"value"`
	Op      string  `json:"op"`
	Bound   float64 `json:"bound"`
	Passed  bool    `json:"passed"`
	Message string  `json:"message,omitempty"`
}

// ParseEvalResult reads an evaluation result (the JSON the eval step
// writes, in EvalPredicate's shape) and checks it is usable as a
// predicate: metrics present and finite, "passed" given explicitly, and
// consistent with the failed gates it lists.
func ParseEvalResult(b []byte) (*EvalPredicate, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("the eval result is not a JSON object: %w", err)
	}
	if _, ok := raw["passed"]; !ok {
		return nil, errors.New(`the eval result has no "passed" field: run mlship eval first and attest its result file`)
	}
	var p EvalPredicate
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

// Bound is an absolute gate a policy applies to an eval attestation.
type Bound struct {
	Min *float64
	Max *float64
}

// CheckGates applies bounds to the predicate's metrics and returns the
// first failure as "accuracy 0.71 < 0.9", sorted by metric name.
func (p *EvalPredicate) CheckGates(bounds map[string]Bound) error {
	keys := make([]string, 0, len(bounds))
	for k := range bounds {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b := bounds[k]
		v, ok := p.Metrics[k]
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
	if !p.Passed {
		var failed []string
		for _, g := range p.Gates {
			if !g.Passed {
				failed = append(failed, fmt.Sprintf("%s %s %s %s", g.Metric, fmtFloat(g.Value), negate(g.Op), fmtFloat(g.Bound)))
			}
		}
		if len(failed) > 0 {
			return errors.New(strings.Join(failed, ", "))
		}
		return errors.New("the evaluation recorded passed=false")
	}
	return nil
}

// gateChecks lists what CheckGates compared, with the attested values:
// the policy's bounds (sorted by metric), then the gates the evaluation
// recorded.
func (p *EvalPredicate) gateChecks(bounds map[string]Bound) []VerifiedGate {
	keys := make([]string, 0, len(bounds))
	for k := range bounds {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []VerifiedGate
	for _, k := range keys {
		v, ok := p.Metrics[k]
		if !ok {
			continue
		}
		b := bounds[k]
		if b.Min != nil {
			out = append(out, VerifiedGate{Metric: k, Value: v, Op: ">=", Bound: *b.Min, Passed: v >= *b.Min, Source: "policy"})
		}
		if b.Max != nil {
			out = append(out, VerifiedGate{Metric: k, Value: v, Op: "<=", Bound: *b.Max, Passed: v <= *b.Max, Source: "policy"})
		}
	}
	for _, g := range p.Gates {
		out = append(out, VerifiedGate{Metric: g.Metric, Value: g.Value, Op: g.Op, Bound: g.Bound, Passed: g.Passed, Source: "eval"})
	}
	return out
}

// negate turns a gate's requirement (">=") into the violated relation ("<").
func negate(op string) string {
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

// ProvenanceInput is what an SLSA provenance v1 predicate is built from.
type ProvenanceInput struct {
	// BuilderID is the builder's identity: the GitHub workflow
	// (https://github.com/OWNER/REPO/.github/workflows/X.yml@REF).
	BuilderID string
	// SourceRepo is the source repository URL, SourceCommit its commit.
	SourceRepo   string
	SourceCommit string
	SourceRef    string
	// RunURL is the workflow run (invocation) URL.
	RunURL string
	// Inputs are the training inputs (datasets, base models) by digest.
	Inputs []Dataset
	// Parameters are external parameters (spec digest, hyperparameters).
	Parameters map[string]any
	// StartedOn and FinishedOn bound the build; zero values are omitted.
	StartedOn, FinishedOn time.Time
}

// ProvenanceFromEnv fills a ProvenanceInput from the GitHub Actions
// environment (GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_SHA,
// GITHUB_REF, GITHUB_WORKFLOW_REF, GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT).
func ProvenanceFromEnv(getenv func(string) string) ProvenanceInput {
	server := getenv("GITHUB_SERVER_URL")
	if server == "" {
		server = "https://github.com"
	}
	var in ProvenanceInput
	if wr := getenv("GITHUB_WORKFLOW_REF"); wr != "" {
		in.BuilderID = server + "/" + wr
	}
	if repo := getenv("GITHUB_REPOSITORY"); repo != "" {
		in.SourceRepo = server + "/" + repo
		if id := getenv("GITHUB_RUN_ID"); id != "" {
			in.RunURL = server + "/" + repo + "/actions/runs/" + id
			if a := getenv("GITHUB_RUN_ATTEMPT"); a != "" {
				in.RunURL += "/attempts/" + a
			}
		}
	}
	in.SourceCommit = getenv("GITHUB_SHA")
	in.SourceRef = getenv("GITHUB_REF")
	return in
}

// ProvenancePredicate builds an SLSA provenance v1 predicate.
func ProvenancePredicate(in ProvenanceInput) ([]byte, error) {
	if in.BuilderID == "" {
		return nil, errors.New("provenance needs a builder id: run inside GitHub Actions (GITHUB_WORKFLOW_REF) or pass --builder-id")
	}
	if in.SourceRepo == "" || in.SourceCommit == "" {
		return nil, errors.New("provenance needs the source repository and commit: run inside GitHub Actions (GITHUB_REPOSITORY, GITHUB_SHA) or pass --source-repo and --source-commit")
	}
	type rd struct {
		URI    string            `json:"uri,omitempty"`
		Name   string            `json:"name,omitempty"`
		Digest map[string]string `json:"digest"`
	}
	src := in.SourceRepo
	if !strings.HasPrefix(src, "git+") {
		src = "git+" + src
	}
	if in.SourceRef != "" {
		src += "@" + in.SourceRef
	}
	deps := []rd{{URI: src, Digest: map[string]string{"gitCommit": in.SourceCommit}}}
	for _, d := range in.Inputs {
		alg, hexd, ok := strings.Cut(d.Digest, ":")
		if !ok || alg == "" || hexd == "" {
			return nil, fmt.Errorf("training input %s digest %q: want algorithm:hex", d.Name, d.Digest)
		}
		deps = append(deps, rd{URI: d.URI, Name: d.Name, Digest: map[string]string{alg: hexd}})
	}
	ext := map[string]any{
		"workflow": map[string]string{"ref": in.BuilderID, "repository": in.SourceRepo},
	}
	for k, v := range in.Parameters {
		ext[k] = v
	}
	meta := map[string]string{}
	if in.RunURL != "" {
		meta["invocationId"] = in.RunURL
	}
	if !in.StartedOn.IsZero() {
		meta["startedOn"] = in.StartedOn.UTC().Format(time.RFC3339)
	}
	if !in.FinishedOn.IsZero() {
		meta["finishedOn"] = in.FinishedOn.UTC().Format(time.RFC3339)
	}
	p := map[string]any{
		"buildDefinition": map[string]any{
			"buildType":            BuildType,
			"externalParameters":   ext,
			"resolvedDependencies": deps,
		},
		"runDetails": map[string]any{
			"builder":  map[string]string{"id": in.BuilderID},
			"metadata": meta,
		},
	}
	return json.Marshal(p)
}
