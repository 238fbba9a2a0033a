package report

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/mlship/mlship/internal/drift"
	"github.com/mlship/mlship/internal/eval"
)

// --- built-in sections ---------------------------------------------------

// builtinSections returns metrics, drift, charts and details, in that
// order; callers' sections go after the first two.
func builtinSections(in Input) []Section {
	m := Section{Title: "Metrics", Priority: PriorityMetrics}
	d := Section{Title: "Data drift", Priority: PriorityDrift}
	c := Section{Title: "Charts", Priority: PriorityCharts}
	x := Section{Title: "Details", Priority: PriorityDetails}
	if in.Eval != nil {
		m.Markdown = metricsTable(in.Eval)
	}
	if in.Drift != nil {
		dr := in.Drift
		d.Markdown = driftTable(dr, 0)
		d.fit = func(budget int) string { return fitDriftTable(dr, budget) }
	}
	c.Markdown = charts(in)
	x.Markdown = details(in)
	return []Section{m, d, c, x}
}

func metricsTable(ev *eval.Result) string {
	var b strings.Builder
	b.WriteString("### Metrics\n\n")
	if len(ev.Comparisons) == 0 {
		b.WriteString("_No metrics._\n")
		return b.String()
	}
	ciHead := "CI"
	if ev.Bootstrap != nil {
		ciHead = fmt.Sprintf("%s%% CI", num(ev.Bootstrap.Confidence*100))
	}
	fmt.Fprintf(&b, "| Metric | Baseline | Current | Δ | %s | Verdict |\n| --- | ---: | ---: | ---: | :---: | --- |\n", ciHead)
	for _, c := range ev.Comparisons {
		arrow := ""
		switch c.Direction {
		case "maximize":
			arrow = " ↑"
		case "minimize":
			arrow = " ↓"
		}
		ci := "–"
		if c.CI != nil {
			ci = fmt.Sprintf("[%s, %s]", signed(c.CI.Low), signed(c.CI.High))
			if c.Significant != nil && *c.Significant {
				ci += " *"
			}
		}
		fmt.Fprintf(&b, "| `%s`%s | %s | %s | %s | %s | %s |\n",
			EscapeCodeCell(c.Metric), arrow, optNum(c.Baseline), optNum(c.Current), optSigned(c.Delta), ci, verdictCell(c))
	}
	b.WriteString("\n")
	if ev.Bootstrap != nil {
		fmt.Fprintf(&b, "<sub>Δ = current − baseline. CI: paired bootstrap of the per-example delta (%d resamples, seed %d); * = excludes 0, unlikely to be noise.</sub>\n",
			ev.Bootstrap.Samples, ev.Bootstrap.Seed)
	} else {
		b.WriteString("<sub>Δ = current − baseline. No per-example results on both sides, so no confidence intervals.</sub>\n")
	}
	return b.String()
}

func verdictCell(c eval.Comparison) string {
	switch c.Verdict {
	case eval.VerdictFail:
		return "❌ " + Escape(strings.Join(c.Failed, "; "))
	case eval.VerdictPass:
		return "✅ pass"
	}
	return "not gated"
}

