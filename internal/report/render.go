package report

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

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
	return "### " + Escape(title) + "\n\n_Omitted to fit the size limit; see the full report._\n"
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

// --- details -----------------------------------------------------------------

func details(in Input) string {
	var lines []string
	if ev := in.Eval; ev != nil {
		if ev.Model.SpecDigest != "" {
			lines = append(lines, fmt.Sprintf("- Spec digest: `%s`", EscapeCode(ev.Model.SpecDigest)))
		}
		if ev.Model.Digest != "" {
			lines = append(lines, fmt.Sprintf("- Artifact: `%s`", EscapeCode(ev.Model.Digest)))
		}
		for _, d := range ev.Datasets {
			dg := "no digest"
			if d.Digest != "" {
				dg = "`" + EscapeCode(d.Digest) + "`"
			}
			lines = append(lines, fmt.Sprintf("- Dataset `%s` (%s): `%s`, %s", EscapeCode(d.Name), Escape(d.Role), EscapeCode(d.URI), dg))
		}
		for _, env := range sortedGateEnvs(ev) {
			g := ev.Environments[env]
			mark := "✅ passes"
			if !g.Passed {
				mark = "❌ fails: " + Escape(strings.Join(g.Failures, "; "))
			}
			lines = append(lines, fmt.Sprintf("- Gates of `%s`: %s", EscapeCode(env), mark))
		}
		for _, n := range ev.Notes {
			lines = append(lines, "- "+Escape(n))
		}
	}
	if dr := in.Drift; dr != nil && (dr.Reference.Path != "" || dr.Current.Path != "") {
		lines = append(lines, fmt.Sprintf("- Drift: reference `%s` (%d rows), current `%s` (%d rows)", EscapeCode(dr.Reference.Path), dr.Reference.Rows, EscapeCode(dr.Current.Path), dr.Current.Rows))
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
