package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlship/mlship/internal/testenv"
)

// BenchmarkStepOverhead measures what a mlship/mlship step costs before
// mlship does any work, with the binary already in the runner's tool cache:
// the setup script every action starts with (actions/setup/install.sh),
// then `mlship version` (the binary's start-up).
//
//   - new-job: the first mlship step of a job: install.sh keys the source
//     tree and finds the cached build;
//   - same-job: a later step: MLSHIP_BIN from the first one is reused;
//   - version-only: `mlship version` alone, for comparison.
//
// Run it with: go test -run '^$' -bench StepOverhead -benchtime 20x ./e2e
func BenchmarkStepOverhead(b *testing.B) {
	src := sourceSnapshot(b, testenv.RepoRoot(b))
	install := filepath.Join(src, "actions", "setup", "install.sh")
	cache := b.TempDir()
	base := hostEnv(b, "RUNNER_TOOL_CACHE="+cache, "MLSHIP_VERSION=source")

	// One build into the tool cache, outside the measurement.
	envFile := filepath.Join(b.TempDir(), "github_env")
	setup(b, install, append(base, "GITHUB_ENV="+envFile))
	raw, err := os.ReadFile(envFile)
	if err != nil {
		b.Fatal(err)
	}
	jobEnv := strings.Fields(string(raw)) // MLSHIP_BIN=..., MLSHIP_BIN_VERSION=..., MLSHIP_BIN_SOURCE=...
	var bin string
	for _, kv := range jobEnv {
		if v, ok := strings.CutPrefix(kv, "MLSHIP_BIN="); ok {
			bin = v
		}
	}
	if bin == "" {
		b.Fatalf("install.sh wrote no MLSHIP_BIN to GITHUB_ENV:\n%s", raw)
	}

	for _, bc := range []struct {
		name string
		env  []string
	}{
		{"new-job", base},
		{"same-job", append(append([]string{}, base...), jobEnv...)},
		{"version-only", nil},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if bc.env == nil { // the binary's start-up alone
				for b.Loop() {
					if out, err := exec.Command(bin, "version").CombinedOutput(); err != nil {
						b.Fatalf("%s version: %v\n%s", bin, err, out)
					}
				}
				return
			}
			dir := b.TempDir()
			env := append(bc.env, "GITHUB_ENV="+filepath.Join(dir, "env"), "GITHUB_PATH="+filepath.Join(dir, "path"),
				"GITHUB_OUTPUT="+filepath.Join(dir, "output"))
			for b.Loop() {
				if got := setup(b, install, env); got != bin {
					b.Fatalf("install.sh installed %s, want the cached %s", got, bin)
				}
				cmd := exec.Command(bin, "version")
				cmd.Env = env
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("%s version: %v\n%s", bin, err, out)
				}
			}
		})
	}
}

// setup runs install.sh and returns the binary it published.
func setup(tb testing.TB, install string, env []string) string {
	tb.Helper()
	f, err := os.CreateTemp("", "mlship-e2e-output")
	if err != nil {
		tb.Fatal(err)
	}
	f.Close()
	defer os.Remove(f.Name())
	cmd := exec.Command("bash", install)
	cmd.Env = append(env, "GITHUB_OUTPUT="+f.Name())
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("%s: %v\n%s", install, err, out)
	}
	raw, err := os.ReadFile(f.Name())
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "path="); ok {
			return v
		}
	}
	tb.Fatalf("install.sh set no path output:\n%s", raw)
	return ""
}
