package report

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mlship/mlship/internal/drift"
	"github.com/mlship/mlship/internal/eval"
)

// maxChartColumns bounds the categories of one chart: more are unreadable.
const maxChartColumns = 30

// Render renders the report and trims it to lim (no bound when
// lim.MaxBytes is 0): sections go lowest priority first (first their Short
// form, then entirely), each replaced by a line saying so, and a notice
// under the verdict points to the full report. Only when the verdict alone
// is too large is the text cut, on a line boundary.
func Render(in Input, lim Limits) (string, error) {
	if in.Eval == nil && in.Drift == nil && len(in.Sections) == 0 {
		return "", fmt.Errorf("report: nothing to render: give an eval result, a drift result or a section")
	}
	head := renderHead(in)
	secs := builtinSections(in)
	secs = append(secs[:2:2], append(append([]Section(nil), in.Sections...), secs[2:]...)...)
	// Empty built-ins (no eval, no drift) drop out.
	kept := secs[:0]
	for _, s := range secs {
		if s.Markdown != "" {
			kept = append(kept, s)
		}
	}
	secs = kept
	foot := renderFoot(in)

	state := make([]int, len(secs)) // 0 full, 1 short, 2 omitted
	var omitted []string
	out := assemble(head, "", secs, state, foot)
	if lim.MaxBytes <= 0 || len(out) <= lim.MaxBytes {
		return out, nil
	}
	order := make([]int, len(secs))
	for i := range order {
		order[i] = i
	}
	// Lowest priority first; among equals, the later section first.
	sort.SliceStable(order, func(a, b int) bool {
		if secs[order[a]].Priority != secs[order[b]].Priority {
			return secs[order[a]].Priority < secs[order[b]].Priority
		}
		return order[a] > order[b]
	})
	for _, i := range order {
		state[i] = 2
		omitted = append(omitted, secs[i].Title)
		out = assemble(head, notice(in, lim, omitted), secs, state, foot)
		if len(out) <= lim.MaxBytes && secs[i].fit == nil && secs[i].Short == "" {
			return out, nil
		}
		// Shortened rather than omitted, if that fits.
		short := secs[i].Short
		if secs[i].fit != nil {
			budget := lim.MaxBytes - len(out) + len(omittedLine(secs[i].Title)) - len(" (shortened)") - 16
			short = secs[i].fit(budget)
		}
		if short != "" {
			s2 := secs[i]
			s2.Short = short
			secs[i] = s2
			state[i] = 1
			omitted[len(omitted)-1] = secs[i].Title + " (shortened)"
			if o2 := assemble(head, notice(in, lim, omitted), secs, state, foot); len(o2) <= lim.MaxBytes {
				return o2, nil
			}
			state[i] = 2
			omitted[len(omitted)-1] = secs[i].Title
		}
		if len(out) <= lim.MaxBytes {
			return out, nil
		}
	}
	return cut(out, lim.MaxBytes, fullLink(in)), nil
}

func assemble(head, note string, secs []Section, state []int, foot string) string {
	var b strings.Builder
	b.WriteString(head)
	if note != "" {
		b.WriteString(note)
		b.WriteString("\n")
	}
	for i, s := range secs {
		switch state[i] {
		case 0:
			b.WriteString(s.Markdown)
		case 1:
			b.WriteString(s.Short)
		default:
			b.WriteString(omittedLine(s.Title))
		}
		b.WriteString("\n")
	}
	b.WriteString(foot)
	return b.String()
}

func omittedLine(title string) string {
	return "### " + esc(title) + "\n\n_Omitted to fit the size limit; see the full report._\n"
}

func notice(in Input, lim Limits, omitted []string) string {
	name := lim.Name
	if name == "" {
		name = strconv.Itoa(lim.MaxBytes) + " bytes"
	}
	return fmt.Sprintf("> [!NOTE]\n> This report was trimmed to fit %s: %s. %s\n", name, strings.Join(omitted, ", "), fullLink(in))
}

func fullLink(in Input) string {
	if in.FullReportURL == "" {
		return "The full report is in the job summary of the workflow run."
	}
	return fmt.Sprintf("Full report: [job summary of the workflow run](%s).", in.FullReportURL)
}

// cut shortens s to at most max bytes on a line boundary, closes an open
// code fence and appends a pointer to the full report.
func cut(s string, max int, link string) string {
	tail := "\n\n_Report cut to fit the size limit. " + link + "_\n"
	budget := max - len(tail) - len("```\n")
	if budget <= 0 {
		return s[:0]
	}
	s = s[:budget]
	if i := strings.LastIndexByte(s, '\n'); i > 0 {
		s = s[:i+1]
	}
	// Never leave a partial UTF-8 sequence (possible only when the text
	// had no line break to cut at).
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	if strings.Count(s, "```")%2 == 1 {
		s += "```\n"
	}
	return s + tail
}

