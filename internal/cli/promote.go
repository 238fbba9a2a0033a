package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mlship/mlship/internal/eval"
	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/ghapi"
	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/promote"
	"github.com/mlship/mlship/internal/report"
	"github.com/mlship/mlship/internal/sign"
	"github.com/mlship/mlship/internal/spec"
)

// PromoteFlags are shared by promote plan, apply, propose and status.
type PromoteFlags struct {
	SpecDir          string
	Repository       string
	PlainHTTP        bool
	Keys             []string
	Identity         string
	IdentityRegexp   string
	Issuer           string
	IssuerRegexp     string
	AllowedWorkflows []string
	MainBranch       string
}

func (p *PromoteFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&p.Repository, "repository", "", "registry repository HOST/REPO overriding the spec's registry.repository")
	fs.BoolVar(&p.PlainHTTP, "plain-http", false, "speak plain HTTP to a registry that is not on loopback (loopback always is)")
	fs.StringArrayVar(&p.Keys, "key", nil, "trusted cosign public key (file or env://VAR), replacing the spec's signing policy (repeatable)")
	fs.StringVar(&p.Identity, "certificate-identity", "", "keyless signer identity replacing the spec's signing policy")
	fs.StringVar(&p.IdentityRegexp, "certificate-identity-regexp", "", "keyless signer identity regexp replacing the spec's signing policy")
	fs.StringVar(&p.Issuer, "certificate-oidc-issuer", "", "keyless OIDC issuer ("+sign.GitHubIssuer+" for Actions)")
	fs.StringVar(&p.IssuerRegexp, "certificate-oidc-issuer-regexp", "", "keyless OIDC issuer regexp")
	fs.StringArrayVar(&p.AllowedWorkflows, "allowed-workflow", nil, "regexp the provenance builder (workflow) must match (repeatable; default: this repository's workflows, from GITHUB_REPOSITORY)")
	fs.StringVar(&p.MainBranch, "main-branch", "main", "the branch that holds the desired state")
}

// promoter loads the spec and wires the registry, verifier and GitHub.
func (p *PromoteFlags) promoter(ctx context.Context, f *Factory, extra ...promote.Option) (*promote.Promoter, *spec.Model, *ghapi.Client, error) {
	dir := p.SpecDir
	if dir == "" {
		dir = "."
	}
	m, err := spec.Load(ctx, dir)
	if err != nil {
		return nil, nil, nil, err
	}
	getenv := f.IO.Getenv
	plain := p.PlainHTTP || m.Registry.PlainHTTP
	kc := oci.DefaultKeychain(getenv)
	ver := promote.SignVerifier{Options: registryOptions(f, plain), Remote: []remote.Option{remote.WithAuthFromKeychain(kc)}}
	if plain {
		ver.Name = []name.Option{name.Insecure}
	}
	trust, err := sign.TrustFromEnv(getenv)
	if err != nil {
		return nil, nil, nil, err
	}
	signer := promote.Signer{}
	for _, k := range p.Keys {
		pk, err := sign.LoadPublicKey(k, getenv)
		if err != nil {
			return nil, nil, nil, err
		}
		pk.Name = k
		signer.Keys = append(signer.Keys, pk)
	}
	if p.Identity != "" || p.IdentityRegexp != "" || p.Issuer != "" || p.IssuerRegexp != "" {
		signer.Identities = append(signer.Identities, sign.Identity{Subject: p.Identity, SubjectRegexp: p.IdentityRegexp, Issuer: p.Issuer, IssuerRegexp: p.IssuerRegexp})
	}
	opts := []promote.Option{
		promote.WithRepository(p.Repository),
		promote.WithRegistry(promote.OCIRegistry{Options: []oci.Option{oci.WithKeychain(kc), oci.WithPlainHTTP(plain), oci.WithUserAgent("mlship/" + f.Version)}}),
		promote.WithVerifier(ver),
		promote.WithTrust(trust),
		promote.WithSigner(signer),
		promote.WithAllowedWorkflows(p.AllowedWorkflows...),
		promote.WithMainBranch(p.MainBranch),
		promote.WithGetenv(getenv),
		promote.WithRunURL(workflowRunURL(getenv)),
		promote.WithLogf(func(format string, args ...any) { f.IO.Logf(format+"\n", args...) }),
	}
	var client *ghapi.Client
	if getenv("GITHUB_TOKEN") != "" && getenv("GITHUB_REPOSITORY") != "" {
		owner, repo, err := ghapi.RepoFromEnv(getenv)
		if err != nil {
			return nil, nil, nil, err
		}
		if client, err = ghapi.NewFromEnv(ctx, getenv); err != nil {
			return nil, nil, nil, err
		}
		opts = append(opts, promote.WithGitHub(client, owner, repo))
	} else {
		f.IO.Logf("GITHUB_TOKEN or GITHUB_REPOSITORY is not set: approvals cannot be read and no deployment is recorded\n")
	}
	pr, err := promote.New(m, append(opts, extra...)...)
	if err != nil {
		return nil, nil, nil, err
	}
	return pr, m, client, nil
}

