package ghapi

import "unicode/utf8"

// GitHub's size limits, in characters (Unicode code points).
const (
	MaxCommentBody         = 65536 // issue and pull request comments, pull request bodies
	MaxCheckRunSummary     = 65535 // check run output.summary
	MaxCheckRunText        = 65535 // check run output.text
	MaxAnnotationsPerCall  = 50    // annotations per check run request
	MaxDeploymentStatusDes = 140   // deployment status description
)

// TruncatedNote ends a body cut to fit a limit. Callers (internal/report)
// should trim sections themselves and point at the full report; this is
// the last safety net so that a post never fails on size.
const TruncatedNote = "\n\n… (truncated by mlship to fit GitHub's size limit; see the job summary for the full report)"

// Truncate returns s cut to at most limit characters, ending with
// TruncatedNote when it was cut. It never splits a UTF-8 sequence.
func Truncate(s string, limit int) string { return cut(s, limit, TruncatedNote) }

// truncateShort cuts one-line fields (descriptions, titles) with "…".
func truncateShort(s string, limit int) string { return cut(s, limit, "…") }

func cut(s string, limit int, note string) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	keep := limit - utf8.RuneCountInString(note)
	if keep < 0 {
		note, keep = "", limit
	}
	n := 0
	for i := range s {
		if n == keep {
			return s[:i] + note
		}
		n++
	}
	return s + note
}

// truncateBytes cuts s to at most limit bytes on a rune boundary (GitHub
// measures annotation messages in bytes: 64 KB).
func truncateBytes(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	i := limit
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}
