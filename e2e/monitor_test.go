package e2e

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlship/mlship/internal/cli"
	"github.com/mlship/mlship/internal/iostreams"
	"github.com/mlship/mlship/internal/sign"
	"github.com/mlship/mlship/internal/testenv"
)

// TestIrisMonitorWorkflow runs examples/iris's monitor.yml with act on a
// schedule event against the Distribution registry and the GitHub
// emulator, with the training data absent from the runner: a drifted
// sample opens exactly one alert issue, a second drifted run updates it,
// a healthy sample closes it.
func TestIrisMonitorWorkflow(t *testing.T) {
	if testing.Short() {
		t.Skip("runs act three times")
	}
	h := newHarness(t)
	// The model dev runs: packaged and signed here (training is not what
	// this test is about), with the key the spec names.
	const pw = "monitor-password"
	priv, pub, err := sign.GenerateKeyPair([]byte(pw))
	if err != nil {
		t.Fatal(err)
	}
	keyDir := t.TempDir()
	writeFile(t, filepath.Join(keyDir, "cosign.key"), string(priv))
	writeFile(t, filepath.Join(h.repo, "cosign.pub"), string(pub))
	writeFile(t, filepath.Join(h.repo, "model", "weights.json"), `{"weights":[[0.1,0.2],[0.3,0.4]]}`)
	writeFile(t, filepath.Join(h.repo, "model", "config.json"), `{"classes":["setosa","versicolor","virginica"]}`)
	env := map[string]string{"COSIGN_PASSWORD": pw, "MLSHIP_CACHE_DIR": t.TempDir()}
	ref := h.repository() + ":dev"
	monitorCLI(t, env, "push", h.repo, "--repository", h.repository(), "--tag", "dev")
	monitorCLI(t, env, "sign", ref, "--key", filepath.Join(keyDir, "cosign.key"))

	// The runner holds neither the training data nor the profile push
	// wrote: monitor must read the one in the artifact.
	healthy, err := os.ReadFile(filepath.Join(h.repo, "data", "current.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"data/train.csv", "reference-profile.json", "MODEL_CARD.md", "model"} {
		if err := os.RemoveAll(filepath.Join(h.repo, filepath.FromSlash(p))); err != nil {
			t.Fatal(err)
		}
	}
	sha := commitAll(t, h.repo, "monitor the dev environment", t0)
	drifted := shiftCSV(t, healthy, 3)

	steps := []struct {
		name, sample, action, state string
	}{
		{"drifted", drifted, "opened", "open"},
		{"drifted again", drifted, "updated", "open"},
		{"healthy", string(healthy), "closed", "closed"},
	}
	for i, s := range steps {
		writeFile(t, filepath.Join(h.repo, "data", "current.csv"), s.sample)
		out := runSchedule(t, h, "monitor.yml", sha, 900+i)
		issues := h.gh.Issues(owner, repoName)
		if len(issues) != 1 {
			t.Fatalf("%s: %d issues, want exactly one: %+v\n%s", s.name, len(issues), issues, out)
		}
		is := issues[0]
		if is.State != s.state || !strings.Contains(is.Body, "mlship:alert") {
			t.Fatalf("%s: issue #%d state %s, want %s; body:\n%s", s.name, is.Number, is.State, s.state, is.Body)
		}
		wantAlert := s.state == "open"
		if !strings.Contains(out, fmt.Sprintf("alert=%v", wantAlert)) {
			t.Errorf("%s: the workflow's outcome step does not show alert=%v:\n%s", s.name, wantAlert, out)
		}
		t.Logf("%s: issue #%d %s (%s)", s.name, is.Number, s.action, is.State)
	}
	body := h.gh.Issues(owner, repoName)[0].Body
	if n := strings.Count(body, "sepal_length"); n < 2 {
		t.Errorf("the issue's history lists the drifted column %d times, want at least 2 (two drifted runs):\n%s", n, body)
	}
}

// monitorCLI runs mlship in-process and fails the test on a non-zero exit.
func monitorCLI(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	ios, out, errOut := iostreams.Test(env)
	if code := cli.Execute(context.Background(), cli.NewFactory(ios, "test"), args); code != 0 {
		t.Fatalf("mlship %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out.String()
}

// shiftCSV adds d to every numeric field of a CSV file's data rows.
func shiftCSV(t *testing.T, b []byte, d float64) string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	w := csv.NewWriter(&sb)
	for i, r := range recs {
		if i > 0 {
			for j, f := range r {
				if v, err := strconv.ParseFloat(f, 64); err == nil {
					r[j] = strconv.FormatFloat(v+d, 'f', 2, 64)
				}
			}
		}
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	return sb.String()
}

// runSchedule runs a workflow of the example with act for a schedule event
// (GitHub sends no webhook for it, so there is no payload schema to check:
// the event is {"schedule": CRON}), monitoring the dev environment through
// the MLSHIP_MONITOR_ENVIRONMENT variable. It returns act's output and
// fails the test when act fails.
func runSchedule(t *testing.T, h *harness, workflow, sha string, runID int) string {
	t.Helper()
	ev := filepath.Join(t.TempDir(), "schedule.json")
	writeFile(t, ev, `{"schedule": "17 6 * * *"}`)
	args := []string{"schedule",
		"-W", filepath.Join(".github", "workflows", workflow),
		"-e", ev,
		"-P", "ubuntu-latest=-self-hosted",
		"--local-repository", "mlship/mlship@v1=" + h.src,
		"--action-cache-path", h.cache,
		"--action-offline-mode",
		"--no-cache-server",
		"--secret-file", h.secrets,
		"--var", "MLSHIP_REPOSITORY=" + h.repository(),
		"--var", "MLSHIP_MONITOR_ENVIRONMENT=dev",
		"--env", "GITHUB_API_URL=" + strings.TrimSuffix(h.gh.URL, "/"),
		"--env", "GITHUB_REPOSITORY=" + owner + "/" + repoName,
		"--env", "GITHUB_REPOSITORY_OWNER=" + owner,
		"--env", "GITHUB_RUN_ID=" + fmt.Sprint(runID),
		"--env", "GITHUB_RUN_ATTEMPT=1",
		"--env", "GITHUB_WORKFLOW_REF=" + owner + "/" + repoName + "/.github/workflows/" + workflow + "@refs/heads/main",
		"--env", "GITHUB_WORKFLOW_SHA=" + sha,
	}
	cmd := testenv.Command(t, h.repo, h.act, args...)
	cmd.Env = h.env
	start := time.Now()
	out, errOut, err := testenv.TryCmd(t, cmd)
	if err != nil {
		t.Logf("act output:\n%s%s", out, errOut)
		t.Fatalf("act schedule -W %s failed after %s: %v", workflow, time.Since(start).Round(time.Second), err)
	}
	t.Logf("act schedule -W %s: %s", workflow, time.Since(start).Round(time.Millisecond))
	return out + errOut
}
