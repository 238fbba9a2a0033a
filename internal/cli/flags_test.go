package cli

import (
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/iostreams"
	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/pipeline"
)

// defaultRegistry is RegistryFlags with its flag defaults.
var defaultRegistry = RegistryFlags{Jobs: 4, Timeout: oci.DefaultIdleTimeout, Retries: oci.DefaultRetries}

// TestCommandFlags parses argv through each command's runF and compares
// the options struct it would run with (the Factory left out): one row
// per command, plus the usage errors caught before runF.
func TestCommandFlags(t *testing.T) {
	t.Parallel()
	ios, _, _ := iostreams.Test(nil)
	f := NewFactory(ios, "test")
	tests := []flagCase{
		{"version", func(c func(any)) *cobra.Command {
			return NewCmdVersion(f, func(o *VersionOptions) error { o.F = nil; c(*o); return nil })
		}, nil, VersionOptions{}, ""},
		{"version takes no args", func(c func(any)) *cobra.Command {
			return NewCmdVersion(f, func(o *VersionOptions) error { c(*o); return nil })
		}, []string{"x"}, nil, "unknown command"},
		{"validate default", func(c func(any)) *cobra.Command {
			return NewCmdValidate(f, func(o *ValidateOptions) error { o.F = nil; c(*o); return nil })
		}, nil, ValidateOptions{ValidateRequest: pipeline.ValidateRequest{Paths: []string{"."}}}, ""},
		{"validate paths", func(c func(any)) *cobra.Command {
			return NewCmdValidate(f, func(o *ValidateOptions) error { o.F = nil; c(*o); return nil })
		}, []string{"a", "b"}, ValidateOptions{ValidateRequest: pipeline.ValidateRequest{Paths: []string{"a", "b"}}}, ""},
		{"schema export", func(c func(any)) *cobra.Command {
			return NewCmdSchema(f, func(o *SchemaExportOptions) error { o.F = nil; c(*o); return nil })
		}, []string{"export", "--definition", "Environments", "--out", "s.json"}, SchemaExportOptions{Definition: "Environments", Out: "s.json"}, ""},
		{"schema export defaults", func(c func(any)) *cobra.Command {
			return NewCmdSchema(f, func(o *SchemaExportOptions) error { o.F = nil; c(*o); return nil })
		}, []string{"export"}, SchemaExportOptions{Definition: "Model"}, ""},
		{"init", func(c func(any)) *cobra.Command {
			return NewCmdInit(f, func(o *InitOptions) error { o.F = nil; c(*o); return nil })
		}, []string{"d", "--name", "iris", "--repository", "r.io/x", "--spec-dir", "m", "--action-ref", "v2", "--force"},
			InitOptions{Root: "d", Name: "iris", Repository: "r.io/x", SpecDir: "m", ActionRef: "v2", Force: true}, ""},
		{"init template", func(c func(any)) *cobra.Command {
			return NewCmdInit(f, func(o *InitOptions) error { o.F = nil; c(*o); return nil })
		}, []string{"d", "-t", "go"}, InitOptions{Root: "d", SpecDir: ".", ActionRef: "v1", Template: "go"}, ""},
		{"init defaults", func(c func(any)) *cobra.Command {
			return NewCmdInit(f, func(o *InitOptions) error { o.F = nil; c(*o); return nil })
		}, nil, InitOptions{Root: ".", SpecDir: ".", ActionRef: "v1"}, ""},
		{"demo", func(c func(any)) *cobra.Command {
			return NewCmdDemo(f, func(o *DemoOptions) error { o.F = nil; c(*o); return nil })
		}, []string{"--dir", "w", "-v"}, DemoOptions{Dir: "w", Verbose: true}, ""},
		{"keygen", func(c func(any)) *cobra.Command {
			return NewCmdKeygen(f, func(o *KeygenOptions) error { o.F = nil; c(*o); return nil })
		}, []string{"--output-key-prefix", "k/ci", "--force"}, KeygenOptions{Prefix: "k/ci", Force: true}, ""},
		{"keygen defaults", func(c func(any)) *cobra.Command {
			return NewCmdKeygen(f, func(o *KeygenOptions) error { o.F = nil; c(*o); return nil })
		}, nil, KeygenOptions{Prefix: "cosign"}, ""},
		{"drift", func(c func(any)) *cobra.Command {
			return NewCmdDrift(f, func(o *DriftOptions) error { o.F = nil; c(*o); return nil })
		}, []string{"--reference", "r.csv", "--current", "c.parquet", "--spec", "s", "--out", "d.json", "--memory-budget", "2GiB",
			"--threshold", "0.25", "--fail-on-drift", "--workers", "3", "--extra-tests", "ks,psi"},
			DriftOptions{DriftRequest: pipeline.DriftRequest{Reference: "r.csv", Current: "c.parquet", SpecDir: "s", Out: "d.json",
				MemoryBudget: "2GiB", Threshold: 0.25, FailOnDrift: true, Workers: 3, ExtraTests: []string{"ks", "psi"}}}, ""},
		{"drift threshold unset is 0 (the spec decides)", func(c func(any)) *cobra.Command {
			return NewCmdDrift(f, func(o *DriftOptions) error { o.F = nil; c(*o); return nil })
		}, []string{"--reference", "r.csv"}, DriftOptions{DriftRequest: pipeline.DriftRequest{Reference: "r.csv"}}, ""},
		{"train", func(c func(any)) *cobra.Command {
			return NewCmdTrain(f, func(o *TrainOptions) error { o.F = nil; c(*o); return nil })
		}, []string{"m", "-p", "lr=0.1", "--param", "depth=3", "--seed", "0", "--timeout", "2h", "--reuse", "--repository", "r.io/x",
			"--run-file", "run.json", "--digest-only"},
			TrainOptions{TrainRequest: pipeline.TrainRequest{SpecDir: "m", Params: []string{"lr=0.1", "depth=3"}, SeedSet: true,
				Timeout: 2 * time.Hour, Reuse: true, Repository: "r.io/x", RunFile: "run.json", DigestOnly: true}}, ""},
		{"train defaults", func(c func(any)) *cobra.Command {
			return NewCmdTrain(f, func(o *TrainOptions) error { o.F = nil; c(*o); return nil })
		}, nil, TrainOptions{TrainRequest: pipeline.TrainRequest{SpecDir: "."}}, ""},
		{"train takes one spec", func(c func(any)) *cobra.Command {
			return NewCmdTrain(f, func(o *TrainOptions) error { c(*o); return nil })
		}, []string{"a", "b"}, nil, "accepts at most 1 arg"},
		{"matrix", func(c func(any)) *cobra.Command {
			return NewCmdMatrix(f, func(o *MatrixOptions) error { o.F = nil; c(*o); return nil })
		}, []string{"m"}, MatrixOptions{MatrixRequest: pipeline.MatrixRequest{SpecDir: "m"}}, ""},
		{"matrix select", func(c func(any)) *cobra.Command {
			return NewCmdMatrixSelect(f, func(o *MatrixSelectOptions) error { o.F = nil; c(*o); return nil })
		}, []string{"a/run.json", "b/run.json", "--metric", "f1", "--goal", "minimize", "--spec", "m"},
			MatrixSelectOptions{MatrixSelectRequest: pipeline.MatrixSelectRequest{Paths: []string{"a/run.json", "b/run.json"}, Metric: "f1",
				Goal: "minimize", SpecDir: "m"}}, ""},
		{"matrix select needs runs", func(c func(any)) *cobra.Command {
			return NewCmdMatrixSelect(f, func(o *MatrixSelectOptions) error { c(*o); return nil })
		}, nil, nil, "requires at least 1 arg"},
		{"runner register", func(c func(any)) *cobra.Command {
			return NewCmdRunner(f, func(o *RunnerRegisterOptions) error { o.F = nil; c(*o); return nil })
		}, []string{"register", "--repo", "acme/iris", "--name", "gpu-1", "--labels", "gpu,a100", "--runner-group", "3",
			"--no-discover", "--no-default-labels", "--config-file", "/run/jit"},
			RunnerRegisterOptions{Repo: "acme/iris", Name: "gpu-1", Labels: []string{"gpu", "a100"}, GroupID: 3, NoDiscover: true,
				NoDefaultLabels: true, ConfigFile: "/run/jit"}, ""},
		{"eval", func(c func(any)) *cobra.Command {
			return NewCmdEval(f, func(o *EvalOptions) error { o.F = nil; c(*o); return nil })
		}, []string{"m", "--metrics", "m.json", "--examples", "e.jsonl", "--baseline", "b.json", "--baseline-examples", "be.jsonl",
			"--repository", "r.io/x", "--environment", "", "--out", "o.json", "--report", "", "--no-fail"},
			EvalOptions{EvalRequest: pipeline.EvalRequest{SpecDir: "m", MetricsFile: "m.json", ExamplesFile: "e.jsonl", BaselineFile: "b.json", BaselineExamplesFile: "be.jsonl",
				Repository: "r.io/x", EnvironmentSet: true, Out: "o.json"}, NoFail: true}, ""},
		{"eval defaults", func(c func(any)) *cobra.Command {
			return NewCmdEval(f, func(o *EvalOptions) error { o.F = nil; c(*o); return nil })
		}, []string{"--no-baseline"}, EvalOptions{EvalRequest: pipeline.EvalRequest{SpecDir: ".", NoBaseline: true, Out: "eval-result.json", ReportOut: "eval-report.md"}}, ""},
		{"eval --no-baseline with --baseline", func(c func(any)) *cobra.Command {
			return NewCmdEval(f, func(o *EvalOptions) error { c(*o); return nil })
		}, []string{"--no-baseline", "--baseline", "b.json"}, nil, "exclusive"},
		{"push", func(c func(any)) *cobra.Command {
			return NewCmdPush(f, func(o *PushOptions) error { o.F = nil; c(*o); return nil })
		}, []string{"model", "r.io/x:1", "--role", "*.npz=weight", "--annotation", "a=b", "--tag", "latest", "--input-digest", "sha256:1",
			"--require-run", "--run-url", "u", "--monolithic", "--no-cache", "--cache-dir", "cd", "--repository", "h/r", "--jobs", "2", "--timeout", "5m", "--retries", "3"},
			PushOptions{Registry: RegistryFlags{Repository: "h/r", Jobs: 2, Timeout: 5 * time.Minute, Retries: 3}, PushRequest: pipeline.PushRequest{Source: "model", Ref: "r.io/x:1", Roles: []string{"*.npz=weight"},
				Annotations: []string{"a=b"}, Tags: []string{"latest"}, InputDigest: "sha256:1", RequireRun: true, RunURL: "u",
				Monolithic: true, NoCache: true, CacheDir: "cd"}}, ""},
		{"push needs a source", func(c func(any)) *cobra.Command {
			return NewCmdPush(f, func(o *PushOptions) error { c(*o); return nil })
		}, nil, nil, "accepts between 1 and 2 arg"},
		{"package", func(c func(any)) *cobra.Command {
			return NewCmdPackage(f, func(o *PushOptions) error { o.F = nil; c(*o); return nil })
		}, []string{"model", "--tag", "t"}, PushOptions{Registry: defaultRegistry, PushRequest: pipeline.PushRequest{Source: "model", Ref: "oci:.mlship/oci", Tags: []string{"t"}, LayoutOnly: true}}, ""},
		{"pull", func(c func(any)) *cobra.Command {
			return NewCmdPull(f, func(o *PullOptions) error { o.F = nil; c(*o); return nil })
		}, []string{"r/x:1", "d", "--filter", "weight,doc", "--allow-unknown", "--force", "--jobs", "7", "--verify", "--key", "a.pub", "--env", "prod", "--spec", "m"},
			PullOptions{Registry: RegistryFlags{Jobs: 7, Timeout: oci.DefaultIdleTimeout, Retries: oci.DefaultRetries}, Policy: policy("a.pub", "m", "prod"), PullRequest: pipeline.PullRequest{Ref: "r/x:1", Dir: "d",
				Filter: []string{"weight", "doc"}, AllowUnknown: true, Force: true, Verify: true}}, ""},
		{"pull needs a directory", func(c func(any)) *cobra.Command {
			return NewCmdPull(f, func(o *PullOptions) error { c(*o); return nil })
		}, []string{"r/x:1"}, nil, "accepts 2 arg"},
		{"inspect", func(c func(any)) *cobra.Command {
			return NewCmdInspect(f, func(o *InspectOptions) error { o.F = nil; c(*o); return nil })
		}, []string{"r/x:1", "--repository", "oci:lay"}, InspectOptions{Ref: "r/x:1", Registry: RegistryFlags{Repository: "oci:lay", Jobs: 4, Timeout: oci.DefaultIdleTimeout, Retries: oci.DefaultRetries}}, ""},
		{"tag", func(c func(any)) *cobra.Command {
			return NewCmdTag(f, func(o *TagOptions) error { o.F = nil; c(*o); return nil })
		}, []string{"r/x:1", "prod"}, TagOptions{Ref: "r/x:1", Tag: "prod", Registry: defaultRegistry}, ""},
		{"ls", func(c func(any)) *cobra.Command {
			return NewCmdLs(f, func(o *LsOptions) error { o.F = nil; c(*o); return nil })
		}, []string{"r/x", "--all"}, LsOptions{Repo: "r/x", Registry: defaultRegistry, All: true}, ""},
	}
	runFlagCases(t, ios.ErrOut, tests)
}

// policy is PolicyFlags naming one key, a spec and an environment.
func policy(key, specDir, env string) PolicyFlags {
	var p PolicyFlags
	p.Keys, p.SpecDir, p.Env = []string{key}, specDir, env
	return p
}

// flagCase is one row of a flag-parsing test: argv for the command that
// cmd builds (with a runF that hands the parsed options to capture), and
// the options it must parse to, or the usage error it must refuse with.
type flagCase struct {
	name string
	cmd  func(capture func(any)) *cobra.Command
	args []string
	want any
	err  string
}

// runFlagCases runs each case through the command's runF: nothing runs
// for real, and a usage error must stop before runF.
func runFlagCases(t *testing.T, out io.Writer, tests []flagCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got any
			cmd := tt.cmd(func(o any) { got = o })
			cmd.SetArgs(tt.args)
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			cmd.SetOut(out)
			err := cmd.Execute()
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("%v: err = %v, want %q", tt.args, err, tt.err)
				}
				if got != nil {
					t.Errorf("%v: ran with %+v after a usage error", tt.args, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v: %v", tt.args, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%v parsed\n got %+v\nwant %+v", tt.args, got, tt.want)
			}
		})
	}
}
