package monitor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/mlship/mlship/internal/drift"
	"github.com/mlship/mlship/internal/spec"
)

// Input is one monitoring check.
type Input struct {
	Model       *spec.Model
	Environment string
	// Profile is the reference profile of the model the environment runs.
	Profile *drift.Profile
	// Current are the sample files (globs already expanded).
	Current []string
	// Config is the drift configuration (ConfigFor gives the spec's).
	Config drift.Config
}

// GateCheck is one metric bound checked on the sample.
type GateCheck struct {
	Metric string   `json:"metric"`
	Value  *float64 `json:"value,omitempty"`
	Min    *float64 `json:"min,omitempty"`
	Max    *float64 `json:"max,omitempty"`
	Passed bool     `json:"passed"`
	// Reason says why it failed ("accuracy 0.81 < min 0.9", or that the
	// metric could not be computed: a gate that cannot be checked fails).
	Reason string `json:"reason,omitempty"`
}

// Report is a monitoring run's result; its JSON form is what
// `mlship monitor --output json` prints (the pipeline adds the digest and
// the issue).
type Report struct {
	Environment string        `json:"environment"`
	Digest      string        `json:"digest"`
	Alert       bool          `json:"alert"`
	Reasons     []string      `json:"reasons,omitempty"`
	Drift       *drift.Result `json:"drift"`
	// DriftedColumns are the drifted columns' names, in the result's order.
	DriftedColumns []string `json:"driftedColumns"`
	// Metrics are computed when the spec's monitor section names the
	// prediction and label columns; MetricRows rows had both,
	// MetricMissing lacked one; MetricNotes say which could not be
	// computed and why.
	Metrics       map[string]float64 `json:"metrics,omitempty"`
	MetricRows    int64              `json:"metricRows,omitempty"`
	MetricMissing int64              `json:"metricMissing,omitempty"`
	MetricNotes   []string           `json:"metricNotes,omitempty"`
	Gates         []GateCheck        `json:"gates,omitempty"`
}

// ConfigFor is the drift configuration of the spec's monitor section laid
// over its drift section (spec.Model.MonitorDrift).
func ConfigFor(m *spec.Model) (drift.Config, error) {
	d := m.MonitorDrift()
	return drift.ConfigFromSpec(&d)
}

// Check runs drift against the profile and, with prediction and label
// columns, the metrics and gates; the run alerts when the data set drifted
// or a gate failed.
func Check(ctx context.Context, in Input) (*Report, error) {
	if in.Model == nil || in.Profile == nil {
		return nil, errors.New("monitor: a spec and a reference profile are required")
	}
	if _, ok := in.Model.Environments[in.Environment]; !ok {
		return nil, fmt.Errorf("environment %q is not in the spec (environments: %v)", in.Environment, sortedKeys(in.Model.Environments))
	}
	if len(in.Current) == 0 {
		return nil, errors.New("no current data: give --current PATH (files or globs)")
	}
	res, err := drift.Compare(ctx, drift.ProfileSource(in.Profile), drift.Files(in.Current...), in.Config)
	if err != nil {
		return nil, err
	}
	rep := &Report{Environment: in.Environment, Drift: res, DriftedColumns: []string{}}
	for _, c := range res.Columns {
		if c.Drift {
			rep.DriftedColumns = append(rep.DriftedColumns, c.Name)
		}
	}
	if res.DatasetDrift {
		rep.Reasons = append(rep.Reasons, fmt.Sprintf("data drift: %d of %d columns drifted (share %.2f >= %.2f)", res.DriftedColumns, len(res.Columns), res.DriftShare, res.ShareThreshold))
	}
	if mo := in.Model.Monitor; mo != nil && mo.Prediction != "" && mo.Label != "" {
		if err := rep.metrics(ctx, in, mo.Prediction, mo.Label); err != nil {
			return nil, err
		}
	}
	rep.Alert = len(rep.Reasons) > 0
	return rep, nil
}

func (rep *Report) metrics(ctx context.Context, in Input, pred, label string) error {
	acc := NewMetrics()
	err := drift.ScanColumns(ctx, in.Current, []string{pred, label}, func(v []string) error {
		acc.Add(v[0], v[1])
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading predictions (%s) and labels (%s): %w", pred, label, err)
	}
	rep.MetricRows, rep.MetricMissing = acc.Rows(), acc.Missing()
	rep.Metrics = map[string]float64{}
	notes := map[string]string{}
	var names []string
	if in.Model.Eval != nil {
		names = sortedKeys(in.Model.Eval.Metrics)
	}
	for _, n := range names {
		v, err := acc.Compute(n)
		if err != nil {
			notes[n] = err.Error()
			rep.MetricNotes = append(rep.MetricNotes, err.Error())
			continue
		}
		rep.Metrics[n] = v
	}
	// Bounds: the spec-wide eval.metrics min/max and the environment's
	// gates (both must hold).
	type bound struct{ min, max *float64 }
	bounds := map[string][]bound{}
	for _, n := range names {
		mt := in.Model.Eval.Metrics[n]
		if mt.Min != nil || mt.Max != nil {
			bounds[n] = append(bounds[n], bound{mt.Min, mt.Max})
		}
	}
	for n, g := range in.Model.Environments[in.Environment].Gates {
		bounds[n] = append(bounds[n], bound{g.Min, g.Max})
	}
	for _, n := range sortedKeys(bounds) {
		for _, b := range bounds[n] {
			gc := GateCheck{Metric: n, Min: b.min, Max: b.max, Passed: true}
			v, ok := rep.Metrics[n]
			switch {
			case !ok:
				why := notes[n]
				if why == "" {
					why = fmt.Sprintf("metric %q is not declared in eval.metrics", n)
				}
				gc.Passed, gc.Reason = false, "gate not checked: "+why
			case b.min != nil && v < *b.min:
				gc.Passed, gc.Reason = false, fmt.Sprintf("%s %.4g < min %.4g", n, v, *b.min)
			case b.max != nil && v > *b.max:
				gc.Passed, gc.Reason = false, fmt.Sprintf("%s %.4g > max %.4g", n, v, *b.max)
			}
			if ok {
				gc.Value = &v
			}
			if !gc.Passed {
				rep.Reasons = append(rep.Reasons, gc.Reason)
			}
			rep.Gates = append(rep.Gates, gc)
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return slices.Clip(out)
}
