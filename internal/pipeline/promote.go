package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mlship/mlship/internal/attest"
	"github.com/mlship/mlship/internal/eval"
	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/ghapi"
	"github.com/mlship/mlship/internal/promote"
	"github.com/mlship/mlship/internal/report"
	"github.com/mlship/mlship/internal/sign"
	"github.com/mlship/mlship/internal/spec"
)

// PromoterRequest is what promote plan, apply, propose and status share:
// the spec, the registry repository, who may sign (replacing the spec's
// signing policy) and which workflows may build.
type PromoterRequest struct {
	SpecDir          string
	Repository       string
	Keys             []string
	Identity         string
	IdentityRegexp   string
	Issuer           string
	IssuerRegexp     string
	AllowedWorkflows []string
	MainBranch       string
}

// promotion is a wired Promoter with the spec and GitHub client behind it.
type promotion struct {
	p      *promote.Promoter
	model  *spec.Model
	client *ghapi.Client
}

// newPromotion loads the spec and wires the registry, the verifier, the
// trust material and GitHub (when the run context has a token and a
// repository). A failure is a UsageError: nothing was checked yet.
func newPromotion(ctx context.Context, r *Run, req PromoterRequest, record *SignerRequest, extra ...promote.Option) (*promotion, error) {
	dir := req.SpecDir
	if dir == "" {
		dir = "."
	}
	m, err := spec.Load(ctx, dir)
	if err != nil {
		return nil, usage(err)
	}
	c := registry(r, m.Registry.PlainHTTP)
	ver := promote.SignVerifier{Client: c}
	trust, err := sign.TrustFromEnv(r.Env.Lookup)
	if err != nil {
		return nil, usage(err)
	}
	signer, err := promoteSigner(r, req)
	if err != nil {
		return nil, usage(err)
	}
	opts := []promote.Option{
		promote.WithRepository(req.Repository),
		promote.WithRegistry(promote.OCIRegistry{Client: c}),
		promote.WithVerifier(ver),
		promote.WithTrust(trust),
		promote.WithSigner(signer),
		promote.WithAllowedWorkflows(req.AllowedWorkflows...),
		promote.WithGitHubRepository(r.Env.Server(), r.Env.Repository),
		promote.WithMainBranch(req.MainBranch),
		promote.WithGetenv(r.Env.Lookup),
		promote.WithRunURL(r.Env.RunURL()),
		promote.WithLogf(func(format string, args ...any) { r.Logf(format+"\n", args...) }),
	}
	if record != nil {
		rs, err := newRecordSigner(r, *record, SignOptions(ctx, r, m.Registry.PlainHTTP))
		if err != nil {
			return nil, err
		}
		opts = append(opts, promote.WithRecorder(rs))
	}
	pm := &promotion{model: m}
	if r.Env.Token != "" && r.Env.Repository != "" {
		owner, repo, err := r.Env.OwnerRepo()
		if err != nil {
			return nil, usage(err)
		}
		if pm.client, err = r.GitHubClient(ctx); err != nil {
			return nil, usage(err)
		}
		opts = append(opts, promote.WithGitHub(pm.client, owner, repo))
	} else {
		r.Logf("%s or %s is not set: approvals cannot be read and no deployment is recorded\n", gha.VarToken, gha.VarRepository)
	}
	if pm.p, err = promote.New(m, append(opts, extra...)...); err != nil {
		return nil, usage(err)
	}
	return pm, nil
}

// recordSigner is apply's promote.Recorder: it signs each promotion record
// with the signer req describes (a cosign key, or keyless in Actions: the
// main workflow's identity), made when the first record is about to be
// written (an apply that moves nothing needs no key and asks Fulcio for
// nothing), in req's format, and with --github-attestation also stores
// its bundles on GitHub. Any failure is returned before the tag moves.
type recordSigner struct {
	r    *Run
	req  SignerRequest
	opts []sign.Option
	s    *sign.Signer
}

func newRecordSigner(r *Run, req SignerRequest, opts []sign.Option) (*recordSigner, error) {
	if err := req.checkRun(r); err != nil {
		return nil, err
	}
	if req.FulcioURL == "" {
		req.FulcioURL = sign.DefaultFulcioURL
	}
	if req.RekorURL == "" {
		req.RekorURL = sign.DefaultRekorURL
	}
	f, _ := sign.ParseFormat(req.Format) // checked above
	return &recordSigner{r: r, req: req, opts: append(opts, sign.WithFormat(f))}, nil
}

func (rs *recordSigner) Record(ctx context.Context, ref string, rec *attest.Promotion) (*promote.RecordRef, error) {
	if rs.s == nil {
		req := rs.req
		if req.Key == "" && req.IdentityToken == "" && rs.r.Env.IDTokenURL == "" {
			return nil, errors.New("no signer: give --attest-key FILE (or env://VAR), or run keyless inside GitHub Actions with `permissions: id-token: write`")
		}
		s, err := Signer(ctx, rs.r, req)
		if err != nil {
			if req.Key != "" {
				return nil, fmt.Errorf("--attest-key %s: %w", req.Key, err)
			}
			return nil, err
		}
		rs.s = s
	}
	pred, err := rec.Marshal()
	if err != nil {
		return nil, err
	}
	res, err := sign.Attest(ctx, ref, rs.s, attest.PromotionType, pred, rs.opts...)
	if err != nil {
		return nil, err
	}
	if err := storeOnGitHub(ctx, rs.r, rs.req, res); err != nil {
		return nil, err
	}
	return &promote.RecordRef{Signer: res.Signer, Tag: res.Tag, Referrers: res.Referrers, GitHubAttestations: res.GitHubAttestations}, nil
}

