package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"

	iris "github.com/mlship/mlship/examples/iris"
	"github.com/mlship/mlship/internal/eval"
	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/promote"
	"github.com/mlship/mlship/internal/report"
	"github.com/mlship/mlship/internal/sign"
	"github.com/mlship/mlship/internal/spec"
)

// Options configure a demo run.
type Options struct {
	// Dir is the working directory; empty means a new temporary one.
	Dir string
	// Trainer is the argv prefix that runs the iris trainer; the CLI
	// passes its own executable with "demo trainer".
	Trainer []string
	// Out receives one line per stage; Log receives the stages' own
	// output (training logs and the like).
	Out, Log io.Writer
}

// Summary is what the demo produced, for --output json.
type Summary struct {
	Dir          string            `json:"dir"`
	Registry     string            `json:"registry"`
	Baseline     string            `json:"baseline"`
	Digest       string            `json:"digest"`
	Ref          string            `json:"ref"`
	InputDigest  string            `json:"inputDigest"`
	EvalPassed   bool              `json:"evalPassed"`
	DatasetDrift bool              `json:"datasetDrift"`
	Report       string            `json:"report"`
	Environments map[string]string `json:"environments"`
	Pulled       string            `json:"pulled"`
	Deployments  int               `json:"deployments"`
}

type run struct {
	o       Options
	repo    string // the spec directory, a git repository
	regHost string
	repoRef string // host/demo/iris
	signer  *sign.Signer
	// promoter signs promotion records: a key of its own, as the spec's
	// signing.promotion.key (promotion.pub) requires.
	promoter *sign.Signer
	gh       *localGitHub
}

// password protects the demo's ephemeral key; it never leaves the run.
const password = "mlship-demo"

