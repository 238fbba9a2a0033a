package sign

import (
	"fmt"

	"github.com/mlship/mlship/internal/attest"
	"github.com/mlship/mlship/internal/gha"
)

// The predicate contracts live in internal/attest; these names are the
// same types and constants, kept so that sign's callers read naturally.
const (
	// EvalPredicateType is mlship's evaluation result predicate.
	EvalPredicateType = attest.EvalType
	// ProvenancePredicateType is SLSA provenance v1.
	ProvenancePredicateType = attest.ProvenanceType
	// BuildType is the SLSA buildType of an mlship training run.
	BuildType = attest.BuildType
)

type (
	// EvalPredicate is the eval predicate: attest.EvalResult.
	EvalPredicate = attest.EvalResult
	// Threshold is what one metric is held to.
	Threshold = attest.Threshold
	// Baseline identifies the model the evaluation compared against.
	Baseline = attest.Baseline
	// Dataset is an input identified by digest.
	Dataset = attest.Dataset
	// GateResult is one gate's outcome in an eval predicate.
	GateResult = attest.GateCheck
	// Bound is an absolute gate a policy applies to an eval attestation.
	Bound = attest.Bounds
	// ProvenanceInput is what an SLSA provenance predicate is built from.
	ProvenanceInput = attest.ProvenanceInput
)

// PredicateType maps a short name to its URI; see attest.PredicateType.
func PredicateType(s string) string { return attest.PredicateType(s) }

// ShortName is the inverse of PredicateType; see attest.ShortName.
func ShortName(uri string) string { return attest.ShortName(uri) }

// ParseEvalResult checks an eval result is usable as a predicate; see
// attest.ParseEvalPredicate.
func ParseEvalResult(b []byte) (*EvalPredicate, error) { return attest.ParseEvalPredicate(b) }

// ProvenanceFromEnv fills a ProvenanceInput from the run context read
// through getenv (parsed by gha, which owns the variables' names).
func ProvenanceFromEnv(getenv func(string) string) ProvenanceInput {
	return attest.ProvenanceFromRun(gha.Parse(getenv))
}

// ProvenancePredicate builds an SLSA provenance v1 predicate.
func ProvenancePredicate(in ProvenanceInput) ([]byte, error) { return attest.Provenance(in) }

// gateChecks lists what CheckGates compared, with the attested values:
// the policy's bounds (sorted by metric), then the gates the evaluation
// recorded.
func gateChecks(p *EvalPredicate, bounds map[string]Bound) []VerifiedGate {
	var out []VerifiedGate
	for _, k := range attest.SortedBounds(bounds) {
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

func fmtFloat(f float64) string { return fmt.Sprintf("%g", f) }
