package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlship/mlship/internal/testenv"
)

// copyTree copies the regular files and directories under src to dst.
func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			return copyFile(p, target)
		}
		return nil // symlinks and devices: the example has none
	})
	if err != nil {
		t.Fatalf("copying %s to %s: %v", src, dst, err)
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// sourceSnapshot copies the files git would ship of the mlship checkout at
// root (tracked and untracked-but-not-ignored files: what a release tag
// holds, without .git, .cache/tools or bin/) into a temporary directory,
// the directory act resolves `mlship/mlship@v1` to. act copies that whole
// directory into the job for every `uses:` step, so the 300 MB of built
// tools in the checkout must stay out of it.
func sourceSnapshot(t testing.TB, root string) string {
	t.Helper()
	out := testenv.Run(t, root, "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	dst := filepath.Join(t.TempDir(), "mlship")
	n := 0
	for _, rel := range strings.Split(out, "\x00") {
		if rel == "" {
			continue
		}
		src := filepath.Join(root, filepath.FromSlash(rel))
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the working tree, or a symlink
		}
		if err := copyFile(src, filepath.Join(dst, filepath.FromSlash(rel))); err != nil {
			t.Fatalf("snapshotting the mlship source: %v", err)
		}
		n++
	}
	if n == 0 {
		t.Fatalf("snapshotting the mlship source: git ls-files listed nothing in %s", root)
	}
	return dst
}

// gitEnv makes commits reproducible and independent of the user's config.
var gitEnv = []string{
	"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
	"GIT_AUTHOR_NAME=octocat", "GIT_AUTHOR_EMAIL=octocat@users.noreply.github.com",
	"GIT_COMMITTER_NAME=GitHub", "GIT_COMMITTER_EMAIL=noreply@github.com",
}

// git runs git in dir and returns its trimmed standard output.
func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := testenv.Command(t, dir, "git", args...)
	cmd.Env = append(os.Environ(), gitEnv...)
	return strings.TrimSpace(testenv.RunCmd(t, cmd))
}

// commitAll commits every change in dir at a fixed time (so the SHAs are
// the same from run to run) and returns the new commit's SHA.
func commitAll(t testing.TB, dir, msg string, when time.Time) string {
	t.Helper()
	git(t, dir, "add", "-A")
	date := strconv.FormatInt(when.Unix(), 10) + " +0000"
	cmd := testenv.Command(t, dir, "git", "commit", "--quiet", "--no-verify", "-m", msg)
	cmd.Env = append(os.Environ(), append(gitEnv, "GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date)...)
	testenv.RunCmd(t, cmd)
	return git(t, dir, "rev-parse", "HEAD")
}

// goEnv returns `go env` values, to hand the build caches to the jobs.
func goEnv(t testing.TB, names ...string) map[string]string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"env", "-json"}, names...)...).Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	m := map[string]string{}
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("go env -json: %v", err)
	}
	return m
}

// hostEnv is the environment act (and so every step, in host mode) runs
// with: the test's own, less anything that would make the jobs believe they
// already run inside Actions or reuse an outer mlship, plus the Go caches so
// the setup action's `go build` and the trainer's `go run` reuse them.
func hostEnv(t testing.TB, extra ...string) []string {
	t.Helper()
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "GITHUB_"), strings.HasPrefix(k, "RUNNER_"), strings.HasPrefix(k, "ACTIONS_"),
			strings.HasPrefix(k, "INPUT_"), strings.HasPrefix(k, "MLSHIP_"), strings.HasPrefix(k, "COSIGN_"),
			k == "CI", k == "GOFLAGS", k == "GOTOOLCHAIN", k == "GOWORK":
			continue
		}
		env = append(env, kv)
	}
	for k, v := range goEnv(t, "GOCACHE", "GOMODCACHE", "GOPATH", "GOPROXY") {
		env = append(env, k+"="+v)
	}
	env = append(env, "GOTOOLCHAIN=local", "GOWORK=off")
	return append(env, extra...)
}

// actResult is one act run: its combined output and the steps it reported.
type actResult struct {
	Output string
	Err    error
	Wall   time.Duration
	Steps  []actStep
}

// actStep is a "Success - Main ..." or "Failure - Main ..." line of act.
type actStep struct {
	Job, Stage, Name string
	OK               bool
	Took             time.Duration
}

var stepLine = regexp.MustCompile(`^\[([^\]]+)\]\s+(✅|❌)\s+(Success|Failure) - (Pre|Main|Post) (.*?) \[([0-9][0-9.a-zµ]*)\]\s*$`)

func parseSteps(out string) []actStep {
	var steps []actStep
	for _, line := range strings.Split(out, "\n") {
		m := stepLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		d, _ := time.ParseDuration(m[6])
		steps = append(steps, actStep{Job: m[1], Stage: m[4], Name: m[5], OK: m[3] == "Success", Took: d})
	}
	return steps
}

// failureSummary lists the failed steps and the error lines around them, so
// that a failing test says what broke before the full log.
func (r *actResult) failureSummary() string {
	var b strings.Builder
	for _, s := range r.Steps {
		if !s.OK {
			fmt.Fprintf(&b, "  failed step: [%s] %s %s\n", s.Job, s.Stage, s.Name)
		}
	}
	// Step output lines ("[workflow/job]   | ...") that say what failed;
	// the scripts themselves are echoed in "⭐ Run" lines and left out.
	for _, line := range strings.Split(r.Output, "\n") {
		_, out, ok := strings.Cut(line, "]   | ")
		if !ok && strings.HasPrefix(line, "Error: ") {
			out, ok = line, true
		}
		if ok && (strings.Contains(out, "::error") || strings.Contains(out, "mlship: ") || strings.Contains(out, "Error") || strings.Contains(out, "error:")) {
			fmt.Fprintf(&b, "  %s\n", strings.TrimSpace(line))
		}
	}
	return b.String()
}

// writeSecrets writes an act --secret-file (dotenv: values double-quoted,
// newlines escaped) and returns its path.
func writeSecrets(t testing.TB, dir string, secrets map[string]string) string {
	t.Helper()
	keys := make([]string, 0, len(secrets))
	for k := range secrets {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	for _, k := range keys {
		v := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(secrets[k])
		fmt.Fprintf(&b, "%s=\"%s\"\n", k, v)
	}
	p := filepath.Join(dir, "secrets.env")
	if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
