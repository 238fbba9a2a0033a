package report

import (
	"strings"
	"unicode"
)

// zeroWidthSpace after an @ keeps GitHub from reading a mention, as
// Renovate and Dependabot do.
const zeroWidthSpace = "&#8203;"

// Escape neutralises Markdown, HTML and GitHub mentions in untrusted text
// (metric, column, model and environment names, messages) for a paragraph
// or a table cell: it can neither break the layout, hide content, link,
// embed an image nor notify anyone. Every renderer of untrusted names
// (report, promote plans, the demo, command summaries) uses it.
//
// It escapes what has effect anywhere in a line (\ ` * _ [ ] | ~ ! & >),
// a < that could open a tag, comment or autolink, a # at the start (a
// heading), and an @ that could start a mention; line breaks and other
// control characters become spaces. Plain text such as "0.87 < 0.9",
// "#7" or "iris@sha256:…" is left as written.
func Escape(s string) string {
	var b strings.Builder
	prev := ' '
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case strings.ContainsRune("\\`*_[]|~!&>", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '<' && i+1 < len(rs) && opensTag(rs[i+1]):
			b.WriteString(`\<`)
		case r == '#' && i == 0:
			b.WriteString(`\#`)
		case r == '@' && !isWord(prev):
			b.WriteString("@" + zeroWidthSpace)
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			r = ' '
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
		prev = r
	}
	return b.String()
}

// opensTag: after a <, what makes HTML, a comment or an autolink.
func opensTag(r rune) bool {
	return r == '/' || r == '!' || r == '?' || unicode.IsLetter(r)
}

func isWord(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// EscapeCode makes s safe inside a single-backtick code span (where
// backslashes are literal): backticks become quotes, line breaks spaces,
// and an empty span a space so that it renders.
func EscapeCode(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '`':
			return '\''
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			return ' '
		}
		return r
	}, s)
	if s == "" {
		return " "
	}
	return s
}

// EscapeCodeCell is EscapeCode for a code span inside a table cell: GFM
// tables split on | even inside code spans unless it is escaped.
func EscapeCodeCell(s string) string { return strings.ReplaceAll(EscapeCode(s), "|", "\\|") }
