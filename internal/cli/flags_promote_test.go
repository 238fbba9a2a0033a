package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/iostreams"
	"github.com/mlship/mlship/internal/pipeline"
	"github.com/mlship/mlship/internal/promote"
	"github.com/mlship/mlship/internal/sign"
)

// ownedByPromotion are the non-test files of the sign, attest, verify,
// report, promote and status use cases: below the Factory none of them
// reads the process environment (the run context carries it) and none
// grows past 500 lines.
var ownedByPromotion = []string{
	"internal/cli/sign.go", "internal/cli/attest.go", "internal/cli/verify.go", "internal/cli/report.go",
	"internal/cli/promote.go", "internal/cli/status.go", "internal/cli/cmdutil.go",
	"internal/promote/options.go", "internal/promote/promote.go", "internal/promote/approvals.go", "internal/promote/policy.go",
	"internal/ghapi/client.go", "internal/ghapi/teams.go", "internal/ghapi/options.go", "internal/ghapi/doc.go",
}

func TestPromotionFilesReadNoEnvironment(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	banned := []string{"os.Getenv", "os.LookupEnv", "GITHUB" + "_"}
	for _, rel := range ownedByPromotion {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, w := range banned {
				if strings.Contains(line, w) {
					t.Errorf("%s:%d: %q: take the value from the run context (gha.Env) through options, name variables with gha constants", rel, i+1, w)
				}
			}
		}
		if n := strings.Count(string(b), "\n"); n >= 500 {
			t.Errorf("%s: %d lines, want under 500: split it by concern", rel, n)
		}
	}
}

// defaultSigner is SignerFlags with its flag defaults.
var defaultSigner = SignerFlags{SignerRequest: pipeline.SignerRequest{FulcioURL: sign.DefaultFulcioURL, RekorURL: sign.DefaultRekorURL}}

