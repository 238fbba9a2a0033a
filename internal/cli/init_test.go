package cli

import (
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// gitIsolated runs git in dir with no global or system configuration, so a
// test sees neither the developer's excludes nor needs their identity.
func gitIsolated(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

// ignoredPaths parses `git status --porcelain --ignored`: the paths marked
// "!!" (a directory, with a trailing slash, when all of it is ignored).
func ignoredPaths(status string) []string {
	var ignored []string
	for _, line := range strings.Split(status, "\n") {
		if p, ok := strings.CutPrefix(line, "!! "); ok {
			ignored = append(ignored, strings.Trim(p, `"`))
		}
	}
	return ignored
}

func isIgnored(ignored []string, file string) bool {
	for _, p := range ignored {
		if p == file || (strings.HasSuffix(p, "/") && strings.HasPrefix(file, p)) {
			return true
		}
	}
	return false
}

// TestInitIgnoresOutputs: after `mlship init` in a git repository, what the
// training, the eval and the workflows write (model, metrics, run.json, eval
// and drift results, reports, plans) and private keys are ignored by git the
// moment they exist, while the spec, the public key and the workflows are not.
func TestInitIgnoresOutputs(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	for _, specDir := range []string{".", "models/churn"} {
		t.Run(specDir, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			gitIsolated(t, root, "init", "-q")
			code, stdout, stderr := mlship(t, nil, "init", root, "--name", "churn", "--repository", "ghcr.io/acme/churn", "--spec-dir", specDir)
			if code != 0 {
				t.Fatalf("init: exit %d\n%s%s", code, stdout, stderr)
			}
			in := func(p string) string { return path.Clean(path.Join(specDir, p)) }
			ignored := []string{
				in("model/weights.bin"), in("metrics.json"), in("run.json"), in("eval.json"),
				"eval-result.json", "eval-report.md", "drift.json", "report.md", "promote-plan.json", "promote-apply.json",
				"cosign.key", "keys/release.key", in("cosign.key"),
			}
			tracked := []string{in("model.cue"), in("mlship/environments.cue"), "cosign.pub", in("cosign.pub"), ".gitignore", ".github/workflows/mlship-pr.yml"}
			for _, f := range append(append([]string{}, ignored...), tracked...) {
				p := filepath.Join(root, filepath.FromSlash(f))
				if _, err := os.Stat(p); err == nil {
					continue
				}
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte("x\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			status := gitIsolated(t, root, "status", "--porcelain", "--ignored", "--untracked-files=all")
			got := ignoredPaths(status)
			for _, f := range ignored {
				if !isIgnored(got, f) {
					t.Errorf("%s is not ignored after mlship init: a `git add -A` commits it\ngit status:\n%s", f, status)
				}
			}
			for _, f := range tracked {
				if isIgnored(got, f) {
					t.Errorf("%s is ignored, but belongs in the repository\ngit status:\n%s", f, status)
				}
			}
		})
	}
}
