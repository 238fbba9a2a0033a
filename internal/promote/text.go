package promote

import (
	"fmt"
	"strings"
)

// Text is the plan for a terminal or a CI log: the verdict, the policy
// change if any, and per environment each rule's mark and detail.
func (pl *Plan) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "promote %s %s: %s..%s: %s\n", pl.Mode, pl.Model, shortOrNone(pl.Base), shortOrNone(pl.Head), pl.Verdict())
	if d := pl.PolicyChange; d != nil {
		fmt.Fprintf(&b, "policy change (%s..%s): this change edits the promotion policy; it is judged by the policy at %s\n", shortOrNone(d.Base), shortOrNone(d.Head), shortOrNone(pl.PolicyCommit))
		for _, c := range d.Changes {
			fmt.Fprintf(&b, "  %s: %s -> %s\n", c.Path, orDash(c.Before), orDash(c.After))
		}
	}
	mark := map[Status]string{Pass: "ok  ", Fail: "FAIL", Pending: "wait", Skip: "skip"}
	for _, e := range pl.Envs {
		from := e.From
		if from == "" {
			from = "(none)"
		}
		fmt.Fprintf(&b, "%s: %s -> %s", e.Environment, from, e.To)
		if e.Outcome != "" {
			fmt.Fprintf(&b, " [%s]", e.Outcome)
		}
		b.WriteString("\n")
		for _, r := range e.Rules {
			fmt.Fprintf(&b, "  %s %s: %s\n", mark[r.Status], r.Name, r.Detail)
		}
		if e.Note != "" {
			fmt.Fprintf(&b, "  note: %s\n", e.Note)
		}
		if e.Record != nil {
			fmt.Fprintf(&b, "  record: %s\n", e.Record.Text())
		}
	}
	return b.String()
}

// Moved lists the environments whose tag the apply moved.
func (pl *Plan) Moved() []string {
	var out []string
	for _, e := range pl.Envs {
		if e.Outcome == Moved {
			out = append(out, e.Environment)
		}
	}
	return out
}

// Environments lists the environments the plan covers.
func (pl *Plan) Environments() []string {
	var out []string
	for _, e := range pl.Envs {
		out = append(out, e.Environment)
	}
	return out
}

// shortOrNone abbreviates a commit to 12 characters, "(none)" when empty.
func shortOrNone(sha string) string {
	if sha == "" {
		return "(none)"
	}
	return short(sha)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
