package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlship/mlship/examples/iris/irisml"
)

// TestMain lets the test binary double as the iris trainer the demo runs.
func TestMain(m *testing.M) {
	if os.Getenv("MLSHIP_DEMO_TEST_TRAINER") == "1" {
		if err := irisml.Main(os.Args[1:], os.Stdout); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestRun(t *testing.T) {
	t.Setenv("MLSHIP_DEMO_TEST_TRAINER", "1")
	dir := t.TempDir()
	var out, log bytes.Buffer
	sum, err := Run(context.Background(), Options{Dir: dir, Trainer: []string{os.Args[0]}, Out: &out, Log: &log})
	if err != nil {
		t.Fatalf("demo failed: %v\noutput:\n%s\nlog:\n%s", err, out.String(), log.String())
	}
	for _, stage := range []string{"registry", "setup", "validate", "keygen", "baseline", "train", "eval", "drift", "package", "sign", "report", "promote", "pull"} {
		if !strings.Contains(out.String(), "\n"+stage+" ") && !strings.HasPrefix(out.String(), stage+" ") {
			t.Errorf("no %s stage line in:\n%s", stage, out.String())
		}
	}
	if strings.Count(out.String(), "\npromote ") != 3 {
		t.Errorf("want three promotions (dev, staging, prod):\n%s", out.String())
	}
	if !sum.EvalPassed {
		t.Errorf("the new model did not pass eval")
	}
	for _, env := range []string{"dev", "staging", "prod"} {
		if sum.Environments[env] != sum.Digest {
			t.Errorf("%s runs %s, want %s", env, sum.Environments[env], sum.Digest)
		}
	}
	if sum.Deployments != 3 {
		t.Errorf("%d deployments recorded, want 3", sum.Deployments)
	}
	// The pulled model is the trained one, byte for byte.
	for _, f := range []string{"model/weights.json", "model/config.json"} {
		a, err1 := os.ReadFile(filepath.Join(dir, "iris", f))
		b, err2 := os.ReadFile(filepath.Join(sum.Pulled, f))
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			t.Errorf("%s: pulled copy differs from the trained one (%v %v)", f, err1, err2)
		}
	}
	rep, err := os.ReadFile(sum.Report)
	if err != nil || !bytes.Contains(rep, []byte("<!-- mlship:report:iris -->")) {
		t.Errorf("report %s lacks the sticky marker (%v)", sum.Report, err)
	}
	var ev map[string]any
	b, _ := os.ReadFile(filepath.Join(dir, "eval-result.json"))
	if err := json.Unmarshal(b, &ev); err != nil || ev["baseline"] == nil {
		t.Errorf("eval result has no baseline: %v", err)
	}
	// git holds one commit per promotion on top of the baseline's.
	log2, err := exec.Command("git", "-C", filepath.Join(dir, "iris"), "log", "--format=%s").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(log2), "Promote iris 1.0.0 to "); got != 3 {
		t.Errorf("git log has %d promotion commits, want 3:\n%s", got, log2)
	}
}