// --- the head: verdict first -------------------------------------------

func renderHead(in Input) string {
	var b strings.Builder
	b.WriteString(Marker(in.ModelName()))
	b.WriteString("\n")
	ev, dr := in.Eval, in.Drift
	icon := map[string]string{"failure": "❌ ", "neutral": "⚠️ ", "success": "✅ "}[in.Conclusion()]
	if ev == nil && dr == nil {
		icon = ""
	}
	fmt.Fprintf(&b, "## %s%s\n\n", icon, esc(Headline(in)))
	if ev != nil {
		if fails := ev.Failures(); len(fails) > 0 {
			b.WriteString("**Failed:**\n")
			for _, f := range fails {
				fmt.Fprintf(&b, "- %s\n", esc(f))
			}
			if envFails := envOnlyFailures(ev); len(envFails) > 0 {
				for _, f := range envFails {
					fmt.Fprintf(&b, "- %s\n", esc(f))
				}
			}
			b.WriteString("\n")
		}
		b.WriteString(baselineLine(ev))
	}
	if dr != nil {
		b.WriteString(driftLine(dr))
		b.WriteString("\n")
	}
	return b.String()
}

// envOnlyFailures are the target environment's gate failures that no
// comparison carries (gates on metrics the spec does not list).
func envOnlyFailures(ev *eval.Result) []string {
	g, ok := ev.Environments[ev.Environment]
	if !ok {
		return nil
	}
	seen := map[string]bool{}
	for _, f := range ev.Failures() {
		seen[f] = true
	}
	var out []string
	for _, f := range g.Failures {
		metric, _, _ := strings.Cut(f, ":")
		covered := false
		for _, c := range ev.Comparisons {
			if c.Metric == metric && c.Verdict == eval.VerdictFail {
				covered = true
			}
		}
		if !covered && !seen[f] {
			out = append(out, f)
		}
	}
	return out
}

// Headline is the verdict in one plain line: the report's title and the
// check run's.
func Headline(in Input) string {
	ev, dr := in.Eval, in.Drift
	title := in.ModelName()
	if ev != nil && ev.Model.Version != "" {
		title += " " + ev.Model.Version
	}
	env := ""
	if ev != nil && ev.Environment != "" {
		env = " for " + ev.Environment
	}
	switch {
	case in.Conclusion() == "failure":
		return title + ": eval gates failed" + env
	case ev != nil && dr != nil && dr.DatasetDrift:
		return title + ": eval gates passed" + env + ", but the data drifted"
	case dr != nil && dr.DatasetDrift:
		return title + ": the data drifted"
	case ev != nil:
		return title + ": eval gates passed" + env
	case dr != nil:
		return title + ": no dataset drift"
	}
	return title
}

func baselineLine(ev *eval.Result) string {
	bl := ev.Baseline
	if bl == nil {
		return "**Baseline:** none: metrics were checked against absolute bounds only.\n\n"
	}
	parts := []string{}
	if bl.Environment != "" {
		parts = append(parts, "`"+escCode(bl.Environment)+"`")
	}
	if bl.Version != "" {
		parts = append(parts, esc(bl.Version))
	}
	if bl.Digest != "" {
		parts = append(parts, "`"+escCode(shortDigest(bl.Digest))+"`")
	}
	src := bl.Source
	if bl.Ref != "" && bl.Source == "registry" {
		src = "from `" + escCode(bl.Ref) + "`"
	} else if src != "" {
		src = "from " + esc(src)
	}
	if src != "" {
		parts = append(parts, "("+src+")")
	}
	return "**Baseline:** " + strings.Join(parts, " ") + "\n\n"
}

func driftLine(dr *drift.Result) string {
	drifted := 0
	for _, c := range dr.Columns {
		if c.Drift {
			drifted++
		}
	}
	share := ""
	if dr.ShareThreshold > 0 {
		share = fmt.Sprintf(", dataset drift at ≥ %s", num(dr.ShareThreshold))
	}
	verdict := "no dataset drift"
	if dr.DatasetDrift {
		verdict = "**dataset drift detected**"
	}
	return fmt.Sprintf("**Data drift:** %d of %d columns drifted (share %s%s): %s.\n", drifted, len(dr.Columns), num(dr.DriftShare), share, verdict)
}

