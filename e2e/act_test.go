package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/mlship/mlship/internal/attest"
	"github.com/mlship/mlship/internal/cli"
	"github.com/mlship/mlship/internal/githubtest"
	"github.com/mlship/mlship/internal/iostreams"
	"github.com/mlship/mlship/internal/promote"
	"github.com/mlship/mlship/internal/sign"
	"github.com/mlship/mlship/internal/spec"
	"github.com/mlship/mlship/internal/testenv"
)

const (
	owner    = "acme"
	repoName = "iris"
	// password of the test's cosign key (a secret in the workflows).
	keyPassword = "e2e-password"
	// password of the promotion records' key (MLSHIP_PROMOTION_PASSWORD).
	promotionPassword = "e2e-promotion-password"
)

// t0 dates the example repository's commits, so their SHAs are stable.
var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// harness is one example repository wired to a registry, the GitHub
// emulator and the mlship source, ready for act.
type harness struct {
	root     string // the mlship checkout
	src      string // snapshot of its source: what mlship/mlship@v1 resolves to
	repo     string // the example, as its own git repository
	origin   string // a bare repository standing in for GitHub's copy (the remote "origin")
	act      string
	cache    string // act's action cache; its tool_cache is RUNNER_TOOL_CACHE
	registry string // 127.0.0.1:PORT
	gh       *githubtest.Server
	secrets  string // act --secret-file
	// candidateKey is the candidates' private key (COSIGN_PRIVATE_KEY) in
	// a file: what pr.yml, and so any branch pusher, can sign with.
	candidateKey string
	env          []string
	runs         int
}

// repository is the example's registry repository in the test registry.
func (h *harness) repository() string { return h.registry + "/" + owner + "/" + repoName }

// newHarness copies examples/iris into a temporary git repository (as a
// user's own repository would hold it) whose signing key (cosign.pub, named
// by the spec) is a fresh cosign key pair. The workflows reach the fresh
// Distribution registry through the MLSHIP_REPOSITORY repository variable.
func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{root: testenv.RepoRoot(t)}
	example := filepath.Join(h.root, "examples", "iris")
	for _, wf := range []string{"pr.yml", "main.yml"} {
		if _, err := os.Stat(filepath.Join(example, ".github", "workflows", wf)); err != nil {
			t.Fatalf("examples/iris/.github/workflows/%s is missing: the e2e tests run the example's real workflows (%v)", wf, err)
		}
	}
	h.act = testenv.Tool(t, "act")
	h.registry = testenv.StartRegistry(t)
	h.gh = githubtest.New(t)
	h.src = sourceSnapshot(t, h.root)
	h.cache = t.TempDir()

	// The example's files as a commit holds them (from the snapshot: no
	// outputs of local runs), in a repository of its own.
	h.repo = filepath.Join(t.TempDir(), repoName)
	copyTree(t, filepath.Join(h.src, "examples", "iris"), h.repo)
	// In the mlship repository the trainer is a package of the mlship
	// module; a repository of its own has its own go.mod. Its module path
	// is the directory's import path inside mlship, which the trainer uses
	// to import its helper package (irisml); nothing else is required.
	if _, err := os.Stat(filepath.Join(h.repo, "go.mod")); os.IsNotExist(err) {
		writeFile(t, filepath.Join(h.repo, "go.mod"), "module "+testenv.ModulePath+"/examples/iris\n\ngo 1.26\n")
	}
	appendFile(t, filepath.Join(h.repo, ".gitignore"), "/model/\n/metrics.json\n/eval.json\n/examples.jsonl\n/run.json\n")

	priv, pub, err := sign.GenerateKeyPair([]byte(keyPassword))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(h.repo, "cosign.pub"), string(pub))
	// The promotion records' key pair, apart from the candidates' (the
	// spec's signing.promotion.key): only main.yml gets its secret.
	promoPriv, promoPub, err := sign.GenerateKeyPair([]byte(promotionPassword))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(h.repo, "promotion.pub"), string(promoPub))
	h.candidateKey = writeSecretKey(t, priv)

	git(t, h.repo, "init", "--quiet", "--initial-branch=main")
	// actions/checkout leaves "origin" pointing at GitHub, with the token
	// to push: promote fetches main from it and pushes the next promotion
	// branch to it.
	h.origin = filepath.Join(t.TempDir(), repoName+".git")
	git(t, "", "init", "--quiet", "--bare", "--initial-branch=main", h.origin)
	git(t, h.repo, "remote", "add", "origin", h.origin)
	h.secrets = writeSecrets(t, t.TempDir(), map[string]string{
		"GITHUB_TOKEN":              h.gh.Token,
		"COSIGN_PRIVATE_KEY":        string(priv),
		"COSIGN_PASSWORD":           keyPassword,
		"MLSHIP_PROMOTION_KEY":      string(promoPriv),
		"MLSHIP_PROMOTION_PASSWORD": promotionPassword,
	})
	h.env = hostEnv(t)
	return h
}