func driftTable(dr *drift.Result, maxRows int) string {
	var b strings.Builder
	b.WriteString("### Data drift\n\n")
	if dr.Mode != "" && dr.Mode != "exact" {
		fmt.Fprintf(&b, "Statistics were computed in **%s** mode (bounded memory: binned, not exact).\n\n", Escape(dr.Mode))
	}
	if len(dr.Columns) == 0 {
		b.WriteString("_No columns were compared._\n")
		return b.String()
	}
	cols := append([]drift.ColumnResult(nil), dr.Columns...)
	sort.SliceStable(cols, func(i, j int) bool {
		if cols[i].Drift != cols[j].Drift {
			return cols[i].Drift
		}
		return cols[i].Name < cols[j].Name
	})
	// maxRows 0 shows every column, -1 none, n > 0 the first n (drifted
	// first).
	shown := cols
	switch {
	case maxRows < 0:
		shown = nil
	case maxRows > 0 && maxRows < len(cols):
		shown = cols[:maxRows]
	}
	b.WriteString("| Column | Type | Test | Score | Threshold | Verdict |\n| --- | --- | --- | ---: | ---: | --- |\n")
	for _, c := range shown {
		verdict := "✅ no drift"
		if c.Drift {
			verdict = "⚠️ drift"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", EscapeCodeCell(c.Name), Escape(string(c.Type)), Escape(c.Test), score(c), threshold(c), verdict)
	}
	if rest := len(cols) - len(shown); rest > 0 {
		fmt.Fprintf(&b, "\n_%d more columns not shown (%d drifted)._\n", rest, countDrift(cols[len(shown):]))
	}
	if maxRows == 0 {
		b.WriteString(dataQuality(dr))
	}
	return b.String()
}

// fitDriftTable is the longest drift table (drifted columns first) that
// fits budget bytes, or "" when not even the header fits.
func fitDriftTable(dr *drift.Result, budget int) string {
	lo, hi := 0, len(dr.Columns)
	best := ""
	for lo <= hi {
		mid := (lo + hi) / 2
		t := driftTable(dr, mid)
		if mid == 0 {
			t = driftTable(dr, -1)
		}
		if len(t) <= budget {
			best = t
			lo = mid + 1
		} else {
			hi = mid - 1
		}
	}
	return best
}

// dataQuality lists, per column, missing values, categories unseen in the
// reference and notes: what a reviewer should know beyond the verdict.
func dataQuality(dr *drift.Result) string {
	var lines []string
	for _, c := range dr.Columns {
		var parts []string
		if m := c.Missing; m.Reference > 0 || m.Current > 0 {
			parts = append(parts, fmt.Sprintf("missing values: %d in reference, %d in current", m.Reference, m.Current))
		}
		if c.UnseenCount > 0 {
			names := make([]string, 0, len(c.UnseenCategories))
			for i, u := range c.UnseenCategories {
				if i == 5 {
					names = append(names, "…")
					break
				}
				names = append(names, "`"+EscapeCode(u)+"`")
			}
			parts = append(parts, fmt.Sprintf("%d categories unseen in the reference (%d rows): %s", c.UnseenCount, c.UnseenRows, strings.Join(names, ", ")))
		}
		if c.Note != "" {
			parts = append(parts, Escape(c.Note))
		}
		if len(parts) > 0 {
			lines = append(lines, fmt.Sprintf("- `%s`: %s", EscapeCode(c.Name), strings.Join(parts, "; ")))
		}
	}
	if len(dr.ExtraColumns) > 0 {
		lines = append(lines, fmt.Sprintf("- %d columns only in the current data (not compared)", len(dr.ExtraColumns)))
	}
	if len(dr.Ignored) > 0 {
		lines = append(lines, fmt.Sprintf("- %d columns ignored by the spec", len(dr.Ignored)))
	}
	if len(lines) == 0 {
		return ""
	}
	return "\n" + strings.Join(lines, "\n") + "\n"
}

func countDrift(cols []drift.ColumnResult) int {
	n := 0
	for _, c := range cols {
		if c.Drift {
			n++
		}
	}
	return n
}

func score(c drift.ColumnResult) string {
	if c.NotComputed {
		return "not computed"
	}
	if c.PValue != nil {
		return fmt.Sprintf("p = %s (stat %s)", num(*c.PValue), num(c.Statistic))
	}
	return num(c.Statistic)
}

func threshold(c drift.ColumnResult) string {
	if c.PValue != nil {
		return "p < " + num(c.Threshold)
	}
	return "≥ " + num(c.Threshold)
}

// --- formatting ----------------------------------------------------------------

func num(f float64) string {
	if f == 0 || math.Abs(f) < 1e-12 {
		return "0"
	}
	return strconv.FormatFloat(f, 'g', 4, 64)
}

func signed(f float64) string {
	if math.Abs(f) < 1e-12 {
		return "0"
	}
	if f > 0 {
		return "+" + num(f)
	}
	return "−" + num(-f)
}

func optNum(f *float64) string {
	if f == nil {
		return "–"
	}
	return num(*f)
}

func optSigned(f *float64) string {
	if f == nil {
		return "–"
	}
	return signed(*f)
}
