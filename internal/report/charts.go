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

// --- charts (Mermaid xychart-beta) -----------------------------------------

func charts(in Input) string {
	var blocks []string
	if in.Eval != nil {
		if c := metricsChart(in.Eval); c != "" {
			blocks = append(blocks, c)
		}
	}
	if in.Drift != nil {
		blocks = append(blocks, driftCharts(in.Drift)...)
	}
	if len(blocks) == 0 {
		return ""
	}
	return "### Charts\n\n" + strings.Join(blocks, "\n")
}

// metricsChart plots each metric's improvement over the baseline in percent
// (positive = better, whatever the direction).
func metricsChart(ev *eval.Result) string {
	var names []string
	var vals []float64
	for _, c := range ev.Comparisons {
		if c.Baseline == nil || c.Current == nil || *c.Baseline == 0 || len(names) == maxChartColumns {
			continue
		}
		d := *c.Current - *c.Baseline
		if c.Direction == "minimize" {
			d = -d
		}
		names = append(names, c.Metric)
		vals = append(vals, d/math.Abs(*c.Baseline)*100)
	}
	if len(names) == 0 {
		return ""
	}
	return xychart("Improvement over the baseline (%, positive = better)", "%", names, vals, nil)
}

// driftCharts plots, per test, each column's score and the threshold.
func driftCharts(dr *drift.Result) []string {
	byTest := map[string][]drift.ColumnResult{}
	var tests []string
	for _, c := range dr.Columns {
		if _, ok := byTest[c.Test]; !ok {
			tests = append(tests, c.Test)
		}
		byTest[c.Test] = append(byTest[c.Test], c)
	}
	sort.Strings(tests)
	var out []string
	for _, t := range tests {
		cols := byTest[t]
		sort.SliceStable(cols, func(i, j int) bool {
			if cols[i].Drift != cols[j].Drift {
				return cols[i].Drift
			}
			return cols[i].Name < cols[j].Name
		})
		if len(cols) > maxChartColumns {
			cols = cols[:maxChartColumns]
		}
		var names []string
		var vals, thr []float64
		isP := cols[0].PValue != nil
		for _, c := range cols {
			names = append(names, c.Name)
			if isP && c.PValue != nil {
				vals = append(vals, *c.PValue)
			} else {
				vals = append(vals, c.Statistic)
			}
			thr = append(thr, c.Threshold)
		}
		title := fmt.Sprintf("%s statistic per column (line: drift threshold)", t)
		axis := "statistic"
		if isP {
			title = fmt.Sprintf("%s p-value per column (line: drift below it)", t)
			axis = "p-value"
		}
		out = append(out, xychart(title, axis, names, vals, thr))
	}
	return out
}

func xychart(title, axis string, names []string, bars, line []float64) string {
	var b strings.Builder
	b.WriteString("```mermaid\nxychart-beta\n")
	fmt.Fprintf(&b, "    title %q\n", mermaidText(title))
	labels := make([]string, len(names))
	for i, n := range names {
		labels[i] = strconv.Quote(mermaidLabel(n))
	}
	fmt.Fprintf(&b, "    x-axis [%s]\n", strings.Join(labels, ", "))
	fmt.Fprintf(&b, "    y-axis %q\n", mermaidText(axis))
	fmt.Fprintf(&b, "    bar [%s]\n", joinNums(bars))
	if line != nil {
		fmt.Fprintf(&b, "    line [%s]\n", joinNums(line))
	}
	b.WriteString("```\n")
	return b.String()
}

// mermaidLabel keeps a category label inside its quotes and short enough
// for the axis.
func mermaidLabel(s string) string {
	s = mermaidText(s)
	if r := []rune(s); len(r) > 40 {
		s = string(r[:39]) + "…"
	}
	return s
}

// mermaidText keeps text inside its quotes.
func mermaidText(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '"', '`':
			return '\''
		case '\n', '\r', '\t':
			return ' '
		case '\\', '[', ']', '{', '}', '<', '>', ';', '#':
			return '_'
		}
		return r
	}, s)
}

func joinNums(v []float64) string {
	parts := make([]string, len(v))
	for i, f := range v {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			f = 0
		}
		parts[i] = strconv.FormatFloat(f, 'f', -1, 64)
		if len(parts[i]) > 12 {
			parts[i] = strconv.FormatFloat(f, 'g', 6, 64)
			if strings.ContainsAny(parts[i], "e") {
				parts[i] = strconv.FormatFloat(f, 'f', 8, 64)
			}
		}
	}
	return strings.Join(parts, ", ")
}