// PromoteOptions are the inputs of `mlship promote plan|apply`.
type PromoteOptions struct {
	F       *Factory
	Mode    promote.Mode
	Flags   PromoteFlags
	Base    string
	Head    string
	PR      int
	PlanOut string
	Fetch   bool
	// EvalFile and DriftFile keep the sticky report whole when the plan is
	// added to it.
	EvalFile  string
	DriftFile string
}

// NewCmdPromote builds `mlship promote` and its subcommands.
func NewCmdPromote(f *Factory, runF func(context.Context, *PromoteOptions) error) *cobra.Command {
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

func newCmdPromoteRun(f *Factory, mode promote.Mode, runF func(context.Context, *PromoteOptions) error) *cobra.Command {
	opts := &PromoteOptions{F: f, Mode: mode}
	cmd := &cobra.Command{
		Use:  string(mode) + " [SPEC_DIR]",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				opts.Flags.SpecDir = args[0]
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runPromote(cmd.Context(), opts)
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

Inside GitHub Actions with GITHUB_TOKEN it posts the plan as the check run
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
  mlship promote apply examples/iris --head 1a2b3c4 --output json`
		cmd.Flags().BoolVar(&opts.Fetch, "fetch", true, "fetch the main branch from origin before deciding whether this commit is the newest")
	}
	cmd.Flags().StringVar(&opts.Base, "base", "", "the commit to compare with (plan: merge base with main; apply: HEAD^)")
	cmd.Flags().StringVar(&opts.Head, "head", "", "the commit holding the desired state (default HEAD)")
	cmd.Flags().StringVar(&opts.PlanOut, "plan-out", "", "also write the plan as JSON to `FILE`")
	opts.Flags.register(cmd.Flags())
	return cmd
}

func runPromote(ctx context.Context, opts *PromoteOptions) error {
	f := opts.F
	getenv := f.IO.Getenv
	var ev ghapi.Env
	if f.Actions.Active() && getenv("GITHUB_REPOSITORY") != "" {
		var err error
		if ev, err = ghapi.FromEnv(getenv); err != nil {
			f.IO.Logf("warning: reading the workflow environment: %v\n", err)
		}
	}
	prNum := opts.PR
	if prNum == 0 {
		prNum = ev.PullRequest
	}
	extra := []promote.Option{promote.WithPullRequest(prNum), promote.WithFetch(opts.Fetch)}
	p, m, client, err := opts.Flags.promoter(ctx, f, extra...)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	var pl *promote.Plan
	var runErr error
	if opts.Mode == promote.ModeApply {
		pl, runErr = p.Apply(ctx, opts.Base, opts.Head)
	} else {
		pl, runErr = p.Plan(ctx, promote.ModePlan, opts.Base, opts.Head)
		if runErr == nil {
			runErr = pl.Err()
		}
	}
	if pl == nil {
		return runErr
	}
	if opts.PlanOut != "" {
		b, _ := json.MarshalIndent(pl, "", "  ")
		if err := os.WriteFile(opts.PlanOut, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("writing the plan to %s: %w", opts.PlanOut, err)
		}
	}
	md := pl.Markdown()
	if err := f.Actions.AddStepSummary(md + "\n"); err != nil {
		f.IO.Logf("warning: step summary: %v\n", err)
	}
	if client != nil {
		publishPlan(ctx, f, opts, client, m, pl, ev, prNum)
	}
	var moved []string
	for _, e := range pl.Envs {
		if e.Outcome == promote.Moved {
			moved = append(moved, e.Environment)
		}
	}
	outs := map[string]string{"ok": strconv.FormatBool(runErr == nil), "pending": strconv.FormatBool(pl.Pending), "environments": envList(pl), "moved": strings.Join(moved, " ")}
	if opts.PlanOut != "" {
		outs["plan-path"] = opts.PlanOut
	}
	for k, v := range outs {
		if err := f.Actions.SetOutput(k, v); err != nil {
			return err
		}
	}
	if f.IO.JSON() {
		if err := f.IO.PrintJSON(pl); err != nil {
			return err
		}
	} else {
		f.IO.Printf("%s", planText(pl))
	}
	if runErr != nil {
		var re *promote.RefusedError
		if errors.As(runErr, &re) {
			for _, msg := range re.Failures {
				f.Actions.Annotate(annotationFor(m, msg))
			}
		}
		return &ExitError{Code: 1, Err: runErr}
	}
	return nil
}

func envList(pl *promote.Plan) string {
	var s []string
	for _, e := range pl.Envs {
		s = append(s, e.Environment)
	}
	return strings.Join(s, " ")
}

// publishPlan posts the check run and the sticky report; failures to post
// are warnings, never a failed promotion check.
func publishPlan(ctx context.Context, f *Factory, opts *PromoteOptions, client *ghapi.Client, m *spec.Model, pl *promote.Plan, ev ghapi.Env, prNum int) {
	owner, repo := ev.Owner, ev.Repo
	if owner == "" {
		var err error
		if owner, repo, err = ghapi.RepoFromEnv(f.IO.Getenv); err != nil {
			return
		}
	}
	head := ev.HeadSHA
	if opts.Mode == promote.ModeApply || head == "" {
		head = pl.Head
	}
	name := "mlship promote (" + m.Name + ")"
	if opts.Mode == promote.ModeApply {
		name = "mlship promote apply (" + m.Name + ")"
	}
	if _, err := client.UpsertCheckRun(ctx, owner, repo, head, name, ghapi.CheckOutput{
		Title: pl.Title(), Summary: pl.Markdown(), Conclusion: pl.Conclusion(), DetailsURL: ev.RunURL,
	}); err != nil {
		f.IO.Logf("warning: posting the check run %q: %v\n", name, err)
	}
	// A pull request that changes no environment (a training pull
	// request) keeps its sticky report as the report step wrote it.
	if opts.Mode != promote.ModePlan || prNum == 0 || len(pl.Envs) == 0 {
		return
	}
	in := report.Input{Model: m.Name, FullReportURL: ev.RunURL, Sections: []report.Section{{
		Title: "Promotion plan", Markdown: pl.Markdown(), Short: "### Promotion plan\n\n" + pl.Title() + "\n", Priority: report.PriorityPlan,
	}}}
	if opts.EvalFile != "" {
		if r, err := eval.ReadResultFile(opts.EvalFile); err == nil {
			in.Eval = r
		} else {
			f.IO.Logf("warning: %v\n", err)
		}
	}
	if opts.DriftFile != "" {
		if d, err := report.ReadDriftFile(opts.DriftFile); err == nil {
			in.Drift = d
		} else {
			f.IO.Logf("warning: %v\n", err)
		}
	}
	if _, err := report.Publish(ctx, client, in, report.Target{Owner: owner, Repo: repo, PullRequest: prNum, DetailsURL: ev.RunURL}); err != nil {
		f.IO.Logf("warning: posting the plan in the sticky report: %v\n", err)
	}
}

// planText is the plan for a terminal or a CI log.
func planText(pl *promote.Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "promote %s %s: %s..%s: %s\n", pl.Mode, pl.Model, short12(pl.Base), short12(pl.Head), pl.Verdict())
	if d := pl.PolicyChange; d != nil {
		fmt.Fprintf(&b, "policy change (%s..%s): this change edits the promotion policy; it is judged by the policy at %s\n", short12(d.Base), short12(d.Head), short12(pl.PolicyCommit))
		for _, c := range d.Changes {
			fmt.Fprintf(&b, "  %s: %s -> %s\n", c.Path, orDash(c.Before), orDash(c.After))
		}
	}
	mark := map[promote.Status]string{promote.Pass: "ok  ", promote.Fail: "FAIL", promote.Pending: "wait", promote.Skip: "skip"}
	for _, e := range pl.Envs {
		from := e.From
		if from == "" {
			from = "(none)"
		}
		fmt.Fprintf(&b, "%s: %s -> %s", e.Environment, from, e.To)
		if e.Outcome != "" {
			fmt.Fprintf(&b, " [%s]", e.Outcome)
		}
		b.WriteString("\n")
		for _, r := range e.Rules {
			fmt.Fprintf(&b, "  %s %s: %s\n", mark[r.Status], r.Name, r.Detail)
		}
		if e.Note != "" {
			fmt.Fprintf(&b, "  note: %s\n", e.Note)
		}
	}
	return b.String()
}

func short12(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	if s == "" {
		return "(none)"
	}
	return s
}

// annotationFor points a refusal at the environments file.
func annotationFor(m *spec.Model, msg string) gha.Annotation {
	file := ""
	for _, n := range spec.EnvironmentsFiles {
		if _, err := os.Stat(filepath.Join(m.Dir, n)); err == nil {
			file = filepath.Join(m.Dir, n)
			break
		}
	}
	return gha.Annotation{Level: "error", Title: "mlship promote", Message: msg, File: file}
}

// ProposeOptions are the inputs of `mlship promote propose`.
type ProposeOptions struct {
	F      *Factory
	Flags  PromoteFlags
	To     string
	Base   string
	NoPush bool
}

// NewCmdPromotePropose builds `mlship promote propose`.
func NewCmdPromotePropose(f *Factory, runF func(context.Context, *ProposeOptions) error) *cobra.Command {
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

Pull requests opened with the workflow's GITHUB_TOKEN do not trigger other
workflows: give propose a GitHub App or personal token (GITHUB_TOKEN env)
so that the plan runs on the promotion pull request.`,
		Example: `  mlship promote propose examples/iris --to prod
  mlship promote propose examples/iris --to next --output json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				opts.Flags.SpecDir = args[0]
			}
			if opts.To == "" {
				return &ExitError{Code: 2, Err: errors.New("--to ENV is required (or --to next)")}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runPropose(cmd.Context(), opts)
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
	p, _, _, err := opts.Flags.promoter(ctx, f)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	envs := []string{opts.To}
	if opts.To == "next" {
		if envs, err = p.NextEnvironments(ctx, "", opts.Base); err != nil {
			return err
		}
	}
	actor := f.IO.Getenv("GITHUB_ACTOR")
	var out []*promote.Proposal
	var prs []string
	for _, env := range envs {
		pr, err := p.Propose(ctx, env, promote.ProposeOptions{Base: opts.Base, Push: !opts.NoPush, Actor: actor})
		if err != nil {
			return fmt.Errorf("proposing %s: %w", env, err)
		}
		out = append(out, pr)
		switch {
		case pr.UpToDate:
			f.IO.Printf("%s already runs %s: nothing to propose\n", env, pr.Digest)
		case pr.PullRequest != nil:
			verb := "updated"
			if pr.Created {
				verb = "opened"
			}
			prs = append(prs, strconv.Itoa(pr.PullRequest.Number))
			f.IO.Printf("%s pull request #%d: %s (%s, plan: %s)\n", verb, pr.PullRequest.Number, pr.Title, pr.Branch, pr.Plan.Verdict())
			_ = f.Actions.AddStepSummary(fmt.Sprintf("Promotion pull request [#%d](%s) %s: %s\n", pr.PullRequest.Number, pr.PullRequest.HTMLURL, verb, pr.Title))
		default:
			f.IO.Printf("committed %s on %s (pushed: %t): %s\n", short12(pr.Commit), pr.Branch, pr.Pushed, pr.Title)
		}
	}
	if len(envs) == 0 {
		f.IO.Printf("no environment follows one that changed in this commit: nothing to propose\n")
	}
	if err := f.Actions.SetOutput("pull-requests", strings.Join(prs, " ")); err != nil {
		return err
	}
	if f.IO.JSON() {
		return f.IO.PrintJSON(map[string]any{"proposals": out})
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
