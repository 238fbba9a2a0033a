package report

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/mlship/mlship/internal/drift"
	"github.com/mlship/mlship/internal/eval"
	"github.com/mlship/mlship/internal/oci"
)

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
	fmt.Fprintf(&b, "## %s%s\n\n", icon, Escape(Headline(in)))
	if ev != nil {
		if fails := ev.Failures(); len(fails) > 0 {
			b.WriteString("**Failed:**\n")
			for _, f := range fails {
				fmt.Fprintf(&b, "- %s\n", Escape(f))
			}
			if envFails := envOnlyFailures(ev); len(envFails) > 0 {
				for _, f := range envFails {
					fmt.Fprintf(&b, "- %s\n", Escape(f))
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
	b.WriteString(cardLine(in.Card))
	return b.String()
}

// cardLine links the candidate's model card ("" without one).
func cardLine(c *CardLink) string {
	if c == nil || c.Ref == "" {
		return ""
	}
	line := "📇 Model card of the candidate: `mlship card " + EscapeCode(c.Ref) + "`"
	if u, err := url.Parse(c.URL); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
		line += " · [MODEL_CARD.md](" + strings.NewReplacer("(", "%28", ")", "%29", " ", "%20").Replace(u.String()) + ")"
	}
	return line + "\n\n"
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
		parts = append(parts, "`"+EscapeCode(bl.Environment)+"`")
	}
	if bl.Version != "" {
		parts = append(parts, Escape(bl.Version))
	}
	if bl.Digest != "" {
		parts = append(parts, "`"+EscapeCode(oci.ShortDigest(bl.Digest))+"`")
	}
	src := bl.Source
	if bl.Ref != "" && bl.Source == "registry" {
		src = "from `" + EscapeCode(bl.Ref) + "`"
	} else if src != "" {
		src = "from " + Escape(src)
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