// Run executes the whole loop on embedded defaults: nothing outside the
// machine is contacted.
func Run(ctx context.Context, o Options) (*Summary, error) {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if len(o.Trainer) == 0 {
		return nil, errors.New("demo: no trainer command given")
	}
	if o.Dir == "" {
		d, err := os.MkdirTemp("", "mlship-demo-")
		if err != nil {
			return nil, fmt.Errorf("creating the demo directory: %w", err)
		}
		o.Dir = d
	}
	if _, err := exec.LookPath("git"); err != nil {
		return nil, errors.New("the demo records environments in git, and git is not on PATH: install git")
	}
	r := &run{o: o, gh: newLocalGitHub(), repo: filepath.Join(o.Dir, "iris")}
	sum := &Summary{Dir: o.Dir, Environments: map[string]string{}}

	// 1. An OCI registry in this process, on loopback.
	stop, err := r.startRegistry()
	if err != nil {
		return nil, err
	}
	defer stop()
	sum.Registry = r.regHost
	r.say("registry", "in-process OCI registry at %s (repository %s)", r.regHost, r.repoRef)

	// 2. The iris example, as a repository of its own.
	if err := r.writeExample(ctx); err != nil {
		return nil, err
	}
	r.say("setup", "iris example written to %s (a git repository)", r.repo)

	// 3. Validate.
	m, err := r.validate(ctx)
	if err != nil {
		return nil, fmt.Errorf("validating the iris spec: %w", err)
	}
	r.say("validate", "%s %s is valid (spec %s)", m.Name, m.Version, oci.ShortDigest(m.Digest))

	// 4. An ephemeral cosign key pair.
	if err := r.keygen(); err != nil {
		return nil, err
	}
	r.say("keygen", "ephemeral cosign key pairs %s (signs candidates) and %s (signs promotion records: signing.promotion)", r.rel("cosign.key"), r.rel("promotion.key"))

	// 5. The model prod runs today: a weaker one (fewer epochs), shipped
	// earlier. It is the baseline the new model is judged against.
	base, err := r.shipBaseline(ctx, m)
	if err != nil {
		return nil, fmt.Errorf("preparing the baseline: %w", err)
	}
	sum.Baseline = base
	r.say("baseline", "prod runs %s (an earlier model trained for 5 epochs), recorded in mlship/environments.cue", oci.ShortDigest(base))

	// 6. Train.
	tr, err := r.train(ctx)
	if err != nil {
		return nil, fmt.Errorf("training: %w", err)
	}
	sum.InputDigest = tr.InputDigest
	r.say("train", "trained in %s: accuracy %s, input digest %s → %s", r.rel("model"), metric(tr.Metrics, "accuracy"), oci.ShortDigest(tr.InputDigest), r.rel(filepath.Base(tr.RunPath)))

	// 7. Evaluate against prod's model.
	evalPath := filepath.Join(r.o.Dir, "eval-result.json")
	ev, err := r.evaluate(ctx, m, evalPath)
	if err != nil {
		return nil, fmt.Errorf("evaluating: %w", err)
	}
	sum.EvalPassed = ev.Passed
	r.say("eval", "%s against prod's %s: %s → %s", verdict(ev.Passed), oci.ShortDigest(base), deltas(ev), evalPath)

	// 8. Drift between the training data and what production sees now.
	driftPath := filepath.Join(r.o.Dir, "drift.json")
	dr, err := r.drift(ctx, driftPath)
	if err != nil {
		return nil, fmt.Errorf("computing drift: %w", err)
	}
	sum.DatasetDrift = dr.DatasetDrift
	r.say("drift", "%d of %d columns drifted (share %.2f, dataset drift %v) → %s", drifted(dr), len(dr.Columns), dr.DriftShare, dr.DatasetDrift, driftPath)

	// 9. Package and push.
	pushed, err := r.push(ctx, m, tr.InputDigest, m.Version)
	if err != nil {
		return nil, err
	}
	sum.Digest, sum.Ref = pushed.Digest, pushed.Ref
	r.say("package", "ModelPack artifact, %d layers, %s pushed as %s", pushed.Layers, bytesText(pushed.Size), pushed.Ref)

	// 10. Sign and attest.
	if err := r.signAndAttest(ctx, pushed.Ref, evalPath, tr.InputDigest); err != nil {
		return nil, err
	}
	r.say("sign", "signed %s and attached eval + SLSA provenance attestations as Sigstore bundles (OCI referrers, as cosign 3 writes) and in cosign 2's sha256-<hex>.sig/.att tags", oci.ShortDigest(pushed.Digest))

	// 11. The pull-request report.
	md, err := report.Render(report.Input{Model: m.Name, Eval: ev, Drift: dr}, report.CommentLimits)
	if err != nil {
		return nil, err
	}
	sum.Report = filepath.Join(r.o.Dir, "report.md")
	if err := os.WriteFile(sum.Report, []byte(md), 0o644); err != nil {
		return nil, fmt.Errorf("writing the report: %w", err)
	}
	r.say("report", "pull-request report (the sticky comment's body) → %s", sum.Report)

	// 12–14. Promote dev → staging → prod, one merged pull request each.
	for _, env := range m.EnvironmentOrder {
		moved, err := r.promote(ctx, m, env, pushed.Digest)
		if err != nil {
			return nil, err
		}
		sum.Environments[env] = pushed.Digest
		r.say("promote", "%s", moved)
	}
	sum.Deployments = len(r.gh.deployments)

	// 15. Pull prod back, verified, as a deployer does: signed, attested,
	// and promoted to prod (the signed promotion record apply attached).
	pol, err := sign.PolicyFromSpec(m, "prod", noEnv)
	if err != nil {
		return nil, err
	}
	pol.Attestations = append(pol.Attestations, sign.NewPromotionRule("prod"))
	pulledDir := filepath.Join(r.o.Dir, "pulled")
	pr, err := oci.Pull(ctx, r.repoRef+":prod", pulledDir, oci.WithPlainHTTP(true), oci.WithVerifier(pol.Verifier(sign.WithNameOptions(name.Insecure))))
	if err != nil {
		return nil, fmt.Errorf("pulling prod with verification: %w", err)
	}
	sum.Pulled = pulledDir
	r.say("pull", "%s:prod verified (signature, eval and provenance attestations, promotion record for prod) and pulled: %s → %s", r.repoRef, strings.Join(pr.Files, ", "), pulledDir)

	fmt.Fprintf(r.o.Out, "\ndone in %s. Look at:\n", r.o.Dir)
	for _, l := range [][2]string{
		{sum.Report, "the report a reviewer reads on the pull request"},
		{evalPath, "the eval result (the eval attestation's predicate)"},
		{tr.RunPath, "lineage of the training run"},
		{filepath.Join(r.repo, "mlship", "environments.cue"), "desired state per environment (git -C " + r.repo + " log shows each promotion)"},
		{pulledDir, "the prod model, as a deployer gets it"},
	} {
		fmt.Fprintf(r.o.Out, "  %-*s  %s\n", len(r.o.Dir)+30, l[0], l[1])
	}
	return sum, nil
}

func (r *run) say(stage, format string, args ...any) {
	fmt.Fprintf(r.o.Out, "%-9s %s\n", stage, fmt.Sprintf(format, args...))
}

func (r *run) rel(p string) string { return filepath.Join(r.repo, p) }

func (r *run) startRegistry() (func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the in-process registry: %w", err)
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(discardLogger())), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // Serve returns when Close is called
	r.regHost = ln.Addr().String()
	r.repoRef = r.regHost + "/demo/iris"
	return func() { srv.Close() }, nil
}

