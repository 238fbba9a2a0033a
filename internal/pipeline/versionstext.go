package pipeline

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/mlship/mlship/internal/oci"
)

// maxMetricColumns keeps the text table within a terminal's width; JSON
// has them all.
const maxMetricColumns = 4

// WriteText writes the versions as a table: the sort metric first, then
// the others by name, at most maxMetricColumns.
func (res *VersionsResult) WriteText(out io.Writer) error {
	names := map[string]bool{}
	for _, v := range res.Versions {
		for k := range v.Metrics {
			names[k] = true
		}
	}
	var cols []string
	if res.Sort != nil {
		cols = append(cols, res.Sort.Metric)
		delete(names, res.Sort.Metric)
	}
	cols = append(cols, sortedSet(names)...)
	hidden := 0
	if len(cols) > maxMetricColumns {
		hidden = len(cols) - maxMetricColumns
		cols = cols[:maxMetricColumns]
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprint(w, "DIGEST\tVERSION\tTAGS\tCREATED")
	for _, c := range cols {
		fmt.Fprintf(w, "\t%s", strings.ToUpper(clip(c, 16)))
	}
	fmt.Fprintln(w, "\tSIGNED\tVERIFIED\tENV")
	for _, v := range res.Versions {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s", oci.ShortDigest(v.Digest), clip(Dash(v.Version), 16), tagList(v.Tags, 3), Dash(day(v.Created)))
		for _, c := range cols {
			if x, ok := v.Metrics[c]; ok {
				fmt.Fprintf(w, "\t%.4g", x)
			} else {
				fmt.Fprint(w, "\t-")
			}
		}
		fmt.Fprintf(w, "\t%s\t%s\t%s\n", yesNo(v.Signed), yesNo(v.Verified), Dash(strings.Join(v.Environments, ",")))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	var notes []string
	if hidden > 0 {
		notes = append(notes, fmt.Sprintf("%d more metrics: --output json lists them", hidden))
	}
	if len(res.Versions) < res.Total {
		notes = append(notes, fmt.Sprintf("%d of %d versions shown (--limit)", len(res.Versions), res.Total))
	}
	if res.Policy == "" {
		notes = append(notes, "metrics not verified: give --key or --spec to verify them")
	}
	for _, n := range notes {
		fmt.Fprintln(out, n)
	}
	return nil
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func tagList(tags []string, n int) string {
	if len(tags) == 0 {
		return "-"
	}
	shown := make([]string, 0, n)
	for i, t := range tags {
		if i == n {
			break
		}
		shown = append(shown, clip(t, 20))
	}
	s := strings.Join(shown, ",")
	if len(tags) > n {
		s += fmt.Sprintf(",+%d", len(tags)-n)
	}
	return s
}

func day(created string) string {
	if len(created) >= 10 {
		return created[:10]
	}
	return created
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
