package train_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/train"
	"github.com/mlship/mlship/internal/train/lineage"
)

// TestRunContextRecorded: the runner and CI facts in run.json come from
// the run context passed in (a gha.Env), not from the process environment
// or the training's environment list; without one they are read from the
// environment list given with WithEnv, through gha.
func TestRunContextRecorded(t *testing.T) {
	t.Parallel()
	run := gha.Env{Repository: "acme/iris", SHA: "abc", Ref: "refs/heads/main", RunID: "7", RunAttempt: "1",
		WorkflowRef: "acme/iris/.github/workflows/t.yml@refs/heads/main", Job: "train", ServerURL: "https://github.com",
		RunnerName: "gpu-1", RunnerEnvironment: "self-hosted", RunnerLabels: "self-hosted,gpu"}
	wantCI := map[string]string{gha.VarRepository: "acme/iris", gha.VarSHA: "abc", gha.VarRef: "refs/heads/main", gha.VarRunID: "7",
		gha.VarRunAttempt: "1", gha.VarWorkflowRef: "acme/iris/.github/workflows/t.yml@refs/heads/main", gha.VarJob: "train",
		gha.VarServerURL: "https://github.com"}

	m := shellSpec(t, okScript)
	// The environment list says otherwise: the run context wins.
	res, err := train.Run(context.Background(), m, train.WithEnv(baseEnv(gha.VarRunnerName+"=other", gha.VarRepository+"=x/y")), train.WithRunContext(run))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := lineage.Read(res.RunPath)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Runner.Name != "gpu-1" || rec.Runner.Environment != "self-hosted" || !reflect.DeepEqual(rec.Runner.Labels, []string{"self-hosted", "gpu"}) {
		t.Errorf("runner %+v, want the run context's", rec.Runner)
	}
	if !reflect.DeepEqual(rec.CI, wantCI) {
		t.Errorf("ci %v, want %v", rec.CI, wantCI)
	}

	m = shellSpec(t, okScript)
	res, err = train.Run(context.Background(), m, train.WithEnv(baseEnv(gha.VarRunnerName+"=from-list", gha.VarRepository+"=x/y")))
	if err != nil {
		t.Fatal(err)
	}
	rec, err = lineage.Read(res.RunPath)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Runner.Name != "from-list" || !reflect.DeepEqual(rec.CI, map[string]string{gha.VarRepository: "x/y"}) {
		t.Errorf("without a run context: runner %+v, ci %v, want them from the environment list", rec.Runner, rec.CI)
	}
}
