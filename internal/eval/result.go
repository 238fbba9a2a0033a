package eval

import "github.com/mlship/mlship/internal/attest"

// The eval result is the eval attestation's predicate, whose one type is
// owned by internal/attest; these names are the same types, so that eval's
// callers read eval.Result.
const (
	// PredicateType is the in-toto predicate type of the eval attestation,
	// whose predicate is a Result.
	PredicateType = attest.EvalType
	// SchemaVersion identifies the Result layout.
	SchemaVersion = attest.EvalSchemaVersion
)

// Verdicts of a Comparison.
const (
	VerdictPass = attest.VerdictPass
	VerdictFail = attest.VerdictFail
	VerdictInfo = attest.VerdictInfo
)

type (
	// Result is the outcome of an evaluation (attest.EvalResult).
	Result = attest.EvalResult
	// GateCheck is one rule applied to one metric: value op bound.
	GateCheck = attest.GateCheck
	// GateResult is the outcome for one environment.
	GateResult = attest.GateResult
	// ModelRef names the evaluated model.
	ModelRef = attest.ModelRef
	// Bounds is an absolute range.
	Bounds = attest.Bounds
	// Threshold is what one metric is held to.
	Threshold = attest.Threshold
	// Baseline is the model the current one is compared with.
	Baseline = attest.Baseline
	// Comparison is the verdict on one metric.
	Comparison = attest.Comparison
	// DatasetRef is a dataset the model was evaluated with.
	DatasetRef = attest.Dataset
	// BootstrapConfig records how confidence intervals were computed.
	BootstrapConfig = attest.BootstrapConfig
	// CI is a paired bootstrap confidence interval.
	CI = attest.CI
	// Metrics maps a metric name to its value.
	Metrics = attest.Metrics
)
