package alert

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mlship/mlship/internal/ghapi"
	"github.com/mlship/mlship/internal/report"
)

// maxMetricColumns is how many metrics the history table shows.
const maxMetricColumns = 8

// Marker is the hidden first line of key's alert issue. Names are
// query-escaped, "-" included, so that no name can end the comment ("-->",
// "--!>") or imitate another key's fields.
func Marker(key Key) string {
	return "<!-- mlship:alert model=" + markerEscape(key.Model) + " environment=" + markerEscape(key.Environment) + " -->"
}

func markerEscape(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "-", "%2D") }

// Title is the alert issue's title.
func Title(key Key) string {
	return clip(fmt.Sprintf("mlship alert: %s in %s", key.Model, key.Environment), ghapi.MaxIssueTitle)
}

func isMarked(body string, key Key) bool {
	first, _, _ := strings.Cut(body, "\n")
	return strings.TrimSuffix(first, "\r") == Marker(key)
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// thousands writes n with comma separators.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// link renders an http(s) URL as a Markdown link, anything else as code.
func link(text, raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(raw, " ()<>`\"'[]\\\r\n\t") {
		return "`" + report.EscapeCode(raw) + "`"
	}
	return "[" + text + "](" + raw + ")"
}

func columnsCell(r row) string { return columnList(r, report.EscapeCodeCell) }

func columnList(r row, esc func(string) string) string {
	if r.DriftedCount == 0 {
		return "none"
	}
	parts := make([]string, 0, len(r.Drifted)+1)
	for _, c := range r.Drifted {
		parts = append(parts, "`"+esc(c)+"`")
	}
	if more := r.DriftedCount - len(r.Drifted); more > 0 {
		parts = append(parts, fmt.Sprintf("and %s more", thousands(int64(more))))
	}
	return strings.Join(parts, ", ")
}

// render writes the whole body for st, keeping as many of its last rows
// (up to history) as fit GitHub's limit.
func render(key Key, st *state, obs Observation, o options) string {
	keep := min(len(st.Rows), o.history)
	for {
		b := renderRows(key, st, obs, o, keep)
		if utf8.RuneCountInString(b) <= ghapi.MaxCommentBody || keep <= 1 {
			return ghapi.Truncate(b, ghapi.MaxCommentBody)
		}
		keep--
	}
}

func renderRows(key Key, full *state, obs Observation, o options, keep int) string {
	st := *full
	st.Rows = full.Rows[len(full.Rows)-keep:]
	var b strings.Builder
	b.WriteString(Marker(key) + "\n")
	b.WriteString(st.encode() + "\n\n")
	model, env := report.EscapeCode(key.Model), report.EscapeCode(key.Environment)
	fmt.Fprintf(&b, "## mlship alert: `%s` in `%s`\n\n", model, env)
	if len(st.Rows) == 0 {
		// Sync records the run before rendering; this only guards the renderer.
		st.Rows = []row{newRow(obs, obs.Time)}
	}
	last := st.Rows[len(st.Rows)-1]
	streak := 0
	for i := len(st.Rows) - 1; i >= 0 && st.Rows[i].Alert; i-- {
		streak++
	}
	if st.Episode == episodeActive {
		fmt.Fprintf(&b, "**Alerting** since %s (%d alerting run%s in a row).\n\n", stamp(st.Since), streak, plural(streak))
	} else {
		fmt.Fprintf(&b, "**Resolved** at %s: the sample is healthy again.\n\n", stamp(st.Resolved))
	}
	fmt.Fprintf(&b, "Latest run, %s: %s rows; ", stamp(last.Time), thousands(last.SampleSize))
	if last.DriftedCount == 0 {
		b.WriteString("no drifted column")
	} else {
		fmt.Fprintf(&b, "%s drifted column%s (%s)", thousands(int64(last.DriftedCount)), plural(last.DriftedCount), columnList(last, report.EscapeCode))
	}
	fmt.Fprintf(&b, "; dataset drift share %s.", report.Escape(last.Share))
	if last.Report != "" {
		b.WriteString(" " + link("Full report", last.Report) + ".")
	}
	if o.runURL != "" {
		b.WriteString(" " + link("Workflow run", o.runURL) + ".")
	}
	b.WriteString("\n")
	if obs.Digest != "" {
		fmt.Fprintf(&b, "\n%s runs `%s`.\n", "`"+env+"`", report.EscapeCode(clip(obs.Digest, 200)))
	}
	if len(obs.Reasons) > 0 {
		b.WriteString("\nWhy:\n")
		for i, r := range obs.Reasons {
			if i == maxColumnsPerRow {
				fmt.Fprintf(&b, "- … and %d more\n", len(obs.Reasons)-i)
				break
			}
			b.WriteString("- " + report.Escape(clip(r, 300)) + "\n")
		}
	}

	// The metrics shown: the first names over the rows kept.
	seen := map[string]bool{}
	var metrics []string
	for _, r := range st.Rows {
		for k := range r.Metrics {
			if !seen[k] {
				seen[k] = true
				metrics = append(metrics, k)
			}
		}
	}
	sort.Strings(metrics)
	if len(metrics) > maxMetricColumns {
		metrics = metrics[:maxMetricColumns]
	}
	fmt.Fprintf(&b, "\n### History (last %d run%s, newest first)\n\n", len(st.Rows), plural(len(st.Rows)))
	b.WriteString("| time | rows | drifted columns | drift share |")
	for _, m := range metrics {
		b.WriteString(" " + report.Escape(m) + " |")
	}
	b.WriteString(" alert |\n| --- | ---: | --- | ---: |")
	for range metrics {
		b.WriteString(" ---: |")
	}
	b.WriteString(" :---: |\n")
	for i := len(st.Rows) - 1; i >= 0; i-- {
		r := st.Rows[i]
		fmt.Fprintf(&b, "| %s | %s | %s | %s |", r.Time.UTC().Format("2006-01-02 15:04"), thousands(r.SampleSize), columnsCell(r), report.Escape(r.Share))
		for _, m := range metrics {
			v, ok := r.Metrics[m]
			if !ok {
				v = "—"
			}
			b.WriteString(" " + report.Escape(v) + " |")
		}
		if r.Alert {
			b.WriteString(" 🔴 |\n")
		} else {
			b.WriteString(" ✅ |\n")
		}
	}
	if st.Runs > len(st.Rows) {
		fmt.Fprintf(&b, "\n_%s runs recorded; older ones are not shown._\n", thousands(int64(st.Runs)))
	}
	b.WriteString("\n<sub>Maintained by `mlship monitor`: updated on every run, closed when the sample is healthy again, reopened if the alert comes back. Edits to this description are overwritten.</sub>\n")
	return b.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
