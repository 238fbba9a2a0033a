package eval

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mlship/mlship/internal/spec"
)

// tolerance absorbs floating-point noise at a bound: 0.1+0.2 must pass a
// min of 0.3.
const tolerance = 1e-9

// Current is what the model under evaluation measured, with the
// baseline's per-example results when known (they pair with Examples for
// the bootstrap and are not part of the Result).
type Current struct {
	Metrics          Metrics
	Examples         *Examples
	BaselineExamples *Examples
	// NotMetrics are the metrics file's fields that are not metrics, with
	// what they held (metrics.File.NotMetrics): a gate on one says so.
	NotMetrics map[string]string
}

// judged is a Comparison with what Compare needs to finish the Result:
// the checks made and which failures are spec-wide (they apply to every
// environment, unlike a target environment's gates).
type judged struct {
	Comparison
	specFailed []string
	checks     []GateCheck
}

// Compare judges cur against the spec's bounds, the target environment's
// gates and base (nil when there is no baseline). It reads no files and
// runs nothing; Run is Compare plus the I/O.
func Compare(model *spec.Model, cur Current, base *Baseline, opts ...Option) (*Result, error) {
	if model == nil {
		return nil, fmt.Errorf("eval: no model spec")
	}
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	ev := model.Eval
	if ev == nil {
		ev = &spec.Eval{}
	}
	baseEnv := ev.Baseline
	if baseEnv == "" {
		baseEnv = "prod"
	}
	env := baseEnv
	if o.environment != nil {
		env = *o.environment
	}
	var gates map[string]spec.Gate
	if env != "" {
		e, ok := model.Environments[env]
		if !ok && len(model.Environments) > 0 {
			return nil, fmt.Errorf("eval: environment %q is not in the spec (it has %v): pick one with --environment", env, envNames(model))
		}
		gates = e.Gates
	}
	bs := bootstrapConfig(ev.Bootstrap)

	res := &Result{
		SchemaVersion: SchemaVersion,
		Model:         ModelRef{Name: model.Name, Version: model.Version, SpecDigest: model.Digest, Digest: o.artifactDigest},
		Environment:   env,
		Metrics:       Metrics{},
		Thresholds:    map[string]Threshold{},
		Baseline:      base,
		Datasets:      datasetRefs(model),
		EvaluatedAt:   o.now().UTC().Format(time.RFC3339),
		Gates:         []GateCheck{},
	}
	for k, v := range cur.Metrics {
		res.Metrics[k] = v
	}
	if base == nil && o.noBaselineNote != nil {
		res.Notes = append(res.Notes, o.noBaselineNote...)
	} else if base == nil {
		res.Notes = append(res.Notes, fmt.Sprintf("No baseline: no model is in %q yet, so metrics were checked against absolute bounds only.", baseEnv))
	}

	// Metrics to judge: every metric of the spec and of the target gates,
	// then every other measured metric, reported for information.
	gated := map[string]bool{}
	for k := range ev.Metrics {
		gated[k] = true
	}
	for k := range gates {
		gated[k] = true
	}
	for _, name := range sortedKeys(gated) {
		m := ev.Metrics[name]
		th := Threshold{Direction: m.Direction, Min: m.Min, Max: m.Max, MaxRegression: m.MaxRegression}
		if g, ok := gates[name]; ok {
			th.Gate = &Bounds{Min: g.Min, Max: g.Max}
		}
		res.Thresholds[name] = th
	}

	var baseEx *Examples
	if base != nil {
		baseEx = cur.BaselineExamples
	}
	withCI := cur.Examples.Len() > 0 && baseEx.Len() > 0
	if withCI {
		res.Bootstrap = &bs
	} else if base != nil && (cur.Examples.Len() > 0) != (baseEx.Len() > 0) {
		res.Notes = append(res.Notes, "Per-example results were given for only one side, so no confidence intervals were computed.")
	}

	names := sortedKeys(gated)
	var extra []string
	for k := range cur.Metrics {
		if !gated[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	names = append(names, extra...)

	all := make([]judged, 0, len(names))
	for _, name := range names {
		c := compareOne(name, res.Thresholds[name], gated[name], cur, base)
		if withCI {
			cv, bv := Pair(cur.Examples, baseEx, name)
			if len(cv) > 0 {
				ci, err := PairedBootstrap(cv, bv, bs.Samples, bs.Confidence, bs.Seed)
				if err != nil {
					return nil, fmt.Errorf("metric %s: %w", name, err)
				}
				c.CI = &ci
				sig := ci.Excludes0()
				c.Significant = &sig
				if n := cur.Examples.Len(); len(cv) < n {
					res.Notes = append(res.Notes, fmt.Sprintf("%s: %d of %d examples were paired with the baseline's by id; the interval uses those.", name, len(cv), n))
				}
				if c.Verdict == VerdictFail && c.Regression != nil && *c.Regression > 0 && !sig {
					c.Reasons = append(c.Reasons, fmt.Sprintf("The %g%% interval of the per-example delta [%s, %s] includes 0: the regression may be noise.", bs.Confidence*100, fmtF(ci.Low), fmtF(ci.High)))
				}
			}
		}
		res.Gates = append(res.Gates, c.checks...)
		res.Comparisons = append(res.Comparisons, c.Comparison)
		all = append(all, c)
	}

	res.Passed = true
	for _, c := range res.Comparisons {
		if c.Verdict == VerdictFail {
			res.Passed = false
		}
	}
	res.Environments = gateResults(model, ev, cur, all)
	if env != "" {
		if g, ok := res.Environments[env]; ok && !g.Passed {
			res.Passed = false
		}
	}
	return res, nil
}

func compareOne(name string, th Threshold, gated bool, current Current, base *Baseline) judged {
	cur := current.Metrics
	c := judged{Comparison: Comparison{Metric: name, Direction: th.Direction, Gated: gated, Verdict: VerdictPass, Reasons: []string{}}}
	v, ok := cur[name]
	if !ok {
		if gated {
			why := missingWhy(current.NotMetrics, name) + ": the eval command must write it"
			c.specFail(why)
			c.checks = append(c.checks, GateCheck{Metric: name, Rule: "present", Op: "present", Message: why})
		}
		return c
	}
	c.Current = ptr(v)
	if base != nil {
		if b, ok := base.Metrics[name]; ok {
			c.Baseline = ptr(b)
			c.Delta = ptr(v - b)
			switch th.Direction {
			case "maximize":
				c.Regression = ptr(b - v)
			case "minimize":
				c.Regression = ptr(v - b)
			}
		}
	}
	if !gated {
		c.Verdict = VerdictInfo
		return c
	}
	c.bound("min", th.Min, v)
	c.bound("max", th.Max, v)
	c.specFailed = append(c.specFailed, c.Failed...)
	if th.Gate != nil {
		c.bound("gate min", th.Gate.Min, v)
		c.bound("gate max", th.Gate.Max, v)
	}
	if th.MaxRegression != nil && c.Regression != nil {
		why := ""
		ok := *c.Regression <= *th.MaxRegression+tolerance
		if !ok {
			why = fmt.Sprintf("%s by %s vs baseline %s (max regression %s)", worse(th.Direction), fmtF(*c.Regression), fmtF(*c.Baseline), fmtF(*th.MaxRegression))
		}
		c.checks = append(c.checks, GateCheck{Metric: name, Rule: "maxRegression", Value: *c.Regression, Op: "<=", Bound: *th.MaxRegression, Passed: ok, Message: why})
	}
	if th.MaxRegression != nil {
		switch {
		case base == nil:
			c.Reasons = append(c.Reasons, "no baseline: maximum regression not checked")
		case c.Baseline == nil:
			c.Reasons = append(c.Reasons, "the baseline has no value for this metric: maximum regression not checked")
		case c.Regression == nil:
			c.Reasons = append(c.Reasons, "no direction: maximum regression not checked")
		case *c.Regression > *th.MaxRegression+tolerance:
			c.specFail(fmt.Sprintf("%s by %s vs baseline %s (max regression %s)", worse(th.Direction), fmtF(*c.Regression), fmtF(*c.Baseline), fmtF(*th.MaxRegression)))
		default:
			c.Reasons = append(c.Reasons, fmt.Sprintf("%s vs baseline %s is within max regression %s", signed(*c.Delta), fmtF(*c.Baseline), fmtF(*th.MaxRegression)))
		}
	}
	return c
}

func (c *judged) fail(why string) {
	c.Verdict = VerdictFail
	c.Reasons = append(c.Reasons, why)
	c.Failed = append(c.Failed, why)
}

func (c *judged) specFail(why string) {
	c.fail(why)
	c.specFailed = append(c.specFailed, why)
}

func (c *judged) bound(rule string, b *float64, v float64) {
	if b == nil {
		return
	}
	isMin := rule == "min" || rule == "gate min"
	chk := GateCheck{Metric: c.Metric, Rule: strings.Replace(rule, " ", ".", 1), Value: v, Op: "<=", Bound: *b, Passed: true}
	if isMin {
		chk.Op = ">="
	}
	defer func() { c.checks = append(c.checks, chk) }()
	fail := func(why string) {
		chk.Passed, chk.Message = false, why
		c.fail(why)
	}
	switch {
	case isMin && v < *b-tolerance:
		fail(fmt.Sprintf("%s is below %s %s", fmtF(v), rule, fmtF(*b)))
	case !isMin && v > *b+tolerance:
		fail(fmt.Sprintf("%s is above %s %s", fmtF(v), rule, fmtF(*b)))
	case isMin:
		c.Reasons = append(c.Reasons, fmt.Sprintf("%s ≥ %s %s", fmtF(v), rule, fmtF(*b)))
	default:
		c.Reasons = append(c.Reasons, fmt.Sprintf("%s ≤ %s %s", fmtF(v), rule, fmtF(*b)))
	}
}

// gateResults judges the result for every environment: the spec-wide rules
// (bounds, regression, missing metrics) plus that environment's gates.
func gateResults(model *spec.Model, ev *spec.Eval, current Current, cmp []judged) map[string]GateResult {
	cur := current.Metrics
	if len(model.Environments) == 0 {
		return nil
	}
	var common []string
	for _, c := range cmp {
		if _, specWide := ev.Metrics[c.Metric]; !specWide {
			continue
		}
		for _, why := range c.specFailed {
			common = append(common, c.Metric+": "+why)
		}
	}
	out := map[string]GateResult{}
	for name, env := range model.Environments {
		fails := append([]string(nil), common...)
		for _, metric := range sortedKeys(env.Gates) {
			g := env.Gates[metric]
			v, ok := cur[metric]
			if !ok {
				fails = append(fails, metric+": "+missingWhy(current.NotMetrics, metric))
				continue
			}
			if g.Min != nil && v < *g.Min-tolerance {
				fails = append(fails, fmt.Sprintf("%s: %s is below the %s gate min %s", metric, fmtF(v), name, fmtF(*g.Min)))
			}
			if g.Max != nil && v > *g.Max+tolerance {
				fails = append(fails, fmt.Sprintf("%s: %s is above the %s gate max %s", metric, fmtF(v), name, fmtF(*g.Max)))
			}
		}
		out[name] = GateResult{Passed: len(fails) == 0, Failures: fails}
	}
	return out
}

// missingWhy says why a metric is not in the metrics file: absent, or
// present but not a number.
func missingWhy(notMetrics map[string]string, name string) string {
	if what, ok := notMetrics[name]; ok {
		return "missing from the metrics file, which holds " + what + " under this name (write it as a JSON number)"
	}
	return "missing from the metrics file"
}

func bootstrapConfig(b spec.Bootstrap) BootstrapConfig {
	c := BootstrapConfig{Samples: b.Samples, Confidence: b.Confidence, Seed: b.Seed}
	if c.Samples <= 0 {
		c.Samples = 2000
	}
	if !(c.Confidence > 0 && c.Confidence < 1) {
		c.Confidence = 0.95
	}
	return c
}

func datasetRefs(model *spec.Model) []DatasetRef {
	out := []DatasetRef{}
	for _, name := range sortedKeys(model.Datasets) {
		d := model.Datasets[name]
		out = append(out, DatasetRef{Name: name, URI: d.URI, Role: d.Role, Digest: d.Digest})
	}
	return out
}

func envNames(m *spec.Model) []string { return sortedKeys(m.Environments) }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func worse(direction string) string {
	if direction == "minimize" {
		return "rose"
	}
	return "dropped"
}

func ptr(f float64) *float64 { return &f }

// fmtF formats a metric value compactly and reproducibly.
func fmtF(f float64) string {
	if math.Abs(f) < 1e-12 {
		return "0"
	}
	return strconv.FormatFloat(f, 'g', 4, 64)
}

func signed(f float64) string {
	if f >= 0 {
		return "+" + fmtF(f)
	}
	return fmtF(f)
}
