package scaffold_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlship/mlship/internal/pipeline"
	"github.com/mlship/mlship/internal/scaffold"
	"github.com/mlship/mlship/internal/testenv"
)

// TestStartersWork is what a newcomer does first: `mlship init --template
// X` in an empty git repository, then validate, train, eval --no-baseline,
// drift and package, with the mlship binary of this checkout. Every step must
// succeed as written, what they write must be ignored by git, and a second
// init must find every file unchanged.
func TestStartersWork(t *testing.T) {
	if testing.Short() {
		t.Skip("builds mlship and trains each starter; skipped under -short")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "mlship")
	build := testenv.Command(t, testenv.RepoRoot(t), "go", "build", "-o", bin, "./cmd/mlship")
	build.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	testenv.RunCmd(t, build)

	python := map[string][]string{"sklearn": {"sklearn", "joblib"}, "pytorch": {"torch"}}
	for _, tmpl := range scaffold.Templates() {
		t.Run(tmpl.Name, func(t *testing.T) {
			t.Parallel()
			env := cleanEnv()
			if mods, ok := python[tmpl.Name]; ok {
				env = append(env, "PATH="+testenv.PythonPATH(t, mods...))
			} else if tmpl.Python != nil {
				t.Fatalf("template %s needs Python (%s): add its modules to this test", tmpl.Name, tmpl.Python.Imports)
			}
			root := filepath.Join(t.TempDir(), "starter")
			if err := os.MkdirAll(root, 0o755); err != nil {
				t.Fatal(err)
			}
			run := func(args ...string) string {
				t.Helper()
				cmd := testenv.Command(t, root, bin, args...)
				cmd.Env = env
				start := time.Now()
				out := testenv.RunCmd(t, cmd)
				t.Logf("mlship %s: %s", args[0], time.Since(start).Round(time.Millisecond))
				return out
			}
			git := func(args ...string) string {
				t.Helper()
				cmd := testenv.Command(t, root, "git", args...)
				cmd.Env = append(env, "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
				return testenv.RunCmd(t, cmd)
			}
			git("init", "--quiet")

			args := []string{"init", "--repository", "localhost:5000/acme/starter"}
			if tmpl.Name != scaffold.DefaultTemplate {
				args = append(args, "--template", tmpl.Name)
			}
			out := run(args...)
			for _, want := range []string{"created   model.cue", "created   data/train.csv", "created   .gitignore", "created   .github/workflows/mlship-pr.yml"} {
				if !strings.Contains(out, want) {
					t.Errorf("init did not say %q:\n%s", want, out)
				}
			}

			if out := run("validate", "."); !strings.Contains(out, "ok   . (starter 0.1.0)") {
				t.Errorf("validate: %s", out)
			}
			run("train", ".")
			if out := run("eval", ".", "--no-baseline"); !strings.Contains(out, "passed") {
				t.Errorf("eval --no-baseline did not pass:\n%s", out)
			}
			if out := run("drift", "--spec", "."); !strings.Contains(out, "columns drifted") {
				t.Errorf("drift: %s", out)
			}
			// package writes the model card and the reference profile
			// into the spec directory: derived files, ignored too.
			run("package", ".", "oci:"+filepath.Join(t.TempDir(), "layout"))

			// Only what init wrote is left to commit: the outputs of the
			// steps above are ignored.
			status := git("status", "--porcelain", "--untracked-files=all")
			for _, line := range strings.Split(strings.TrimSpace(status), "\n") {
				p := strings.TrimPrefix(line, "?? ")
				if !strings.HasPrefix(line, "?? ") || (p != ".gitignore" && !strings.HasPrefix(p, ".github/") && !isStarterFile(p)) {
					t.Errorf("after validate/train/eval/drift, git sees %q: an output that .gitignore misses\n%s", line, status)
				}
			}
			for _, want := range []string{"model.cue", "data/train.csv", "mlship/environments.cue"} {
				if !strings.Contains(status, "?? "+want+"\n") {
					t.Errorf("git status does not list the starter's %s:\n%s", want, status)
				}
			}

			// A second init changes nothing, data files included.
			out = run(args...)
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				if line == "" || strings.HasPrefix(line, "next") || strings.HasPrefix(line, "then") {
					continue
				}
				if !strings.HasPrefix(line, "unchanged") {
					t.Errorf("a second init: %q, want every file unchanged\n%s", line, out)
					break
				}
			}
		})
	}
}

// isStarterFile reports whether p is a file a starter itself holds (its
// spec, code, data, environments file).
func isStarterFile(p string) bool {
	switch {
	case p == "model.cue", p == "go.mod", p == "requirements.txt", strings.HasSuffix(p, ".py"),
		strings.HasPrefix(p, "data/"), strings.HasPrefix(p, "trainer/"), strings.HasPrefix(p, "mlship/"):
		return true
	}
	return false
}

// cleanEnv is the process environment less what would make mlship believe
// it runs inside Actions, or the Go tool use another module or toolchain.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "GITHUB_"), strings.HasPrefix(k, "RUNNER_"), strings.HasPrefix(k, "ACTIONS_"),
			strings.HasPrefix(k, "INPUT_"), strings.HasPrefix(k, "MLSHIP_"), k == "CI", k == "GOFLAGS", k == "GOWORK", k == "GOTOOLCHAIN":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "GOWORK=off", "GOTOOLCHAIN=local", "GOFLAGS=")
}

func TestProfileFileIsPipelines(t *testing.T) {
	t.Parallel()
	if scaffold.ProfileFileForTest != pipeline.ProfileFile {
		t.Errorf("scaffold ignores %q, but mlship package writes the reference profile to %q", scaffold.ProfileFileForTest, pipeline.ProfileFile)
	}
}
