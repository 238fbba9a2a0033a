package report

import (
	"strings"
	"testing"
)

// hostileNames are untrusted names (metrics, columns, models, messages)
// that try to break out of their place in a rendered report.
var hostileNames = []string{
	"a|b|c",
	"x`y``z",
	"<img src=x onerror=alert(1)>",
	"<script>alert(1)</script>",
	"<!-- mlship:report:iris -->",
	"@octocat please look",
	"ping @acme/security-team",
	"two\nlines\r\n## heading",
	"[click](https://evil.example/)",
	"![pixel](https://evil.example/p.png)",
	"<https://evil.example/>",
	"**bold** _em_ ~~gone~~",
	"&lt;b&gt; &#64;octocat",
	"# heading",
	"back\\slash",
}

func TestEscapeHostileNames(t *testing.T) {
	t.Parallel()
	for _, name := range hostileNames {
		got := Escape(name)
		for _, bad := range []string{"\n", "\r", "<img", "<script", "<!--", "](", "<https"} {
			if unescaped(got, bad) {
				t.Errorf("Escape(%q) = %q still holds %q", name, got, bad)
			}
		}
		if bare := strings.ReplaceAll(got, zeroWidthSpace, ""); strings.Contains(strings.ReplaceAll(bare, `\&`, ""), "&") {
			t.Errorf("Escape(%q) = %q leaves an entity", name, got)
		}
		if strings.HasPrefix(got, "#") {
			t.Errorf("Escape(%q) = %q starts a heading", name, got)
		}
		for i := 0; i < len(got); i++ {
			if strings.ContainsRune("|`*_[]~", rune(got[i])) && (i == 0 || got[i-1] != '\\') {
				t.Errorf("Escape(%q) = %q leaves %q unescaped at %d", name, got, got[i], i)
			}
		}
		if strings.Contains(name, "@") && (strings.Contains(got, " @a") || strings.Contains(got, " @o") || strings.HasPrefix(got, "@o")) {
			t.Errorf("Escape(%q) = %q leaves a mention", name, got)
		}
		code := EscapeCodeCell(name)
		if strings.ContainsAny(code, "`\n\r") || strings.Contains(strings.ReplaceAll(code, `\|`, ""), "|") {
			t.Errorf("EscapeCodeCell(%q) = %q breaks out of its code span or cell", name, code)
		}
	}
}

// TestEscapeKeepsPlainText: what needs no escaping stays as written, so
// refusal details read naturally.
func TestEscapeKeepsPlainText(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"accuracy 0.87 < 0.9":                    "accuracy 0.87 < 0.9",
		"approval(s) on #7 from alice":           "approval(s) on #7 from alice",
		"ghcr.io/acme/iris@sha256:abc (v 1.2.0)": "ghcr.io/acme/iris@sha256:abc (v 1.2.0)",
		"log_loss":                               `log\_loss`,
		"":                                       "",
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
	if got := EscapeCode(""); got != " " {
		t.Errorf("EscapeCode(\"\") = %q: an empty code span does not render", got)
	}
}

// unescaped reports whether s holds bad with its first character not
// backslash-escaped.
func unescaped(s, bad string) bool {
	for i := 0; i+len(bad) <= len(s); i++ {
		if s[i:i+len(bad)] == bad && (i == 0 || s[i-1] != '\\') {
			return true
		}
	}
	return false
}

// outsideCode drops fenced blocks and code spans, where text is literal.
func outsideCode(md string) string {
	var b strings.Builder
	fenced := false
	for _, line := range strings.SplitAfter(md, "\n") {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		parts := strings.Split(line, "`")
		for i := 0; i < len(parts); i += 2 {
			b.WriteString(parts[i])
		}
	}
	return b.String()
}

// TestRenderEscapesHostileNames renders a report whose model, column,
// category and note texts are hostile: none survives as Markdown or HTML.
func TestRenderEscapesHostileNames(t *testing.T) {
	t.Parallel()
	for _, name := range hostileNames {
		dr := driftResult(5, 2)
		dr.Columns[0].Name = name
		dr.Columns[1].Note = name
		dr.Columns[4].UnseenCategories = []string{name}
		full, err := Render(Input{Model: name, Drift: dr}, NoLimits)
		if err != nil {
			t.Fatal(err)
		}
		md := outsideCode(full)
		for _, bad := range []string{"<img", "<script", "<https", "](https", "<!-- mlship:report:iris", "\n## heading"} {
			if unescaped(md, bad) {
				t.Errorf("report for %q holds %q:\n%s", name, bad, md)
			}
		}
		if strings.Contains(md, "@octocat") || strings.Contains(md, "@acme/") {
			t.Errorf("report for %q holds a mention:\n%s", name, md)
		}
	}
}