// promoteSigner is the request's replacement of the spec's signers.
func promoteSigner(r *Run, req PromoterRequest) (promote.Signer, error) {
	var s promote.Signer
	for _, k := range req.Keys {
		pk, err := sign.LoadPublicKey(k, r.Env.Lookup)
		if err != nil {
			return s, err
		}
		pk.Name = k
		s.Keys = append(s.Keys, pk)
	}
	if req.Identity != "" || req.IdentityRegexp != "" || req.Issuer != "" || req.IssuerRegexp != "" {
		s.Identities = append(s.Identities, sign.Identity{Subject: req.Identity, SubjectRegexp: req.IdentityRegexp, Issuer: req.Issuer, IssuerRegexp: req.IssuerRegexp})
	}
	return s, nil
}

// PromoteRequest is `mlship promote plan|apply`.
type PromoteRequest struct {
	Promoter PromoterRequest
	Mode     promote.Mode
	// Base and Head bound the change (defaults: see promote.Plan/Apply).
	Base, Head string
	// PR is the promotion pull request (default: the event's).
	PR int
	// PlanOut also receives the plan as JSON.
	PlanOut string
	// Fetch fetches the main branch before apply decides.
	Fetch bool
	// EvalFile and DriftFile keep the sticky report whole when the plan is
	// added to it.
	EvalFile, DriftFile string
	// Record says how apply signs the promotion records (--attest-key, or
	// keyless in Actions); a record that cannot be signed keeps the tag
	// where it was.
	Record SignerRequest
}

// PromoteResult is a plan or apply that ran: Plan is what was decided, Err
// the refusal (a *promote.RefusedError names the rules) or nil.
type PromoteResult struct {
	Plan  *promote.Plan
	Model *spec.Model
	Err   error
}

// Promote plans or applies the promotion. A returned error means no plan
// could be made (a UsageError when the setup failed); a plan that refuses
// comes back in the result with Err set, after its outputs, job summary,
// check run, sticky report and annotations are written.
func Promote(ctx context.Context, r *Run, req PromoteRequest) (*PromoteResult, error) {
	var w gha.Workflow
	if r.Actions.Active() && r.Env.Repository != "" {
		var err error
		if w, err = r.Env.Workflow(); err != nil {
			r.Logf("warning: reading the workflow environment: %v\n", err)
		}
	}
	if req.PR == 0 {
		req.PR = w.PullRequest
	}
	var record *SignerRequest
	if req.Mode == promote.ModeApply {
		record = &req.Record
	}
	pm, err := newPromotion(ctx, r, req.Promoter, record, promote.WithPullRequest(req.PR), promote.WithFetch(req.Fetch))
	if err != nil {
		return nil, err
	}
	var pl *promote.Plan
	var runErr error
	if req.Mode == promote.ModeApply {
		pl, runErr = pm.p.Apply(ctx, req.Base, req.Head)
	} else if pl, runErr = pm.p.Plan(ctx, promote.ModePlan, req.Base, req.Head); runErr == nil {
		runErr = pl.Err()
	}
	if pl == nil {
		return nil, runErr
	}
	res := &PromoteResult{Plan: pl, Model: pm.model, Err: runErr}
	if err := recordPlan(ctx, r, req, pm, w, res); err != nil {
		return nil, err
	}
	return res, nil
}

// recordPlan writes the plan where the run shows it: the plan file, the
// job summary, GitHub (check run, sticky report), step outputs and one
// annotation per refusal.
func recordPlan(ctx context.Context, r *Run, req PromoteRequest, pm *promotion, w gha.Workflow, res *PromoteResult) error {
	pl := res.Plan
	if req.PlanOut != "" {
		b, _ := json.MarshalIndent(pl, "", "  ")
		if err := os.WriteFile(req.PlanOut, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("writing the plan to %s: %w", req.PlanOut, err)
		}
	}
	if err := r.Summary(pl.Markdown() + "\n"); err != nil {
		r.Logf("warning: step summary: %v\n", err)
	}
	if pm.client != nil {
		publishPlan(ctx, r, req, pm, pl, w)
	}
	outs := map[string]string{"ok": strconv.FormatBool(res.Err == nil), "pending": strconv.FormatBool(pl.Pending),
		"environments": strings.Join(pl.Environments(), " "), "moved": strings.Join(pl.Moved(), " ")}
	if req.PlanOut != "" {
		outs["plan-path"] = req.PlanOut
	}
	for k, v := range outs {
		if err := r.Actions.SetOutput(k, v); err != nil {
			return err
		}
	}
	var re *promote.RefusedError
	if errors.As(res.Err, &re) {
		for _, msg := range re.Failures {
			r.Annotate(planAnnotation(pm.model, msg))
		}
	}
	return nil
}