// writeSecretKey writes a private key into a file of its own (0600).
func writeSecretKey(t testing.TB, priv []byte) string {
	t.Helper()
	return writeSecretFile(t, "cosign.key", priv)
}

func writeSecretFile(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func appendFile(t testing.TB, p, content string) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t testing.TB, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// run runs one workflow of the example with act for event (whose payload is
// validated against GitHub's webhook schema first) and fails the test,
// with act's output, when act fails.
func (h *harness) run(t *testing.T, event, workflow, ref, sha string, runID, attempt int, payload []byte) *actResult {
	t.Helper()
	if err := githubtest.ValidateWebhook(t, event, payload); err != nil {
		t.FailNow()
	}
	h.runs++
	ev := filepath.Join(t.TempDir(), fmt.Sprintf("event-%d.json", h.runs))
	if err := os.WriteFile(ev, payload, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{event,
		"-W", filepath.Join(".github", "workflows", workflow),
		"-e", ev,
		"-P", "ubuntu-latest=-self-hosted",
		"-P", "self-hosted=-self-hosted",
		"--local-repository", "mlship/mlship@v1=" + h.src,
		"--action-cache-path", h.cache,
		"--action-offline-mode",
		"--no-cache-server", // no actions/cache here; it would write to ~/.cache/actcache
		"--secret-file", h.secrets,
		// The workflows' registry override: a repository variable.
		"--var", "MLSHIP_REPOSITORY=" + h.repository(),
		"--env", "GITHUB_API_URL=" + strings.TrimSuffix(h.gh.URL, "/"),
		"--env", "GITHUB_REPOSITORY=" + owner + "/" + repoName,
		"--env", "GITHUB_REPOSITORY_OWNER=" + owner,
		"--env", "GITHUB_RUN_ID=" + fmt.Sprint(runID),
		"--env", "GITHUB_RUN_ATTEMPT=" + fmt.Sprint(attempt),
		// The runner sets these (provenance names the workflow); act
		// v0.2.89 does not.
		"--env", "GITHUB_WORKFLOW_REF=" + owner + "/" + repoName + "/.github/workflows/" + workflow + "@" + ref,
		"--env", "GITHUB_WORKFLOW_SHA=" + sha,
	}
	cmd := testenv.Command(t, h.repo, h.act, args...)
	cmd.Env = h.env
	start := time.Now()
	out, errOut, err := testenv.TryCmd(t, cmd)
	r := &actResult{Output: out + errOut, Err: err, Wall: time.Since(start)}
	r.Steps = parseSteps(r.Output)
	if err != nil {
		t.Logf("act output:\n%s", r.Output)
		t.Fatalf("act %s -W %s failed after %s: %v\n%s", event, workflow, r.Wall.Round(time.Second), err, r.failureSummary())
	}
	var named []string
	for _, s := range r.Steps {
		if s.Stage == "Main" && !strings.ContainsAny(s.Name, `$"=/`) {
			named = append(named, fmt.Sprintf("%s %s", s.Name, s.Took.Round(10*time.Millisecond)))
		}
	}
	t.Logf("act %s -W %s: %s in all; %s", event, workflow, r.Wall.Round(time.Millisecond), strings.Join(named, ", "))
	return r
}

// resolve returns the digest a tag of the example's repository points at.
func (h *harness) resolve(t *testing.T, tag string) (string, error) {
	t.Helper()
	ref, err := name.NewTag(h.repository()+":"+tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(ref, remote.WithContext(t.Context()))
	if err != nil {
		return "", err
	}
	return desc.Digest.String(), nil
}

// TestIrisWorkflows runs examples/iris's pull-request workflow twice on a
// pull request and its main workflow on the merge of a promotion, the way
// GitHub would, and checks what they leave in the registry and on GitHub.
func TestIrisWorkflows(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: runs the example's workflows with act (minutes); skipped under -short")
	}
	h := newHarness(t)

	// main: the example as committed; feature: a pull request changing
	// the training (a hyperparameter), as a data scientist would.
	base := commitAll(t, h.repo, "Add the iris model", t0)
	git(t, h.repo, "checkout", "--quiet", "-b", "feature")
	spec := filepath.Join(h.repo, "model.cue")
	b, err := os.ReadFile(spec)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "epochs:        200") {
		t.Fatalf("examples/iris/model.cue no longer says `epochs:        200`: update the change this test proposes")
	}
	writeFile(t, spec, strings.Replace(string(b), "epochs:        200", "epochs:        250", 1))
	head := commitAll(t, h.repo, "Train for 250 epochs", t0.Add(time.Hour))
	git(t, h.repo, "push", "--quiet", "origin", "main", "feature")
	h.gh.SetBranch(owner, repoName, "main", base)
	pr := h.gh.AddPullRequest(owner, repoName, githubtest.PullRequest{
		Title: "Train for 250 epochs", User: "octocat", Head: "feature", HeadSHA: head, Base: "main", BaseSHA: base,
	})
	prRef := fmt.Sprintf("refs/pull/%d/merge", pr.Number)

	var digest string
	t.Run("pull_request", func(t *testing.T) {
		payload, err := h.gh.PullRequestEvent(owner, repoName, pr.Number, "opened")
		if err != nil {
			t.Fatal(err)
		}
		first := h.run(t, "pull_request", "pr.yml", prRef, head, 2001, 1, payload)
		h.checkPullRequest(t, pr.Number, head)
		comment := h.gh.Comments(owner, repoName, pr.Number)[0]

		digest, err = h.resolve(t, "1.0.0")
		if err != nil {
			t.Fatalf("the pull request workflow left no %s:1.0.0 in the registry: %v", h.repository(), err)
		}
		for _, suffix := range []string{".sig", ".att"} {
			tag := strings.Replace(digest, ":", "-", 1) + suffix
			if _, err := h.resolve(t, tag); err != nil {
				t.Errorf("the pushed model %s has no %s in the registry (not signed or attested): %v", digest, tag, err)
			}
		}

		// Re-running the run (attempt 2, same event) updates the sticky
		// comment in place and pushes the same bytes: same digest.
		second := h.run(t, "pull_request", "pr.yml", prRef, head, 2001, 2, payload)
		h.checkPullRequest(t, pr.Number, head)
		if again := h.gh.Comments(owner, repoName, pr.Number)[0]; again.ID != comment.ID {
			t.Errorf("the re-run replaced comment %d with %d instead of updating it", comment.ID, again.ID)
		}
		if d2, err := h.resolve(t, "1.0.0"); err != nil || d2 != digest {
			t.Errorf("re-running the run moved 1.0.0 from %s to %s (%v): same commit and run, same artifact", digest, d2, err)
		}
		reportOverhead(t, first, second)
	})
	if digest == "" {
		t.Fatal("the pull_request workflow did not leave a model to promote: skipping the push to main")
	}

	t.Run("push_main", func(t *testing.T) {
		// The pull request is merged, then the promotion pull request that
		// sets dev to the new digest is approved and merged: the push to
		// main that the main workflow reacts to.
		git(t, h.repo, "checkout", "--quiet", "main")
		git(t, h.repo, "merge", "--quiet", "--ff-only", "feature")
		before := git(t, h.repo, "rev-parse", "HEAD")
		envFile := h.setEnvironment(t, "dev", digest)
		after := commitAll(t, h.repo, "Promote iris 1.0.0 to dev", t0.Add(2*time.Hour))
		git(t, h.repo, "push", "--quiet", "origin", "main", "main:mlship/promote-dev")
		h.gh.SetBranch(owner, repoName, "mlship/promote-dev", after)
		promo := h.gh.AddPullRequest(owner, repoName, githubtest.PullRequest{
			Title: "Promote iris 1.0.0 to dev", User: "octocat", Head: "mlship/promote-dev", HeadSHA: after, Base: "main", BaseSHA: before,
		})
		h.gh.AddReview(owner, repoName, promo.Number, githubtest.Review{User: "reviewer", State: "APPROVED"})
		h.gh.MergePullRequest(owner, repoName, promo.Number, "reviewer", after)

		payload, err := h.gh.PushEvent(owner, repoName, "refs/heads/main", before, after, "reviewer")
		if err != nil {
			t.Fatal(err)
		}
		payload = withModified(t, payload, envFile)
		h.run(t, "push", "main.yml", "refs/heads/main", after, 2002, 1, payload)

		got, err := h.resolve(t, "dev")
		if err != nil {
			t.Fatalf("promote did not tag %s:dev: %v", h.repository(), err)
		}
		if got != digest {
			t.Errorf("%s:dev = %s, want the promoted %s", h.repository(), got, digest)
		}
		var found bool
		for _, d := range h.gh.Deployments(owner, repoName) {
			if d.Environment == "dev" && d.SHA == after {
				found = true
				if n := len(d.Statuses); n == 0 || d.Statuses[n-1].State != "success" {
					t.Errorf("the dev deployment has statuses %+v, want a last one of success", d.Statuses)
				}
			}
		}
		if !found {
			t.Errorf("no GitHub deployment to dev for %s; deployments: %+v", after, h.gh.Deployments(owner, repoName))
		}

		// dev succeeded: the next promotion (staging) is proposed as a
		// pull request from a branch pushed to origin.
		var next *githubtest.PullRequest
		for _, p := range h.gh.PullRequests(owner, repoName) {
			if p.Head == "mlship/promote-staging" && p.State == "open" {
				next = &p
			}
		}
		if next == nil {
			t.Fatalf("no open pull request from mlship/promote-staging; pull requests: %+v", h.gh.PullRequests(owner, repoName))
		}
		// A deployer verifies what dev runs with the real cosign CLIs (v2
		// and v3): signed by the key the spec names, eval attestation and
		// the promotion record included.
		ref := h.repository() + "@" + got
		pubKey := filepath.Join(h.repo, "cosign.pub")
		for _, tool := range []string{"cosign", "cosign3"} {
			h.cosignTool(t, tool, "verify", "--key", pubKey, "--insecure-ignore-tlog", ref)
			h.cosignTool(t, tool, "verify-attestation", "--key", pubKey, "--insecure-ignore-tlog", "--type", sign.EvalPredicateType, ref)
		}
		h.checkPromotionRecord(t, ref, pubKey, filepath.Join(h.repo, "promotion.pub"), after, promo.Number)

		staged := git(t, h.origin, "show", "mlship/promote-staging:"+envFile)
		if !strings.Contains(staged, digest) || !strings.Contains(staged, "staging") {
			t.Errorf("mlship/promote-staging's %s does not promote %s to staging:\n%s", envFile, digest, staged)
		}
	})
}

// checkPromotionRecord checks the promotion record the main workflow's
// apply attached to ref (dev's digest) before it moved the tag: mlship
// verify --promoted-to dev and cosign verify-attestation accept it, another
// environment is refused, and it records the merge commit and the pull
// request.
func (h *harness) checkPromotionRecord(t *testing.T, ref, pubKey, promoKey, mergeCommit string, pr int) {
	t.Helper()
	for _, tool := range []string{"cosign", "cosign3"} {
		h.cosignTool(t, tool, "verify-attestation", "--key", promoKey, "--insecure-ignore-tlog", "--type", attest.PromotionType, ref)
	}
	run := func(args ...string) (int, string) {
		ios, out, errOut := iostreams.Test(map[string]string{"COSIGN_PASSWORD": keyPassword})
		code := cli.Execute(t.Context(), cli.NewFactory(ios, "e2e"), args)
		return code, out.String() + errOut.String()
	}
	if code, out := run("verify", ref, "--key", pubKey, "--promoted-to", "dev", "--promotion-key", promoKey); code != 0 {
		t.Errorf("mlship verify --promoted-to dev --promotion-key promotion.pub refused what the main workflow promoted: exit %d\n%s", code, out)
	}
	if code, out := run("verify", ref, "--spec", h.repo, "--promoted-to", "dev"); code != 0 {
		t.Errorf("mlship verify --spec --promoted-to dev (signing.promotion) refused what the main workflow promoted: exit %d\n%s", code, out)
	}
	if code, out := run("verify", ref, "--key", pubKey, "--promoted-to", "staging", "--promotion-key", promoKey); code != 1 || !strings.Contains(out, "no promotion record for staging") {
		t.Errorf("mlship verify --promoted-to staging of a digest only promoted to dev: exit %d, want 1 naming the rule\n%s", code, out)
	}
	// The attack: a branch pusher holds the candidates' key (pr.yml signs
	// with it) and signs a "promoted to prod" record. Deployers that name
	// the promotion key, or read it from the spec, refuse it.
	forged := &attest.Promotion{Environment: "prod", Repository: h.repository(), Git: attest.PromotionGit{MergeCommit: mergeCommit}, PromotedAt: time.Now().UTC()}
	pred, err := forged.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if code, out := run("attest", ref, "--key", h.candidateKey, "--predicate-type", attest.PromotionType, "--predicate", writeSecretFile(t, "forged.json", pred)); code != 0 {
		t.Fatalf("attaching the forged prod record with the candidates' key: exit %d\n%s", code, out)
	}
	if code, out := run("verify", ref, "--key", pubKey, "--promoted-to", "prod", "--promotion-key", promoKey); code != 1 || !strings.Contains(out, "no promotion record for prod") {
		t.Errorf("mlship verify --promoted-to prod --promotion-key accepted a record signed with the candidates' key: exit %d\n%s", code, out)
	}
	if code, out := run("verify", ref, "--spec", h.repo, "--promoted-to", "prod"); code != 1 || !strings.Contains(out, "no promotion record for prod") {
		t.Errorf("mlship verify --spec --promoted-to prod accepted a record signed with the candidates' key: exit %d\n%s", code, out)
	}
	// Without a promotion signer the candidates' key is trusted for records
	// (the risk docs/promotion.md names): the forged record is otherwise
	// valid, so the refusals above are the promotion signer's doing.
	if code, out := run("verify", ref, "--key", pubKey, "--promoted-to", "prod"); code != 0 {
		t.Errorf("the forged prod record is refused even without a promotion signer (the refusals above prove nothing): exit %d\n%s", code, out)
	}
	sts, err := sign.Statements(t.Context(), ref, attest.PromotionType)
	var devs []attest.Statement
	for _, st := range sts {
		if p, err := attest.ParsePromotion(st.Predicate); err == nil && p.Environment == "dev" {
			devs = append(devs, st)
		}
	}
	if err != nil || len(devs) != 1 {
		t.Fatalf("dev promotion records on %s: %d, %v; want exactly one", ref, len(devs), err)
	}
	rec, err := attest.ParsePromotion(devs[0].Predicate)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Environment != "dev" || rec.Git.MergeCommit != mergeCommit || rec.PullRequest == nil || rec.PullRequest.Number != pr ||
		rec.RuleOutcome(promote.RuleSignature) != "pass" || !strings.Contains(rec.RunURL, "2002") || rec.Git.Repository != "https://github.com/"+owner+"/"+repoName {
		t.Errorf("the dev promotion record says %+v; want dev, merge commit %s, pull request #%d, signature pass, run 2002", rec, mergeCommit, pr)
	}
}

// cosignTool runs a real cosign CLI ("cosign" v2.6.5, "cosign3" v3.1.3)
// offline (no TUF root from the network) and fails the test with its
// output when it fails. cosign 2 switches to the Sigstore bundle when one
// is attached and then wants a trusted root, which it would fetch from the
// public TUF repository: offline it is given one with no services (all a
// key-only verification needs). cosign 3 runs with its defaults.
func (h *harness) cosignTool(t *testing.T, tool string, args ...string) {
	t.Helper()
	if tool == "cosign" {
		args = append([]string{args[0], "--trusted-root", emptyTrustedRoot(t)}, args[1:]...)
	}
	cmd := testenv.Command(t, "", testenv.Tool(t, tool), args...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "TUF_ROOT="+filepath.Join(home, "tuf"))
	if stdout, stderr, err := testenv.TryCmd(t, cmd); err != nil {
		t.Errorf("%s %s: %v\n%s%s", tool, strings.Join(args, " "), err, stdout, stderr)
	}
}

// emptyTrustedRoot writes a Sigstore trusted root with no services.
func emptyTrustedRoot(t *testing.T) string {
	t.Helper()
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, nil, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkPullRequest checks what a pull-request run leaves on GitHub: one
// sticky comment and a completed check run on the head commit.
func (h *harness) checkPullRequest(t *testing.T, number int, head string) {
	t.Helper()
	comments := h.gh.Comments(owner, repoName, number)
	if len(comments) != 1 {
		var bodies []string
		for _, c := range comments {
			bodies = append(bodies, fmt.Sprintf("#%d by %s: %.200q", c.ID, c.User, c.Body))
		}
		t.Fatalf("pull request #%d has %d comments, want exactly one sticky report:\n%s", number, len(comments), strings.Join(bodies, "\n"))
	}
	if body := comments[0].Body; !strings.Contains(body, "iris") || !strings.Contains(body, "accuracy") {
		t.Errorf("the sticky comment does not report the iris model's accuracy:\n%s", body)
	}
	runs := h.gh.CheckRuns(owner, repoName, head)
	var names []string
	for _, cr := range runs {
		names = append(names, fmt.Sprintf("%q %s", cr.Name, cr.Conclusion))
	}
	if !slices.ContainsFunc(runs, func(cr githubtest.CheckRun) bool { return cr.Name == "mlship report (iris)" }) {
		t.Errorf("no check run \"mlship report (iris)\" on the pull request's head %s; check runs: %s", head, strings.Join(names, ", "))
	}
	t.Logf("check runs on %.12s: %s", head, strings.Join(names, ", "))
	for _, cr := range runs {
		if cr.Status != "completed" || cr.Conclusion == "" {
			t.Errorf("check run %q on %s is %s/%s, want completed with a conclusion", cr.Name, head, cr.Status, cr.Conclusion)
		}
	}
}

// setEnvironment points env at digest in the example's environments file
// (as `mlship promote propose` would) and returns the file's path relative
// to the repository.
func (h *harness) setEnvironment(t *testing.T, env, digest string) string {
	t.Helper()
	rel := filepath.Join("mlship", "environments.cue")
	p := filepath.Join(h.repo, rel)
	b, err := os.ReadFile(p)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	out, err := promote.SetEnvironment(rel, b, env, spec.EnvState{Digest: digest, Version: "1.0.0", PromotedBy: "reviewer"})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, p, string(out))
	return filepath.ToSlash(rel)
}

// withModified lists files as modified in a push payload's commits, as
// GitHub does for the commit that changed them.
func withModified(t *testing.T, payload []byte, files ...string) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatal(err)
	}
	mod := make([]any, len(files))
	for i, f := range files {
		mod[i] = f
	}
	for _, c := range ev["commits"].([]any) {
		c.(map[string]any)["modified"] = mod
	}
	ev["head_commit"].(map[string]any)["modified"] = mod
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// reportOverhead logs the step overhead: what a step of the actions costs
// before mlship does any work once the binary is cached, from act's timings
// of the setup script every mlship/mlship step begins with, in the second
// run (BenchmarkStepOverhead measures the same without act).
func reportOverhead(t *testing.T, first, second *actResult) {
	t.Helper()
	var took []time.Duration
	for _, s := range second.Steps {
		if s.Stage == "Main" && strings.Contains(s.Name, "setup/install.sh") {
			took = append(took, s.Took)
		}
	}
	if len(took) == 0 {
		t.Errorf("no setup step (actions/setup/install.sh) in act's output: every mlship step should start with one")
		return
	}
	slices.Sort(took)
	t.Logf("step overhead with the binary cached (setup script, %d steps of the re-run): median %s, max %s; runs took %s then %s",
		len(took), took[len(took)/2].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond),
		first.Wall.Round(time.Second), second.Wall.Round(time.Second))
}