// TestPromotionCommandFlags parses argv through each command's runF and
// compares the options struct it would run with (the Factory left out).
func TestPromotionCommandFlags(t *testing.T) {
	t.Parallel()
	ios, _, _ := iostreams.Test(nil)
	f := NewFactory(ios, "test")
	keyed := defaultSigner
	keyed.Key, keyed.TLogUpload = "env://K", true
	prom := PromoteFlags{pipeline.PromoterRequest{SpecDir: "examples/iris", MainBranch: "main"}}
	promAll := PromoteFlags{pipeline.PromoterRequest{SpecDir: "d", Repository: "r.io/x", Keys: []string{"a.pub", "b.pub"},
		Identity: "id", Issuer: "iss", AllowedWorkflows: []string{"^w"}, MainBranch: "trunk"}}
	tests := []flagCase{
		{"sign", func(c func(any)) *cobra.Command {
			return NewCmdSign(f, func(o *SignOptions) error { o.F = nil; c(*o); return nil })
		}, []string{"r/x:1", "--key", "env://K", "--tlog-upload"}, SignOptions{Ref: "r/x:1", Signer: keyed}, ""},
		{"sign needs a ref", func(c func(any)) *cobra.Command {
			return NewCmdSign(f, func(o *SignOptions) error { c(*o); return nil })
		}, nil, nil, "accepts 1 arg"},
		{"attest provenance", func(c func(any)) *cobra.Command {
			return NewCmdAttest(f, func(o *AttestOptions) error { o.F = nil; c(*o); return nil })
		}, []string{"r", "--provenance", "--input", "a=sha256:1", "--builder-id", "b", "--replace"},
			AttestOptions{Signer: defaultSigner, AttestRequest: pipeline.AttestRequest{Ref: "r", Provenance: true, Inputs: []string{"a=sha256:1"}, BuilderID: "b", Replace: true}}, ""},
		{"attest two predicates", func(c func(any)) *cobra.Command {
			return NewCmdAttest(f, func(o *AttestOptions) error { c(*o); return nil })
		}, []string{"r", "--eval", "e.json", "--provenance"}, nil, "exactly one of"},
		{"verify", func(c func(any)) *cobra.Command {
			return NewCmdVerify(f, func(o *VerifyOptions) error { o.F = nil; c(*o); return nil })
		}, []string{"r:1", "--key", "a.pub", "--attestation", "eval", "--max-age", "1h", "--spec", ".", "--env", "prod", "--tlog"},
			VerifyOptions{Ref: "r:1", Policy: PolicyFlags{pipeline.PolicyRequest{Keys: []string{"a.pub"}, Attestations: []string{"eval"},
				MaxAge: time.Hour, SpecDir: ".", Env: "prod", TLog: true}}}, ""},
		{"report", func(c func(any)) *cobra.Command {
			return NewCmdReport(f, func(o *ReportOptions) error { o.F = nil; c(*o); return nil })
		}, []string{"--eval", "e.json", "--dry-run", "--spec", "s", "--check-name", "c"},
			ReportOptions{ReportRequest: pipeline.ReportRequest{EvalFile: "e.json", Out: "report.md", DryRun: true, SpecDir: "s", CheckName: "c"}}, ""},
		{"report without results", func(c func(any)) *cobra.Command {
			return NewCmdReport(f, func(o *ReportOptions) error { c(*o); return nil })
		}, []string{"--dry-run"}, nil, "give --eval FILE"},
		{"promote plan", func(c func(any)) *cobra.Command {
			return NewCmdPromote(f, func(o *PromoteOptions) error { o.F = nil; c(*o); return nil })
		}, []string{"plan", "examples/iris", "--pr", "7", "--eval", "e.json", "--base", "origin/main", "--plan-out", "p.json"},
			PromoteOptions{Flags: prom, PromoteRequest: pipeline.PromoteRequest{Mode: promote.ModePlan, PR: 7, EvalFile: "e.json", Base: "origin/main", PlanOut: "p.json"}}, ""},
		{"promote apply", func(c func(any)) *cobra.Command {
			return NewCmdPromote(f, func(o *PromoteOptions) error { o.F = nil; c(*o); return nil })
		}, []string{"apply", "d", "--head", "abc", "--fetch=false", "--repository", "r.io/x", "--key", "a.pub", "--key", "b.pub",
			"--certificate-identity", "id", "--certificate-oidc-issuer", "iss", "--allowed-workflow", "^w", "--main-branch", "trunk"},
			PromoteOptions{Flags: promAll, PromoteRequest: pipeline.PromoteRequest{Mode: promote.ModeApply, Head: "abc"}}, ""},
		{"promote apply has no --pr", func(c func(any)) *cobra.Command {
			return NewCmdPromote(f, func(o *PromoteOptions) error { c(*o); return nil })
		}, []string{"apply", "--pr", "1"}, nil, "unknown flag: --pr"},
		{"promote propose", func(c func(any)) *cobra.Command {
			return NewCmdPromotePropose(f, func(o *ProposeOptions) error { o.F = nil; c(*o); return nil })
		}, []string{"examples/iris", "--to", "next", "--no-push", "--base", "HEAD~1"},
			ProposeOptions{Flags: prom, ProposeRequest: pipeline.ProposeRequest{To: "next", NoPush: true, Base: "HEAD~1"}}, ""},
		{"promote propose needs --to", func(c func(any)) *cobra.Command {
			return NewCmdPromotePropose(f, func(o *ProposeOptions) error { c(*o); return nil })
		}, []string{"d"}, nil, "--to ENV is required"},
		{"status", func(c func(any)) *cobra.Command {
			return NewCmdStatus(f, func(o *StatusOptions) error { o.F = nil; c(*o); return nil })
		}, []string{"examples/iris", "--rev", "v1"}, StatusOptions{Flags: prom, Rev: "v1"}, ""},
	}
	runFlagCases(t, ios.ErrOut, tests)
}