// writeExample copies the embedded iris example, points it at the
// in-process registry and the trainer built into this binary, and makes
// it a git repository whose first commit is the state before the demo.
func (r *run) writeExample(ctx context.Context) error {
	err := fs.WalkDir(iris.Files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(r.repo, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := iris.Files.ReadFile(p)
		if err != nil {
			return err
		}
		if p == "model.cue" {
			b, err = r.rewriteSpec(b)
			if err != nil {
				return err
			}
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		return fmt.Errorf("writing the iris example: %w", err)
	}
	if err := os.WriteFile(filepath.Join(r.repo, ".gitignore"), []byte("model/\nmetrics.json\neval.json\nexamples.jsonl\nrun.json\ncosign.key\npromotion.key\n"), 0o644); err != nil {
		return err
	}
	if err := r.git(ctx, "init", "-q", "-b", "main"); err != nil {
		return err
	}
	if err := r.git(ctx, "add", "-A"); err != nil {
		return err
	}
	return r.git(ctx, "commit", "-q", "-m", "the iris example")
}

func (r *run) rewriteSpec(src []byte) ([]byte, error) {
	s := string(src)
	trainer := make([]string, len(r.o.Trainer))
	for i, a := range r.o.Trainer {
		trainer[i] = fmt.Sprintf("%q", a)
	}
	replacements := []struct{ old, new string }{
		{`"localhost:5000/mlship/iris"`, fmt.Sprintf("%q", r.repoRef)},
		{`"go", "run", "./trainer"`, strings.Join(trainer, ", ")},
	}
	for _, rep := range replacements {
		if !strings.Contains(s, rep.old) {
			return nil, fmt.Errorf("the embedded iris spec no longer contains %s: the demo needs updating", rep.old)
		}
		s = strings.ReplaceAll(s, rep.old, rep.new)
	}
	return []byte(s), nil
}

func (r *run) keygen() error {
	priv, pub, err := sign.GenerateKeyPair([]byte(password))
	if err != nil {
		return err
	}
	if err := os.WriteFile(r.rel("cosign.key"), priv, 0o600); err != nil {
		return fmt.Errorf("writing the demo key: %w", err)
	}
	if err := os.WriteFile(r.rel("cosign.pub"), pub, 0o644); err != nil {
		return fmt.Errorf("writing the demo public key: %w", err)
	}
	sv, err := sign.LoadPrivateKey(r.rel("cosign.key"), []byte(password), noEnv)
	if err != nil {
		return err
	}
	if r.signer, err = sign.NewKeySigner(sv, r.rel("cosign.key")); err != nil {
		return err
	}
	// The promotion records' key pair (signing.promotion.key).
	ppriv, ppub, err := sign.GenerateKeyPair([]byte(password))
	if err != nil {
		return err
	}
	if err := os.WriteFile(r.rel("promotion.key"), ppriv, 0o600); err != nil {
		return fmt.Errorf("writing the demo promotion key: %w", err)
	}
	if err := os.WriteFile(r.rel("promotion.pub"), ppub, 0o644); err != nil {
		return fmt.Errorf("writing the demo promotion public key: %w", err)
	}
	psv, err := sign.LoadPrivateKey(r.rel("promotion.key"), []byte(password), noEnv)
	if err != nil {
		return err
	}
	r.promoter, err = sign.NewKeySigner(psv, r.rel("promotion.key"))
	return err
}

// shipBaseline trains, packages, signs and attests a weaker model and
// records it as running in every environment: the state of a project
// that shipped before.
func (r *run) shipBaseline(ctx context.Context, m *spec.Model) (string, error) {
	tr, err := r.train(ctx, "epochs=5")
	if err != nil {
		return "", fmt.Errorf("training the baseline: %w", err)
	}
	ev, err := eval.Run(ctx, m, eval.WithBaselineSource(eval.NoBaseline()), eval.WithOutput(r.o.Log, r.o.Log))
	if err != nil {
		return "", fmt.Errorf("evaluating the baseline: %w", err)
	}
	evalPath := filepath.Join(r.o.Dir, "baseline-eval.json")
	if err := writeJSON(evalPath, ev); err != nil {
		return "", err
	}
	// Keep the per-example results: with them the new model's deltas get
	// paired bootstrap confidence intervals.
	if m.Eval != nil && m.Eval.ExamplesFile != "" {
		if err := os.Rename(filepath.Join(r.repo, m.Eval.ExamplesFile), filepath.Join(r.o.Dir, "baseline-examples.jsonl")); err != nil {
			return "", fmt.Errorf("keeping the baseline's per-example results: %w", err)
		}
	}
	pushed, err := r.push(ctx, m, tr.InputDigest, "0.9.0")
	if err != nil {
		return "", err
	}
	if err := r.signAndAttest(ctx, pushed.Ref, evalPath, tr.InputDigest); err != nil {
		return "", err
	}
	envFile := r.rel("mlship/environments.cue")
	data, err := os.ReadFile(envFile)
	if err != nil {
		return "", err
	}
	for _, env := range m.EnvironmentOrder {
		data, err = promote.SetEnvironment(envFile, data, env, spec.EnvState{Digest: pushed.Digest, Version: "0.9.0"})
		if err != nil {
			return "", err
		}
		if _, err := oci.Tag(ctx, pushed.Ref, env, oci.WithPlainHTTP(true)); err != nil {
			return "", err
		}
	}
	if err := os.WriteFile(envFile, data, 0o644); err != nil {
		return "", err
	}
	if err := r.git(ctx, "add", "-A"); err != nil {
		return "", err
	}
	// The trained files of the baseline are not part of the repository.
	if err := os.RemoveAll(tr.ModelDir); err != nil {
		return "", err
	}
	return pushed.Digest, r.git(ctx, "commit", "-q", "-m", "iris 0.9.0 runs in every environment")
}

func (r *run) signAndAttest(ctx context.Context, ref, evalPath, inputDigest string) error {
	ro := []sign.Option{sign.WithNameOptions(name.Insecure)}
	if _, err := sign.Sign(ctx, ref, r.signer, ro...); err != nil {
		return fmt.Errorf("signing %s: %w", ref, err)
	}
	evalPred, err := os.ReadFile(evalPath)
	if err != nil {
		return err
	}
	if _, err := sign.Attest(ctx, ref, r.signer, sign.EvalPredicateType, evalPred, ro...); err != nil {
		return fmt.Errorf("attesting eval on %s: %w", ref, err)
	}
	commit, _ := r.gitOutput(ctx, "rev-parse", "HEAD")
	prov, err := sign.ProvenancePredicate(sign.ProvenanceInput{
		BuilderID:    "https://github.com/mlship/demo/.github/workflows/pr.yml@refs/heads/main",
		SourceRepo:   "file://" + r.repo,
		SourceCommit: commit,
		Inputs:       []sign.Dataset{{Name: "train", Digest: inputDigest}},
	})
	if err != nil {
		return err
	}
	if _, err := sign.Attest(ctx, ref, r.signer, sign.ProvenancePredicateType, prov, ro...); err != nil {
		return fmt.Errorf("attesting provenance on %s: %w", ref, err)
	}
	return nil
}

// promote does what a promotion pull request does: change the digest of
// env in mlship/environments.cue, get it approved and merged, then run
// promote apply on the merge commit as the main workflow would.
func (r *run) promote(ctx context.Context, m *spec.Model, env, digest string) (string, error) {
	envFile := r.rel("mlship/environments.cue")
	data, err := os.ReadFile(envFile)
	if err != nil {
		return "", err
	}
	data, err = promote.SetEnvironment(envFile, data, env, spec.EnvState{Digest: digest, Version: m.Version, PromotedBy: "demo-reviewer"})
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(envFile, data, 0o644); err != nil {
		return "", err
	}
	title := fmt.Sprintf("Promote %s %s to %s", m.Name, m.Version, env)
	if err := r.git(ctx, "commit", "-q", "-am", title); err != nil {
		return "", err
	}
	sha, err := r.gitOutput(ctx, "rev-parse", "HEAD")
	if err != nil {
		return "", err
	}
	pr := r.gh.merge(title, "demo-author", "demo-reviewer", sha)
	p, err := promote.New(m, promote.WithGitHub(r.gh, "mlship", "demo"), promote.WithRepository(r.repoRef),
		promote.WithAllowedWorkflows(`^https://github\.com/mlship/demo/`), promote.WithRunURL("file://"+r.o.Dir),
		// Every tag that moves gets a promotion record signed with the demo's promotion key.
		promote.WithRecorder(&promote.SignRecorder{Signer: r.promoter, Options: []sign.Option{sign.WithNameOptions(name.Insecure)}}))
	if err != nil {
		return "", err
	}
	pl, err := p.Apply(ctx, "HEAD^", "HEAD")
	if err != nil {
		return "", fmt.Errorf("promoting to %s: %w", env, err)
	}
	return fmt.Sprintf("%s: PR #%d approved by demo-reviewer and merged; rules passed (%s); promotion record signed; tag %s:%s → %s, deployment recorded", env, pr, rulesText(pl, env), r.repoRef, env, oci.ShortDigest(digest)), nil
}

func (r *run) git(ctx context.Context, args ...string) error {
	_, err := r.gitOutput(ctx, args...)
	return err
}

func (r *run) gitOutput(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = r.repo
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=mlship demo", "GIT_AUTHOR_EMAIL=demo@mlship.invalid", "GIT_COMMITTER_NAME=mlship demo", "GIT_COMMITTER_EMAIL=demo@mlship.invalid", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s in %s: %v: %s", strings.Join(args, " "), r.repo, err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "passed"
	}
	return "FAILED"
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
