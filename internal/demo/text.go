package demo

import (
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/mlship/mlship/internal/drift"
	"github.com/mlship/mlship/internal/eval"
	"github.com/mlship/mlship/internal/promote"
)

func discardLogger() *log.Logger { return log.New(io.Discard, "", 0) }

func metric(metrics map[string]float64, name string) string {
	v, ok := metrics[name]
	if !ok {
		return "n/a"
	}
	return fmt.Sprintf("%.4g", v)
}

// deltas sums up the gated metrics: current, delta and its interval.
func deltas(ev *eval.Result) string {
	var parts []string
	for _, c := range ev.Comparisons {
		if !c.Gated || c.Current == nil {
			continue
		}
		s := fmt.Sprintf("%s %.4g", c.Metric, *c.Current)
		if c.Delta != nil {
			s += fmt.Sprintf(" (Δ %+.4g", *c.Delta)
			if c.CI != nil {
				s += fmt.Sprintf(", CI [%+.3g, %+.3g]", c.CI.Low, c.CI.High)
			}
			s += ")"
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "no gated metrics"
	}
	return strings.Join(parts, ", ")
}

func drifted(dr *drift.Result) int {
	n := 0
	for _, c := range dr.Columns {
		if c.Drift {
			n++
		}
	}
	return n
}

func rulesText(pl *promote.Plan, env string) string {
	for _, e := range pl.Envs {
		if e.Environment != env {
			continue
		}
		names := make([]string, 0, len(e.Rules))
		for _, r := range e.Rules {
			names = append(names, r.Name)
		}
		return strings.Join(names, ", ")
	}
	return "no change"
}