// publishPlan posts the check run and the sticky report; failures to post
// are warnings, never a failed promotion check.
func publishPlan(ctx context.Context, r *Run, req PromoteRequest, pm *promotion, pl *promote.Plan, w gha.Workflow) {
	owner, repo := w.Owner, w.Repo
	if owner == "" {
		var err error
		if owner, repo, err = r.Env.OwnerRepo(); err != nil {
			return
		}
	}
	head := w.HeadSHA
	if req.Mode == promote.ModeApply || head == "" {
		head = pl.Head
	}
	name := "mlship promote (" + pm.model.Name + ")"
	if req.Mode == promote.ModeApply {
		name = "mlship promote apply (" + pm.model.Name + ")"
	}
	if _, err := pm.client.UpsertCheckRun(ctx, owner, repo, head, name, ghapi.CheckOutput{
		Title: pl.Title(), Summary: pl.Markdown(), Conclusion: pl.Conclusion(), DetailsURL: w.RunURL,
	}); err != nil {
		r.Logf("warning: posting the check run %q: %v\n", name, err)
	}
	// A pull request that changes no environment (a training pull
	// request) keeps its sticky report as the report step wrote it.
	if req.Mode != promote.ModePlan || req.PR == 0 || len(pl.Envs) == 0 {
		return
	}
	in := report.Input{Model: pm.model.Name, FullReportURL: w.RunURL, Sections: []report.Section{{
		Title: "Promotion plan", Markdown: pl.Markdown(), Short: "### Promotion plan\n\n" + pl.Title() + "\n", Priority: report.PriorityPlan,
	}}}
	if req.EvalFile != "" {
		if res, err := eval.ReadResultFile(req.EvalFile); err == nil {
			in.Eval = res
		} else {
			r.Logf("warning: %v\n", err)
		}
	}
	if req.DriftFile != "" {
		if d, err := report.ReadDriftFile(req.DriftFile); err == nil {
			in.Drift = d
		} else {
			r.Logf("warning: %v\n", err)
		}
	}
	if _, err := report.Publish(ctx, in, report.GitHubSinks(pm.client, report.Target{Owner: owner, Repo: repo, PullRequest: req.PR, DetailsURL: w.RunURL})...); err != nil {
		r.Logf("warning: posting the plan in the sticky report: %v\n", err)
	}
}

// planAnnotation points a refusal at the environments file.
func planAnnotation(m *spec.Model, msg string) gha.Annotation {
	file := ""
	for _, n := range spec.EnvironmentsFiles {
		if _, err := os.Stat(filepath.Join(m.Dir, n)); err == nil {
			file = filepath.Join(m.Dir, n)
			break
		}
	}
	return gha.Annotation{Level: "error", Title: "mlship promote", Message: msg, File: file}
}

// ProposeRequest is `mlship promote propose`.
type ProposeRequest struct {
	Promoter PromoterRequest
	// To is the environment to promote to, or "next": every environment
	// whose previous environment changed in Base.
	To     string
	Base   string
	NoPush bool
}

// ProposeResult lists the proposals made (JSON: {"proposals": [...]}).
type ProposeResult struct {
	Proposals []*promote.Proposal `json:"proposals"`
	// Envs are the environments considered ("next" may find none).
	Envs []string `json:"-"`
}

// Propose opens or updates the promotion pull request of each environment
// and records them in the job summary and the pull-requests output.
func Propose(ctx context.Context, r *Run, req ProposeRequest) (*ProposeResult, error) {
	if req.To == "" {
		return nil, usage(errors.New("--to ENV is required (or --to next)"))
	}
	pm, err := newPromotion(ctx, r, req.Promoter, nil)
	if err != nil {
		return nil, err
	}
	res := &ProposeResult{Envs: []string{req.To}}
	if req.To == "next" {
		if res.Envs, err = pm.p.NextEnvironments(ctx, "", req.Base); err != nil {
			return nil, err
		}
	}
	var prs []string
	for _, env := range res.Envs {
		pr, err := pm.p.Propose(ctx, env, promote.ProposeOptions{Base: req.Base, Push: !req.NoPush, Actor: r.Env.Actor})
		if err != nil {
			return res, fmt.Errorf("proposing %s: %w", env, err)
		}
		res.Proposals = append(res.Proposals, pr)
		if pr.PullRequest != nil && !pr.UpToDate {
			prs = append(prs, strconv.Itoa(pr.PullRequest.Number))
			_ = r.Summary(fmt.Sprintf("Promotion pull request [#%d](%s) %s: %s\n", pr.PullRequest.Number, pr.PullRequest.HTMLURL, ProposalVerb(pr), pr.Title))
		}
	}
	return res, r.Actions.SetOutput("pull-requests", strings.Join(prs, " "))
}

// ProposalVerb says what happened to a proposal's pull request.
func ProposalVerb(pr *promote.Proposal) string {
	if pr.Created {
		return "opened"
	}
	return "updated"
}
