package cli

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/pipeline"
	"github.com/mlship/mlship/internal/promote"
	"github.com/mlship/mlship/internal/sign"
)

// PromoteOptions are the inputs of `mlship promote plan|apply`.
type PromoteOptions struct {
	F     *Factory
	Flags PromoteFlags
	pipeline.PromoteRequest
}

// NewCmdPromote builds `mlship promote` and its subcommands.
func NewCmdPromote(f *Factory, runF func(*PromoteOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "promote",
		Short: "Promote a model through environments by merging to main (GitOps)",
		Long: `The desired state lives in git: mlship/environments.cue (or .json/.yaml) next
to the spec says which digest each environment runs. A promotion is a pull
request that changes a digest there; the approving review is the approval;
the merge is the deployment; a rollback is a revert.

  plan     on the promotion pull request: check every changed environment
  apply    on the push to main: re-check, move the tags, record deployments
  propose  open the pull request that promotes to the next environment

See docs/promotion.md for the rules and their names.`,
		Example: `  mlship promote plan examples/iris
  mlship promote apply examples/iris --output json
  mlship promote propose examples/iris --to prod`,
	}
	cmd.AddCommand(newCmdPromoteRun(f, promote.ModePlan, runF), newCmdPromoteRun(f, promote.ModeApply, runF), NewCmdPromotePropose(f, nil))
	return cmd
}

func newCmdPromoteRun(f *Factory, mode promote.Mode, runF func(*PromoteOptions) error) *cobra.Command {
	opts := &PromoteOptions{F: f, PromoteRequest: pipeline.PromoteRequest{Mode: mode}}
	cmd := &cobra.Command{
		Use:  string(mode) + " [SPEC_DIR]",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Flags.SpecDir = argOr(args, 0, "")
			return runOr(cmd, opts, runF, runPromote)
		},
	}
	if mode == promote.ModePlan {
		cmd.Short = "Check what merging this pull request would promote, without changing anything"
		cmd.Long = `Plan compares the environments file at --base (default: the merge base with
the main branch) with --head (default HEAD) and, for each environment whose
digest changes, checks the rules: digest-exists, signature, attestations
(eval passed with the environment's gates, provenance from an allowed
workflow), order (the previous environment ran the digest, unless
allowSkip) and approvals (enough approving reviews from allowed reviewers,
none by the author). Approvals not yet given are "pending", not failed.

Inside GitHub Actions with ` + gha.VarToken + ` it posts the plan as the check run
"mlship promote (<model>)" on the pull request's head commit and adds it
to the model's sticky report comment (with --eval/--drift, the whole
report). It always prints the plan and adds it to the job summary. A
failed rule exits 1 and names the environment and the rule.`
		cmd.Example = `  # on the promotion pull request (fetch-depth: 0, so main is known)
  mlship promote plan examples/iris

  # against an explicit base, as JSON
  mlship promote plan examples/iris --base origin/main --output json`
		cmd.Flags().IntVar(&opts.PR, "pr", 0, "the promotion pull request number (default: from the pull_request event)")
		cmd.Flags().StringVar(&opts.EvalFile, "eval", "", "eval result (mlship eval --out) to keep in the sticky report")
		cmd.Flags().StringVar(&opts.DriftFile, "drift", "", "drift result (mlship drift --output json) to keep in the sticky report")
	} else {
		cmd.Short = "Re-check the merged promotion and move the environment tags"
		cmd.Long = `Apply recomputes the plan from the commit's parent (--base, default HEAD^)
to the commit (--head, default HEAD), refuses it if any rule fails or
approvals are missing (a direct push to main has no approved pull request,
so it cannot promote to a gated environment), then moves each changed
environment's tag (REPO:ENV) to its digest and records a GitHub deployment
(ref = the commit, payload = digest and version, status success with the
run's URL).

Before a tag moves, apply signs a promotion record (an in-toto statement
of type https://mlship.dev/attestations/promotion/v1 about the digest:
environment, merge commit, pull request, approvers, each rule's outcome,
previous digest, time) and attaches it to the digest; deployers require it
with verify --promoted-to ENV. It is signed with --attest-key, or keyless
inside GitHub Actions (the workflow's identity). If the record cannot be
signed or attached, the tag does not move.

It is idempotent: a tag already at the digest is left alone and no second
deployment is recorded. Tags never move backwards: before moving, apply
fetches the main branch and, if a newer commit on it wants another digest
for the environment, leaves the tag to that commit's apply ("superseded").
Otherwise the tag is moved when it points at the expected previous digest,
or reconciled (with a note) when it points elsewhere. Run apply jobs with a
concurrency group per repository so two never overlap.`
		cmd.Example = `  # on push to main
  mlship promote apply examples/iris

  # replay a past promotion commit (a no-op unless it is the newest)
  mlship promote apply examples/iris --head 1a2b3c4 --output json

  # sign the promotion records with a key instead of keyless
  mlship promote apply examples/iris --attest-key env://COSIGN_PRIVATE_KEY`
		cmd.Flags().BoolVar(&opts.Fetch, "fetch", true, "fetch the main branch from origin before deciding whether this commit is the newest")
		cmd.Flags().StringVar(&opts.Record.Key, "attest-key", "", "cosign private key signing the promotion records: a file or env://VAR (password from "+gha.VarCosignPassword+"); without it, keyless in GitHub Actions (id-token: write)")
		cmd.Flags().StringVar(&opts.Record.FulcioURL, "fulcio-url", "", "Fulcio URL for keyless promotion records (default "+sign.DefaultFulcioURL+")")
		cmd.Flags().StringVar(&opts.Record.RekorURL, "rekor-url", "", "Rekor URL for keyless promotion records, or with --tlog-upload (default "+sign.DefaultRekorURL+")")
		cmd.Flags().BoolVar(&opts.Record.TLogUpload, "tlog-upload", false, "also record key-signed promotion records in Rekor (keyless ones always are)")
		cmd.Flags().StringVar(&opts.Record.Format, "attest-format", "", "how the promotion records are stored: bundle, legacy or both (default both)")
		cmd.Flags().StringVar(&opts.Record.TimestampServerURL, "timestamp-server-url", "", "RFC 3161 timestamp authority countersigning each promotion record's bundle")
		cmd.Flags().BoolVar(&opts.Record.GitHubAttestation, "github-attestation", false, "also store each promotion record's bundle with GitHub's artifact attestations API")
		cmd.Flags().StringVar(&opts.Record.GitHubRepository, "github-repository", "", "OWNER/REPO for --github-attestation (default: the run's repository)")
	}
	cmd.Flags().StringVar(&opts.Base, "base", "", "the commit to compare with (plan: merge base with main; apply: HEAD^)")
	cmd.Flags().StringVar(&opts.Head, "head", "", "the commit holding the desired state (default HEAD)")
	cmd.Flags().StringVar(&opts.PlanOut, "plan-out", "", "also write the plan as JSON to `FILE`")
	opts.Flags.register(cmd.Flags())
	return cmd
}