func shortDigest(d string) string {
	if algo, hex, ok := strings.Cut(d, ":"); ok && len(hex) > 12 {
		return algo + ":" + hex[:12]
	}
	return d
}

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
			escCodeCell(c.Metric), arrow, optNum(c.Baseline), optNum(c.Current), optSigned(c.Delta), ci, verdictCell(c))
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
		return "❌ " + escCell(strings.Join(c.Failed, "; "))
	case eval.VerdictPass:
		return "✅ pass"
	}
	return "not gated"
}

func driftTable(dr *drift.Result, maxRows int) string {
	var b strings.Builder
	b.WriteString("### Data drift\n\n")
	if dr.Mode != "" && dr.Mode != "exact" {
		fmt.Fprintf(&b, "Statistics were computed in **%s** mode (bounded memory: binned, not exact).\n\n", esc(dr.Mode))
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
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", escCodeCell(c.Name), escCell(string(c.Type)), escCell(c.Test), score(c), threshold(c), verdict)
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
				names = append(names, "`"+escCode(u)+"`")
			}
			parts = append(parts, fmt.Sprintf("%d categories unseen in the reference (%d rows): %s", c.UnseenCount, c.UnseenRows, strings.Join(names, ", ")))
		}
		if c.Note != "" {
			parts = append(parts, esc(c.Note))
		}
		if len(parts) > 0 {
			lines = append(lines, fmt.Sprintf("- `%s`: %s", escCode(c.Name), strings.Join(parts, "; ")))
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

// --- details -----------------------------------------------------------------

func details(in Input) string {
	var lines []string
	if ev := in.Eval; ev != nil {
		if ev.Model.SpecDigest != "" {
			lines = append(lines, fmt.Sprintf("- Spec digest: `%s`", escCode(ev.Model.SpecDigest)))
		}
		if ev.Model.Digest != "" {
			lines = append(lines, fmt.Sprintf("- Artifact: `%s`", escCode(ev.Model.Digest)))
		}
		for _, d := range ev.Datasets {
			dg := "no digest"
			if d.Digest != "" {
				dg = "`" + escCode(d.Digest) + "`"
			}
			lines = append(lines, fmt.Sprintf("- Dataset `%s` (%s): `%s`, %s", escCode(d.Name), esc(d.Role), escCode(d.URI), dg))
		}
		for _, env := range sortedGateEnvs(ev) {
			g := ev.Environments[env]
			mark := "✅ passes"
			if !g.Passed {
				mark = "❌ fails: " + esc(strings.Join(g.Failures, "; "))
			}
			lines = append(lines, fmt.Sprintf("- Gates of `%s`: %s", escCode(env), mark))
		}
		for _, n := range ev.Notes {
			lines = append(lines, "- "+esc(n))
		}
	}
	if dr := in.Drift; dr != nil && (dr.Reference.Path != "" || dr.Current.Path != "") {
		lines = append(lines, fmt.Sprintf("- Drift: reference `%s` (%d rows), current `%s` (%d rows)", escCode(dr.Reference.Path), dr.Reference.Rows, escCode(dr.Current.Path), dr.Current.Rows))
	}
	if len(lines) == 0 {
		return ""
	}
	return "### Details\n\n" + strings.Join(lines, "\n") + "\n"
}

func sortedGateEnvs(ev *eval.Result) []string {
	out := make([]string, 0, len(ev.Environments))
	for k := range ev.Environments {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func renderFoot(in Input) string {
	if in.FullReportURL != "" {
		return fmt.Sprintf("<sub>Posted by mlship · [workflow run](%s)</sub>\n", in.FullReportURL)
	}
	return "<sub>Posted by mlship</sub>\n"
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

// esc neutralises Markdown and HTML in untrusted text (metric and column
// names, messages): it can neither break the layout nor hide content.
func esc(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '`', '*', '_', '[', ']', '<', '>', '|', '#', '!', '~', '&':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n', '\r':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// escCell is esc for a table cell.
func escCell(s string) string { return esc(s) }

// escCode makes s safe inside a single-backtick code span within a table.
func escCode(s string) string {
	s = strings.Map(func(r rune) rune {
		switch r {
		case '`':
			return '\''
		case '\n', '\r':
			return ' '
		}
		return r
	}, s)
	if s == "" {
		return " "
	}
	return s
}

// escCodeCell is escCode for a code span inside a table cell: GFM tables
// split on | even inside code spans unless it is escaped.
func escCodeCell(s string) string { return strings.ReplaceAll(escCode(s), "|", "\\|") }
