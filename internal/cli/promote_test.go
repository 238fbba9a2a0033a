package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/mlship/mlship/internal/githubtest"
	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/pipeline"
	"github.com/mlship/mlship/internal/promote"
	"github.com/mlship/mlship/internal/sign"
	"github.com/mlship/mlship/internal/testenv"
)

// promoteSpec names a registry that does not exist: the tests pass the
// real one with --repository, and the key with --key (the spec's
// cosign.pub is absent), as break-glass use would.
const promoteSpec = `name: "iris"
version: "1.0.0"
registry: repository: "registry.invalid/acme/iris"
eval: {
	metricsFile: "eval.json"
	baseline:    "staging"
	metrics: accuracy: {direction: "maximize"}
}
environments: {
	dev: {}
	staging: {after: "dev", gates: accuracy: min: 0.85, attestations: ["eval"]}
}
signing: key: "cosign.pub"
`

type promoteCLI struct {
	t            *testing.T
	root, dir    string
	repo, pub    string
	gh           *githubtest.Server
	signer       *sign.Signer
	summary, out string
}

func newPromoteCLI(t *testing.T) *promoteCLI {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a Distribution registry process")
	}
	c := &promoteCLI{t: t, root: t.TempDir(), gh: githubtest.New(t)}
	c.repo = testenv.StartRegistry(t) + "/acme/iris"
	c.dir = filepath.Join(c.root, "ml")
	if err := os.MkdirAll(filepath.Join(c.dir, "mlship"), 0o755); err != nil {
		t.Fatal(err)
	}
	priv, pub, err := sign.GenerateKeyPair([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	keys := t.TempDir()
	c.pub = filepath.Join(keys, "release.pub")
	mustWrite(t, c.pub, pub)
	mustWrite(t, filepath.Join(keys, "release.key"), priv)
	sv, err := sign.LoadPrivateKey(filepath.Join(keys, "release.key"), []byte("pw"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.signer, err = sign.NewKeySigner(sv, "release.key"); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(c.dir, "model.cue"), []byte(promoteSpec))
	c.git("init", "-q", "-b", "main")
	c.git("config", "user.name", "Test")
	c.git("config", "user.email", "test@example.com")
	c.git("add", "-A")
	c.git("commit", "-q", "-m", "spec")
	c.summary, c.out = filepath.Join(t.TempDir(), "summary.md"), filepath.Join(t.TempDir(), "output")
	return c
}

func mustWrite(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (c *promoteCLI) git(args ...string) string {
	c.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = c.root
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func (c *promoteCLI) commit(envs string) string {
	c.t.Helper()
	mustWrite(c.t, filepath.Join(c.dir, "mlship", "environments.json"), []byte(envs))
	c.git("add", "-A")
	c.git("commit", "-q", "-m", "promote")
	return c.git("rev-parse", "HEAD")
}

// artifact pushes, signs and (with acc > 0) attests an artifact.
func (c *promoteCLI) artifact(acc float64, signed bool) string {
	c.t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		c.t.Fatal(err)
	}
	img = mutate.Annotations(mutate.MediaType(img, types.OCIManifestSchema1), map[string]string{oci.AnnotationVersion: "1.4.0"}).(v1.Image)
	h, _ := img.Digest()
	ref, _ := name.NewDigest(c.repo + "@" + h.String())
	if err := remote.Write(ref, img); err != nil {
		c.t.Fatal(err)
	}
	ctx := context.Background()
	if signed {
		if _, err := sign.Sign(ctx, ref.String(), c.signer); err != nil {
			c.t.Fatal(err)
		}
	}
	if acc > 0 {
		p, _ := json.Marshal(sign.EvalPredicate{Metrics: map[string]float64{"accuracy": acc}, Passed: true})
		if _, err := sign.Attest(ctx, ref.String(), c.signer, sign.EvalPredicateType, p); err != nil {
			c.t.Fatal(err)
		}
	}
	return h.String()
}

func (c *promoteCLI) env(event string, extra map[string]string) map[string]string {
	env := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/iris", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "99",
		"GITHUB_TOKEN": c.gh.Token, "GITHUB_API_URL": strings.TrimSuffix(c.gh.URL, "/"),
		"GITHUB_STEP_SUMMARY": c.summary, "GITHUB_OUTPUT": c.out, "GITHUB_EVENT_NAME": event, "GITHUB_SHA": c.git("rev-parse", "HEAD"),
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

func (c *promoteCLI) run(env map[string]string, args ...string) (int, string, string) {
	c.t.Helper()
	return mlship(c.t, env, append(args, c.dir, "--repository", c.repo, "--key", c.pub)...)
}

func TestPromoteCLI(t *testing.T) {
	t.Parallel()
	c := newPromoteCLI(t)
	good := c.artifact(0.9, true)
	c.commit(fmt.Sprintf(`{"environments": {"dev": {"digest": %q}}}`, good))

	// apply on push to main: the tag moves, a deployment is recorded.
	code, stdout, stderr := mlship(t, c.env("push", map[string]string{"COSIGN_PASSWORD": "pw"}), "promote", "apply", c.dir, "--repository", c.repo, "--key", c.pub, "--attest-key", strings.TrimSuffix(c.pub, ".pub")+".key", "-o", "json")
	if code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", code, stdout, stderr)
	}
	var pl promote.Plan
	if err := json.Unmarshal([]byte(stdout), &pl); err != nil {
		t.Fatalf("apply --output json: %v\n%s", err, stdout)
	}
	if len(pl.Envs) != 1 || pl.Envs[0].Outcome != promote.Moved || pl.Envs[0].To != good {
		t.Fatalf("apply plan %+v", pl)
	}
	if d := c.gh.Deployments("acme", "iris"); len(d) != 1 || d[0].Environment != "dev" {
		t.Fatalf("deployments %+v", d)
	}
	if out, _ := os.ReadFile(c.out); !strings.Contains(string(out), "moved<<") || !strings.Contains(string(out), "dev") {
		t.Errorf("GITHUB_OUTPUT: %s", out)
	}

	// propose --to next: dev changed, so staging is next.
	origin := filepath.Join(t.TempDir(), "origin.git")
	c.git("init", "-q", "--bare", origin)
	c.git("remote", "add", "origin", origin)
	c.git("push", "-q", "origin", "main")
	code, stdout, stderr = c.run(c.env("push", nil), "promote", "propose", "--to", "next")
	if code != 0 || !strings.Contains(stdout, "opened pull request #") || !strings.Contains(stdout, "to staging") {
		t.Fatalf("propose: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if prs := c.gh.PullRequests("acme", "iris"); len(prs) != 1 || prs[0].Head != "mlship/promote-staging" || !strings.Contains(prs[0].Body, good) {
		t.Errorf("pull requests %+v", prs)
	}
	if got := c.git("--git-dir", origin, "show", "mlship/promote-staging:ml/mlship/environments.json"); !strings.Contains(got, `"staging"`) {
		t.Errorf("proposed file: %s", got)
	}
	c.git("remote", "remove", "origin")

	// plan on the promotion pull request: check run + sticky report.
	c.git("checkout", "-q", "-b", "mlship/promote-staging")
	head := c.commit(fmt.Sprintf(`{"environments": {"dev": {"digest": %q}, "staging": {"digest": %q}}}`, good, good))
	pr := c.gh.AddPullRequest("acme", "iris", githubtest.PullRequest{Head: "mlship/promote-staging", HeadSHA: head})
	ev, err := c.gh.PullRequestEvent("acme", "iris", pr.Number, "opened")
	if err != nil {
		t.Fatal(err)
	}
	evPath := filepath.Join(t.TempDir(), "event.json")
	mustWrite(t, evPath, ev)
	prEnv := c.env("pull_request", map[string]string{"GITHUB_EVENT_PATH": evPath})
	code, stdout, stderr = c.run(prEnv, "promote", "plan")
	if code != 0 {
		t.Fatalf("plan: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"staging: (none) -> " + good, "ok   signature: signed by key " + c.pub, "ok   order: dev ran it"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("plan output lacks %q:\n%s", want, stdout)
		}
	}
	runs := c.gh.CheckRuns("acme", "iris", head)
	if len(runs) != 1 || runs[0].Name != "mlship promote (iris)" || runs[0].Conclusion != "success" {
		t.Errorf("check runs %+v", runs)
	}
	comments := c.gh.Comments("acme", "iris", pr.Number)
	if len(comments) != 1 || !strings.Contains(comments[0].Body, "Promotion plan") || !strings.Contains(comments[0].Body, "<!-- mlship:report:iris -->") {
		t.Errorf("sticky comments %+v", comments)
	}
	if sum, _ := os.ReadFile(c.summary); !strings.Contains(string(sum), "| **staging** |") {
		t.Errorf("step summary: %s", sum)
	}

	// An unsigned digest without eval: refused, naming the rules.
	bad := c.artifact(0, false)
	head = c.commit(fmt.Sprintf(`{"environments": {"dev": {"digest": %q}, "staging": {"digest": %q}}}`, good, bad))
	c.gh.SetBranch("acme", "iris", "mlship/promote-staging", head)
	code, stdout, stderr = c.run(c.env("pull_request", map[string]string{"GITHUB_EVENT_PATH": evPath}), "promote", "plan", "--base", "main")
	if code != 1 || !strings.Contains(stderr, "staging: signature: unsigned") || !strings.Contains(stderr, "staging: order: dev has not run "+bad) {
		t.Errorf("unsigned plan: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "::error") {
		t.Errorf("no annotation for the refusal:\n%s", stdout)
	}

	// status: dev in sync, staging not yet.
	c.git("checkout", "-q", "main")
	code, stdout, stderr = c.run(nil, "status", "-o", "json")
	if code != 0 {
		t.Fatalf("status: exit %d\n%s", code, stderr)
	}
	var st pipeline.StatusResult
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatal(err)
	}
	if !st.InSync || len(st.Environments) != 2 || st.Environments[0].Current != good || st.Environments[0].Signature != "verified" {
		t.Errorf("status %+v", st)
	}
	code, stdout, _ = c.run(nil, "status")
	if code != 0 || !strings.Contains(stdout, "ENVIRONMENT") || !strings.Contains(stdout, "verified (key "+c.pub+")") {
		t.Errorf("status text: %s", stdout)
	}

	// A refused promotion on main: status says apply refuses it, not that
	// the next apply reconciles it.
	c.commit(fmt.Sprintf(`{"environments": {"dev": {"digest": %q}, "staging": {"digest": %q}}}`, good, bad))
	code, stdout, _ = c.run(nil, "status")
	if code != 0 || strings.Contains(stdout, "reconciles") || !strings.Contains(stdout, "staging: out of sync: apply of commit") || !strings.Contains(stdout, "refuses it (signature") {
		t.Errorf("status after a refused promotion: exit %d\n%s", code, stdout)
	}
}

// TestStatusCLIRegistryError: a registry that cannot be reached is shown
// as an error (and exit 1), never as in sync.
func TestStatusCLIRegistryError(t *testing.T) {
	t.Parallel()
	c := newPromoteCLI(t)
	c.commit(`{"environments": {}}`)
	code, stdout, stderr := mlship(t, nil, "status", c.dir, "--repository", "127.0.0.1:1/acme/iris", "--key", c.pub)
	if code != 1 || strings.Contains(stdout, " yes ") || !strings.Contains(stdout, "error") || !strings.Contains(stdout+stderr, "127.0.0.1:1") {
		t.Errorf("status with an unreachable registry: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
}

func TestPromoteCLIUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"promote", "plan", "--help"}, {"promote", "apply", "--help"}, {"promote", "propose", "--help"}, {"status", "--help"}} {
		code, stdout, _ := mlship(t, nil, args...)
		if code != 0 || !strings.Contains(stdout, "Examples:") || !strings.Contains(stdout, "--repository") {
			t.Errorf("%v: exit %d\n%s", args, code, stdout)
		}
	}
	code, _, stderr := mlship(t, nil, "promote", "propose", ".")
	if code != 2 || !strings.Contains(stderr, "--to ENV is required") {
		t.Errorf("propose without --to: exit %d %s", code, stderr)
	}
	code, _, stderr = mlship(t, nil, "promote", "plan", "does/not/exist")
	if code == 0 || !strings.Contains(stderr, "does/not/exist") {
		t.Errorf("missing spec: exit %d %s", code, stderr)
	}
}
