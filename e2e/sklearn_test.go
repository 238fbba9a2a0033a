package e2e

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/mlship/mlship/internal/attest"
	"github.com/mlship/mlship/internal/cli"
	"github.com/mlship/mlship/internal/githubtest"
	"github.com/mlship/mlship/internal/iostreams"
	"github.com/mlship/mlship/internal/promote"
	"github.com/mlship/mlship/internal/sign"
	"github.com/mlship/mlship/internal/spec"
	"github.com/mlship/mlship/internal/testenv"
)

// pyHarness is a Python example (examples/sklearn) as a repository of its
// own, wired like newHarness wires iris: a fresh Distribution registry, the
// GitHub emulator, the mlship source for mlship/mlship@v1, and a python3
// with the example's packages first on PATH.
type pyHarness struct {
	example  string // directory under examples/
	repoName string // the GitHub repository and registry repository name
	model    string // the spec's model name
	src      string
	repo     string
	origin   string
	actBin   string
	cache    string
	registry string
	gh       *githubtest.Server
	secrets  string
	env      []string
	runs     int
}

func (h *pyHarness) repository() string { return h.registry + "/" + owner + "/" + h.repoName }

func newPyHarness(t *testing.T, example, repoName, model string, modules ...string) *pyHarness {
	t.Helper()
	root := testenv.RepoRoot(t)
	path := testenv.PythonPATH(t, modules...) // skips, counted, where the packages cannot be installed
	h := &pyHarness{example: example, repoName: repoName, model: model}
	dir := filepath.Join(root, "examples", example)
	for _, wf := range []string{"pr.yml", "main.yml"} {
		if _, err := os.Stat(filepath.Join(dir, ".github", "workflows", wf)); err != nil {
			t.Fatalf("examples/%s/.github/workflows/%s is missing: the e2e tests run the example's real workflows (%v)", example, wf, err)
		}
	}
	h.actBin = testenv.Tool(t, "act")
	h.registry = testenv.StartRegistry(t)
	h.gh = githubtest.New(t)
	h.src = sourceSnapshot(t, root)
	h.cache = t.TempDir()
	h.repo = filepath.Join(t.TempDir(), repoName)
	copyTree(t, filepath.Join(h.src, "examples", example), h.repo)

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
	git(t, h.repo, "init", "--quiet", "--initial-branch=main")
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
	for _, kv := range hostEnv(t) {
		if !strings.HasPrefix(kv, "PATH=") {
			h.env = append(h.env, kv)
		}
	}
	h.env = append(h.env, "PATH="+path)
	return h
}

// run is harness.run for this repository's name: act runs workflow for
// event, whose payload is validated against GitHub's webhook schema first.
func (h *pyHarness) run(t *testing.T, event, workflow, ref, sha string, runID, attempt int, payload []byte) *actResult {
	t.Helper()
	if err := githubtest.ValidateWebhook(t, event, payload); err != nil {
		t.FailNow()
	}
	return h.act(t, event, workflow, ref, sha, runID, attempt, payload)
}

