package promote

import (
	"fmt"
	"strings"

	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/report"
)

var statusIcon = map[Status]string{Pass: "✅", Fail: "❌", Pending: "⏳", Skip: "➖"}

// Verdict is the plan's one-line result.
func (pl *Plan) Verdict() string {
	switch {
	case len(pl.Envs) == 0:
		return "no environment changes"
	case pl.hasFail():
		return "refused"
	case !pl.OK:
		return "refused: " + pendingWhat(pl) + " missing"
	case pl.Pending:
		return "waiting for " + pendingWhat(pl)
	case pl.Mode == ModeApply:
		return "applied"
	}
	return "ready to merge"
}

func (pl *Plan) hasFail() bool {
	for _, e := range pl.Envs {
		for _, r := range e.Rules {
			if r.Status == Fail {
				return true
			}
		}
	}
	return false
}

func pendingWhat(pl *Plan) string {
	for _, e := range pl.Envs {
		for _, r := range e.Rules {
			if r.Status == Pending {
				return r.Name
			}
		}
	}
	return "approvals"
}

// Conclusion is the check run conclusion: failure when a rule fails,
// action_required while approvals are pending, else success.
func (pl *Plan) Conclusion() string {
	for _, e := range pl.Envs {
		for _, r := range e.Rules {
			if r.Status == Fail || (pl.Mode == ModeApply && r.Status == Pending) {
				return "failure"
			}
		}
	}
	if pl.Pending {
		return "action_required"
	}
	return "success"
}

// Title is the check run title.
func (pl *Plan) Title() string {
	if len(pl.Envs) == 0 {
		return pl.Model + ": no environment changes"
	}
	var moves []string
	for _, e := range pl.Envs {
		moves = append(moves, e.Environment+" → "+oci.ShortDigest(e.To))
	}
	return fmt.Sprintf("%s: %s (%s)", pl.Model, strings.Join(moves, ", "), pl.Verdict())
}

// Markdown renders the plan for the sticky report, the check run and the
// promotion pull request's body: what moves where, and each rule's result.
func (pl *Plan) Markdown() string {
	var b strings.Builder
	icon := "✅"
	switch {
	case len(pl.Envs) == 0:
		icon = "➖"
	case !pl.OK:
		icon = "❌"
	case pl.Pending:
		icon = "⏳"
	}
	fmt.Fprintf(&b, "### %s Promotion %s: `%s` — %s\n\n", icon, pl.Mode, report.EscapeCode(pl.Model), pl.Verdict())
	fmt.Fprintf(&b, "Desired state `%s`: `%s` → `%s`; registry `%s`.\n\n", report.EscapeCode(pl.File), short(pl.Base), short(pl.Head), report.EscapeCode(pl.Repository))
	policyMarkdown(&b, pl)
	if len(pl.Envs) == 0 {
		b.WriteString("No environment's digest changes between these commits: nothing to promote.\n")
		return b.String()
	}
	b.WriteString("| environment | tag | from | to | version | result |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, e := range pl.Envs {
		res := "✅ ready"
		if pl.Mode == ModeApply && e.Outcome != "" {
			res = "✅ " + string(e.Outcome)
		}
		if r, ok := firstWith(e.Rules, Fail); ok {
			res = "❌ " + r.Name
		} else if r, ok := firstWith(e.Rules, Pending); ok {
			res = "⏳ " + r.Name
		}
		fmt.Fprintf(&b, "| **%s** | `%s` | %s | `%s` | %s | %s |\n", report.Escape(e.Environment), report.EscapeCodeCell(e.Tag), codeOrNone(oci.ShortDigest(e.From)), oci.ShortDigest(e.To), dash(e.Version), res)
	}
	for _, e := range pl.Envs {
		fmt.Fprintf(&b, "\n**%s** → `%s`\n\n| rule | result | detail |\n| --- | --- | --- |\n", report.Escape(e.Environment), report.EscapeCode(e.To))
		for _, r := range e.Rules {
			fmt.Fprintf(&b, "| `%s` | %s %s | %s |\n", r.Name, statusIcon[r.Status], r.Status, report.Escape(r.Detail))
		}
		if e.Note != "" {
			fmt.Fprintf(&b, "\n> %s\n", report.Escape(e.Note))
		}
		if e.Record != nil {
			fmt.Fprintf(&b, "\n🔏 %s\n", report.Escape(e.Record.Text()))
		}
	}
	return b.String()
}

// codeOrNone is a code span for a table cell, or a dash for nothing.
func codeOrNone(s string) string {
	if s == "" {
		return "—"
	}
	return "`" + report.EscapeCodeCell(s) + "`"
}

func dash(s string) string {
	if s == "" {
		return "—"
	}
	return report.Escape(s)
}

func firstWith(rules []Rule, st Status) (Rule, bool) {
	for _, r := range rules {
		if r.Status == st {
			return r, true
		}
	}
	return Rule{}, false
}

// policyMarkdown shows reviewers what a change does to the promotion
// policy: the fields, before and after.
func policyMarkdown(b *strings.Builder, pl *Plan) {
	d := pl.PolicyChange
	if d == nil {
		return
	}
	fmt.Fprintf(b, "#### Policy change\n\nThis change edits the promotion policy read from the main branch (`%s` → `%s`). ", short(d.Base), short(d.Head))
	if len(pl.Envs) > 0 {
		b.WriteString("It also promotes, so it is refused (`policy-change`): change the policy in one PR, promote in another.\n\n")
	} else {
		b.WriteString("It promotes nothing; once merged, later promotions are judged by it.\n\n")
	}
	b.WriteString("| policy field | before | after |\n| --- | --- | --- |\n")
	for _, c := range d.Changes {
		fmt.Fprintf(b, "| `%s` | %s | %s |\n", report.EscapeCodeCell(c.Path), codeOrNone(c.Before), codeOrNone(c.After))
	}
	b.WriteString("\n")
}