func runPromote(ctx context.Context, opts *PromoteOptions) error {
	f := opts.F
	req := opts.PromoteRequest
	req.Promoter = opts.Flags.PromoterRequest
	res, err := pipeline.Promote(ctx, f.Run(), req)
	if err != nil {
		return exitCode(err)
	}
	if err := show(f, res.Plan, func() error { f.IO.Printf("%s", res.Plan.Text()); return nil }); err != nil {
		return err
	}
	if res.Err != nil {
		return &ExitError{Code: 1, Err: res.Err}
	}
	return nil
}

// ProposeOptions are the inputs of `mlship promote propose`.
type ProposeOptions struct {
	F     *Factory
	Flags PromoteFlags
	pipeline.ProposeRequest
}

// NewCmdPromotePropose builds `mlship promote propose`.
func NewCmdPromotePropose(f *Factory, runF func(*ProposeOptions) error) *cobra.Command {
	opts := &ProposeOptions{F: f}
	cmd := &cobra.Command{
		Use:   "propose --to ENV [SPEC_DIR]",
		Short: "Open or update the pull request promoting the previous environment's digest to ENV",
		Long: `Propose reads the environments file at --base (default HEAD), takes the digest
that ENV's previous environment (environments.ENV.after) runs, and writes
it for ENV in a commit on the branch mlship/promote-ENV (made with git
plumbing on a temporary index: the work tree is not touched), force-pushes
that branch to origin and opens, or updates, the pull request from it to
the main branch with the plan in its body. Nothing is proposed when ENV
already runs that digest.

--to next proposes every environment whose previous environment changed in
HEAD (what the push to main just applied).

Pull requests opened with the workflow's ` + gha.VarToken + ` do not trigger other
workflows: give propose a GitHub App or personal token (` + gha.VarToken + ` env)
so that the plan runs on the promotion pull request.`,
		Example: `  mlship promote propose examples/iris --to prod
  mlship promote propose examples/iris --to next --output json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Flags.SpecDir = argOr(args, 0, "")
			if opts.To == "" {
				return &ExitError{Code: 2, Err: errors.New("--to ENV is required (or --to next)")}
			}
			return runOr(cmd, opts, runF, runPropose)
		},
	}
	cmd.Flags().StringVar(&opts.To, "to", "", "the environment to promote to, or \"next\"")
	cmd.Flags().StringVar(&opts.Base, "base", "", "the commit to start from (default HEAD)")
	cmd.Flags().BoolVar(&opts.NoPush, "no-push", false, "make the commit but do not push it or open the pull request")
	opts.Flags.register(cmd.Flags())
	return cmd
}

func runPropose(ctx context.Context, opts *ProposeOptions) error {
	f := opts.F
	req := opts.ProposeRequest
	req.Promoter = opts.Flags.PromoterRequest
	res, err := pipeline.Propose(ctx, f.Run(), req)
	if res != nil && !f.IO.JSON() {
		res.WriteText(f.IO.Out)
	}
	if err != nil {
		return exitCode(err)
	}
	if f.IO.JSON() {
		return f.IO.PrintJSON(res)
	}
	return nil
}