// act runs act for one event (a schedule has no webhook payload to check)
// and fails the test, with act's output, when act fails.
func (h *pyHarness) act(t *testing.T, event, workflow, ref, sha string, runID, attempt int, payload []byte, extra ...string) *actResult {
	t.Helper()
	h.runs++
	ev := filepath.Join(t.TempDir(), fmt.Sprintf("event-%d.json", h.runs))
	if err := os.WriteFile(ev, payload, 0o644); err != nil {
		t.Fatal(err)
	}
	full := owner + "/" + h.repoName
	args := []string{event,
		"-W", filepath.Join(".github", "workflows", workflow),
		"-e", ev,
		"-P", "ubuntu-latest=-self-hosted",
		"-P", "self-hosted=-self-hosted",
		"--local-repository", "mlship/mlship@v1=" + h.src,
		"--action-cache-path", h.cache,
		"--action-offline-mode",
		"--no-cache-server",
		"--secret-file", h.secrets,
		"--var", "MLSHIP_REPOSITORY=" + h.repository(),
		"--env", "GITHUB_API_URL=" + strings.TrimSuffix(h.gh.URL, "/"),
		"--env", "GITHUB_REPOSITORY=" + full,
		"--env", "GITHUB_REPOSITORY_OWNER=" + owner,
		"--env", "GITHUB_RUN_ID=" + fmt.Sprint(runID),
		"--env", "GITHUB_RUN_ATTEMPT=" + fmt.Sprint(attempt),
		"--env", "GITHUB_WORKFLOW_REF=" + full + "/.github/workflows/" + workflow + "@" + ref,
		"--env", "GITHUB_WORKFLOW_SHA=" + sha,
	}
	cmd := testenv.Command(t, h.repo, h.actBin, append(args, extra...)...)
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

func (h *pyHarness) resolve(t *testing.T, tag string) (string, error) {
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

// layers maps each layer's file path (its org.cncf.model.filepath
// annotation) to its digest in the artifact at digest.
func (h *pyHarness) layers(t *testing.T, digest string) map[string]string {
	t.Helper()
	ref, err := name.NewDigest(h.repository()+"@"+digest, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref, remote.WithContext(t.Context()))
	if err != nil {
		t.Fatalf("reading %s: %v", ref, err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, l := range m.Layers {
		out[l.Annotations["org.cncf.model.filepath"]] = l.Digest.String()
	}
	return out
}

func diffLayers(a, b map[string]string) string {
	var out []string
	for p, d := range a {
		if b[p] != d {
			out = append(out, fmt.Sprintf("  %s: %s → %s", p, d, b[p]))
		}
	}
	for p, d := range b {
		if _, ok := a[p]; !ok {
			out = append(out, fmt.Sprintf("  %s: (none) → %s", p, d))
		}
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

// checkPullRequest: one sticky comment reporting the model's metrics and a
// completed "mlship report (<model>)" check run on the head commit.
func (h *pyHarness) checkPullRequest(t *testing.T, number int, head string, metrics ...string) {
	t.Helper()
	comments := h.gh.Comments(owner, h.repoName, number)
	if len(comments) != 1 {
		var bodies []string
		for _, c := range comments {
			bodies = append(bodies, fmt.Sprintf("#%d by %s: %.200q", c.ID, c.User, c.Body))
		}
		t.Fatalf("pull request #%d has %d comments, want exactly one sticky report:\n%s", number, len(comments), strings.Join(bodies, "\n"))
	}
	body := comments[0].Body
	for _, want := range append([]string{h.model}, metrics...) {
		if !strings.Contains(body, want) {
			t.Errorf("the sticky comment does not mention %q:\n%s", want, body)
		}
	}
	runs := h.gh.CheckRuns(owner, h.repoName, head)
	var names []string
	for _, cr := range runs {
		names = append(names, fmt.Sprintf("%q %s", cr.Name, cr.Conclusion))
	}
	want := "mlship report (" + h.model + ")"
	if !slices.ContainsFunc(runs, func(cr githubtest.CheckRun) bool { return cr.Name == want }) {
		t.Errorf("no check run %q on the pull request's head %s; check runs: %s", want, head, strings.Join(names, ", "))
	}
	for _, cr := range runs {
		if cr.Status != "completed" || cr.Conclusion == "" {
			t.Errorf("check run %q on %s is %s/%s, want completed with a conclusion", cr.Name, head, cr.Status, cr.Conclusion)
		}
	}
	t.Logf("check runs on %.12s: %s", head, strings.Join(names, ", "))
}

// TestSklearnWorkflows runs examples/sklearn's real pr.yml (twice: a re-run
// updates the one sticky comment and pushes the same bytes), main.yml on
// the merge of the promotion to dev, as TestIrisWorkflows does for iris,
// then monitor.yml on its schedule: a Python trainer and evaluator
// (scikit-learn, joblib) through validate → train → eval → drift →
// package → sign → attest → report → promote → monitor.
func TestSklearnWorkflows(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: runs the sklearn example's workflows with act (minutes); skipped under -short")
	}
	h := newPyHarness(t, "sklearn", "breast-cancer", "breast-cancer", "sklearn", "joblib")

	base := commitAll(t, h.repo, "Add the breast-cancer model", t0)
	git(t, h.repo, "checkout", "--quiet", "-b", "feature")
	specFile := filepath.Join(h.repo, "model.cue")
	b, err := os.ReadFile(specFile)
	if err != nil {
		t.Fatal(err)
	}
	const from, to = "n_estimators:  150", "n_estimators:  200"
	if !strings.Contains(string(b), from) {
		t.Fatalf("examples/sklearn/model.cue no longer says %q: update the change this test proposes", from)
	}
	writeFile(t, specFile, strings.Replace(string(b), from, to, 1))
	head := commitAll(t, h.repo, "Boost for 200 stages", t0.Add(time.Hour))
	git(t, h.repo, "push", "--quiet", "origin", "main", "feature")
	h.gh.SetBranch(owner, h.repoName, "main", base)
	pr := h.gh.AddPullRequest(owner, h.repoName, githubtest.PullRequest{
		Title: "Boost for 200 stages", User: "octocat", Head: "feature", HeadSHA: head, Base: "main", BaseSHA: base,
	})
	prRef := fmt.Sprintf("refs/pull/%d/merge", pr.Number)

	var digest string
	t.Run("pull_request", func(t *testing.T) {
		payload, err := h.gh.PullRequestEvent(owner, h.repoName, pr.Number, "opened")
		if err != nil {
			t.Fatal(err)
		}
		first := h.run(t, "pull_request", "pr.yml", prRef, head, 3001, 1, payload)
		h.checkPullRequest(t, pr.Number, head, "accuracy", "roc_auc", "recall")
		comment := h.gh.Comments(owner, h.repoName, pr.Number)[0]
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
		second := h.run(t, "pull_request", "pr.yml", prRef, head, 3001, 2, payload)
		h.checkPullRequest(t, pr.Number, head)
		if again := h.gh.Comments(owner, h.repoName, pr.Number)[0]; again.ID != comment.ID {
			t.Errorf("the re-run replaced comment %d with %d instead of updating it", comment.ID, again.ID)
		}
		// The trainer is deterministic: a re-run trains and packages the
		// same model bytes (model.joblib, config.json), and the generated
		// files (model card, reference profile) are too, so the re-run
		// pushes the same artifact.
		d2, err := h.resolve(t, "1.0.0")
		if err != nil {
			t.Fatal(err)
		}
		was, now := h.layers(t, digest), h.layers(t, d2)
		for _, f := range []string{"model/model.joblib", "model/config.json"} {
			if was[f] == "" || was[f] != now[f] {
				t.Errorf("the re-run packaged %s as %q, the first run as %q: the Python trainer is not deterministic", f, now[f], was[f])
			}
		}
		if d2 != digest {
			t.Errorf("the re-run moved 1.0.0 from %s to %s (same commit, same artifact); layers that differ:\n%s", digest, d2, diffLayers(was, now))
		}
		reportOverhead(t, first, second)
	})
	if digest == "" {
		t.Fatal("the pull_request workflow did not leave a model to promote: skipping the push to main")
	}

	t.Run("push_main", func(t *testing.T) {
		git(t, h.repo, "checkout", "--quiet", "main")
		git(t, h.repo, "merge", "--quiet", "--ff-only", "feature")
		before := git(t, h.repo, "rev-parse", "HEAD")
		rel := filepath.Join("mlship", "environments.cue")
		envPath := filepath.Join(h.repo, rel)
		cur, err := os.ReadFile(envPath)
		if err != nil {
			t.Fatal(err)
		}
		out, err := promote.SetEnvironment(rel, cur, "dev", spec.EnvState{Digest: digest, Version: "1.0.0", PromotedBy: "reviewer"})
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, envPath, string(out))
		after := commitAll(t, h.repo, "Promote breast-cancer 1.0.0 to dev", t0.Add(2*time.Hour))
		git(t, h.repo, "push", "--quiet", "origin", "main", "main:mlship/promote-dev")
		h.gh.SetBranch(owner, h.repoName, "mlship/promote-dev", after)
		promo := h.gh.AddPullRequest(owner, h.repoName, githubtest.PullRequest{
			Title: "Promote breast-cancer 1.0.0 to dev", User: "octocat", Head: "mlship/promote-dev", HeadSHA: after, Base: "main", BaseSHA: before,
		})
		h.gh.AddReview(owner, h.repoName, promo.Number, githubtest.Review{User: "reviewer", State: "APPROVED"})
		h.gh.MergePullRequest(owner, h.repoName, promo.Number, "reviewer", after)
		payload, err := h.gh.PushEvent(owner, h.repoName, "refs/heads/main", before, after, "reviewer")
		if err != nil {
			t.Fatal(err)
		}
		payload = withModified(t, payload, filepath.ToSlash(rel))
		h.run(t, "push", "main.yml", "refs/heads/main", after, 3002, 1, payload)

		got, err := h.resolve(t, "dev")
		if err != nil {
			t.Fatalf("promote did not tag %s:dev: %v", h.repository(), err)
		}
		if got != digest {
			t.Errorf("%s:dev = %s, want the promoted %s", h.repository(), got, digest)
		}
		var found bool
		for _, d := range h.gh.Deployments(owner, h.repoName) {
			if d.Environment == "dev" && d.SHA == after {
				found = true
				if n := len(d.Statuses); n == 0 || d.Statuses[n-1].State != "success" {
					t.Errorf("the dev deployment has statuses %+v, want a last one of success", d.Statuses)
				}
			}
		}
		if !found {
			t.Errorf("no GitHub deployment to dev for %s; deployments: %+v", after, h.gh.Deployments(owner, h.repoName))
		}
		if !slices.ContainsFunc(h.gh.PullRequests(owner, h.repoName), func(p githubtest.PullRequest) bool {
			return p.Head == "mlship/promote-staging" && p.State == "open"
		}) {
			t.Errorf("no open pull request from mlship/promote-staging; pull requests: %+v", h.gh.PullRequests(owner, h.repoName))
		}
		// A deployer checks what dev runs with the real cosign CLIs (v2 and
		// v3) before unpickling it: signed by the spec's key, with eval and
		// SLSA provenance attestations and dev's promotion record; mlship
		// verify --promoted-to dev accepts it, --promoted-to staging not.
		ref := h.repository() + "@" + got
		pubKey := filepath.Join(h.repo, "cosign.pub")
		var cosign harness // cosignTool uses none of the harness's fields
		promoKey := filepath.Join(h.repo, "promotion.pub")
		for _, tool := range []string{"cosign", "cosign3"} {
			cosign.cosignTool(t, tool, "verify", "--key", pubKey, "--insecure-ignore-tlog", ref)
			for _, typ := range []string{sign.EvalPredicateType, sign.ProvenancePredicateType} {
				cosign.cosignTool(t, tool, "verify-attestation", "--key", pubKey, "--insecure-ignore-tlog", "--type", typ, ref)
			}
			cosign.cosignTool(t, tool, "verify-attestation", "--key", promoKey, "--insecure-ignore-tlog", "--type", attest.PromotionType, ref)
		}
		verify := func(args ...string) (int, string) {
			ios, out, errOut := iostreams.Test(nil)
			code := cli.Execute(t.Context(), cli.NewFactory(ios, "e2e"), args)
			return code, out.String() + errOut.String()
		}
		if code, out := verify("verify", ref, "--spec", h.repo, "--promoted-to", "dev"); code != 0 {
			t.Errorf("mlship verify --promoted-to dev refused what main.yml promoted: exit %d\n%s", code, out)
		}
		if code, out := verify("verify", ref, "--spec", h.repo, "--promoted-to", "staging"); code != 1 || !strings.Contains(out, "no promotion record for staging") {
			t.Errorf("mlship verify --promoted-to staging of a model only promoted to dev: exit %d, want 1 naming the rule\n%s", code, out)
		}
	})
	if t.Failed() {
		return
	}

	t.Run("schedule_monitor", func(t *testing.T) {
		// monitor.yml on its schedule checks what dev runs (the model
		// above, verified first) against the reference profile packaged
		// with it: a sample measured 40 % larger on every column drifts,
		// so one alert issue opens for the model.
		cur := filepath.Join(h.repo, "data", "current.csv")
		b, err := os.ReadFile(cur)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, cur, pyScaleCSV(t, b, 1.4))
		sha := git(t, h.repo, "rev-parse", "HEAD")
		r := h.act(t, "schedule", "monitor.yml", "refs/heads/main", sha, 3003, 1, []byte(`{"schedule": "17 6 * * *"}`),
			"--var", "MLSHIP_MONITOR_ENVIRONMENT=dev")
		if !strings.Contains(r.Output, "alert=true") || !strings.Contains(r.Output, "digest="+digest) {
			t.Errorf("monitor.yml did not report an alert on dev's %s; act output:\n%s", digest, r.Output)
		}
		issues := h.gh.Issues(owner, h.repoName)
		if len(issues) != 1 || issues[0].State != "open" || !slices.Contains(issues[0].Labels, "model:breast-cancer") {
			t.Fatalf("want one open alert issue labelled model:breast-cancer, have %+v", issues)
		}
		t.Logf("alert issue #%d: %s", issues[0].Number, issues[0].Title)
	})

	t.Run("verified_pull", func(t *testing.T) {
		// model.joblib is a pickle: loading it runs what it names. A
		// deployer pulls dev's model with --verify and loads it; an
		// attacker who can push to the registry but has no signing key
		// moves the dev tag to a model that runs code when loaded; the
		// deployer's verified pull refuses it before any byte lands.
		py := testenv.Python(t, "sklearn", "joblib")
		pubKey := filepath.Join(h.repo, "cosign.pub")
		mlship := func(args ...string) (int, string) {
			ios, out, errOut := iostreams.Test(map[string]string{"MLSHIP_CACHE_DIR": t.TempDir()})
			code := cli.Execute(t.Context(), cli.NewFactory(ios, "e2e"), args)
			return code, out.String() + errOut.String()
		}
		pull := []string{"--verify", "--key", pubKey, "--promoted-to", "dev", "--promotion-key", filepath.Join(h.repo, "promotion.pub")}
		good := filepath.Join(t.TempDir(), "good")
		if code, out := mlship(append([]string{"pull", h.repository() + ":dev", good}, pull...)...); code != 0 {
			t.Fatalf("the verified pull of dev failed: exit %d\n%s", code, out)
		}
		eval := testenv.Command(t, h.repo, py, "evaluate.py", "--model", filepath.Join(good, "model"), "--data", "data/eval.csv", "--metrics", filepath.Join(t.TempDir(), "eval.json"))
		if out := testenv.RunCmd(t, eval); !strings.Contains(out, "accuracy 0.9") {
			t.Errorf("the pulled model does not evaluate as trained: %s", out)
		}

		marker := filepath.Join(t.TempDir(), "code-ran")
		evil := filepath.Join(t.TempDir(), "evil")
		copyTree(t, h.repo, evil)
		payload := "import os, pickle\n" +
			"class P:\n    def __reduce__(self):\n        return (os.system, ('touch ' + os.environ['MARKER'],))\n" +
			"os.makedirs('model', exist_ok=True)\npickle.dump(P(), open('model/model.joblib', 'wb'))\n"
		// The attacker keeps the real config.json beside the crafted pickle.
		if err := copyFile(filepath.Join(good, "model", "config.json"), filepath.Join(evil, "model", "config.json")); err != nil {
			t.Fatal(err)
		}
		mk := testenv.Command(t, evil, py, "-c", payload)
		mk.Env = append(os.Environ(), "MARKER="+marker)
		testenv.RunCmd(t, mk)
		// The threat is real: joblib.load runs it.
		load := testenv.Command(t, evil, py, "-c", "import joblib; joblib.load('model/model.joblib')")
		load.Env = append(os.Environ(), "MARKER="+marker)
		testenv.TryCmd(t, load)
		if _, err := os.Stat(marker); err != nil {
			t.Fatalf("joblib.load of the crafted pickle did not run its code (%v): the attack this test guards against is not shown", err)
		}
		if err := os.Remove(marker); err != nil {
			t.Fatal(err)
		}
		if code, out := mlship("push", evil, "--repository", h.repository(), "--tag", "dev"); code != 0 {
			t.Fatalf("pushing the attacker's model: exit %d\n%s", code, out)
		}
		if d, err := h.resolve(t, "dev"); err != nil || d == digest {
			t.Fatalf("the attacker's push did not move dev (%s, %v)", d, err)
		}
		bad := filepath.Join(t.TempDir(), "bad")
		code, out := mlship(append([]string{"pull", h.repository() + ":dev", bad}, pull...)...)
		if code == 0 {
			t.Fatalf("the verified pull accepted an unsigned model under dev:\n%s", out)
		}
		if _, err := os.Stat(bad); !os.IsNotExist(err) {
			t.Errorf("the refused pull left %s behind (%v)", bad, err)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Errorf("the attacker's code ran")
		}
		t.Logf("refused, exit %d: %s", code, strings.TrimSpace(out))
	})
}

// pyScaleCSV multiplies every number of a CSV (but the header) by f.
func pyScaleCSV(t *testing.T, b []byte, f float64) string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	w := csv.NewWriter(&sb)
	for i, r := range recs {
		for j, v := range r {
			if x, err := strconv.ParseFloat(v, 64); err == nil && i > 0 {
				r[j] = strconv.FormatFloat(x*f, 'g', 6, 64)
			}
		}
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	return sb.String()
}
