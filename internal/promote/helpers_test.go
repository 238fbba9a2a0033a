package promote

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/mlship/mlship/internal/ghapi"
	"github.com/mlship/mlship/internal/githubtest"
	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/sign"
	"github.com/mlship/mlship/internal/spec"
	"github.com/mlship/mlship/internal/testenv"
)

const (
	testPassword  = "promote-test"
	owner, ghRepo = "acme", "iris"
	goodBuilder   = "https://github.com/acme/iris/.github/workflows/pr.yml@refs/pull/1/merge"
)

// specTemplate is a model with the three environments of the iris
// example; %s is the registry repository.
const specTemplate = `name:    "iris"
version: "1.0.0"
registry: repository: %q
eval: {
	metricsFile: "eval.json"
	metrics: accuracy: {direction: "maximize"}
}
environments: {
	dev: {}
	staging: {
		after: "dev"
		gates: accuracy: min: 0.85
		attestations: ["eval"]
	}
	prod: {
		after: "staging"
		gates: accuracy: min: 0.9
		approvals: {required: 1, reviewers: ["alice", "acme/ml-team"]}
		attestations: ["eval", "provenance"]
	}
}
signing: key: "cosign.pub"
`

// fixture is a git repository holding a spec (in model/), a real
// registry, a key pair and the GitHub emulator.
type fixture struct {
	t      *testing.T
	ctx    context.Context
	host   string
	repo   string // registry repository host/acme/<name>
	root   string // work tree
	dir    string // spec directory (root/model)
	signer *sign.Signer
	gh     *githubtest.Server
	client *ghapi.Client
	model  *spec.Model
	// gitEnv is added to the environment of gitRun's commands.
	gitEnv []string
}

// newFixture makes a fixture on registry host (testenv.StartRegistry).
func newFixture(t *testing.T, host string) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: context.Background(), host: host}
	f.repo = host + "/acme/" + strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	f.root = t.TempDir()
	f.dir = filepath.Join(f.root, "model")
	if err := os.MkdirAll(filepath.Join(f.dir, "mlship"), 0o755); err != nil {
		t.Fatal(err)
	}
	priv, pub, err := sign.GenerateKeyPair([]byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(t.TempDir(), "cosign.key")
	f.write(keyPath, priv)
	f.write(filepath.Join(f.dir, "cosign.pub"), pub)
	sv, err := sign.LoadPrivateKey(keyPath, []byte(testPassword), nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.signer, err = sign.NewKeySigner(sv, "cosign.key"); err != nil {
		t.Fatal(err)
	}
	f.write(filepath.Join(f.dir, "model.cue"), []byte(fmt.Sprintf(specTemplate, f.repo)))
	f.gitRun("init", "-q", "-b", "main")
	f.gitRun("config", "user.name", "Test")
	f.gitRun("config", "user.email", "test@example.com")
	f.gitRun("config", "commit.gpgsign", "false")
	f.gitRun("add", "-A")
	f.gitRun("commit", "-q", "-m", "spec")
	if f.model, err = spec.Load(f.ctx, f.dir); err != nil {
		t.Fatalf("loading the test spec: %v", err)
	}
	f.gh = githubtest.New(t)
	if f.client, err = ghapi.New(f.ctx, f.gh.Token, ghapi.WithBaseURL(f.gh.URL)); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) write(path string, data []byte) {
	f.t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) gitRun(args ...string) string {
	f.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = f.root
	cmd.Env = append(os.Environ(), f.gitEnv...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		f.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// commitEnvs writes the environments file with env → digest and commits
// it on the current branch, returning the commit SHA.
func (f *fixture) commitEnvs(msg string, envs map[string]string) string {
	f.t.Helper()
	var b strings.Builder
	b.WriteString("// Desired state: which digest each environment runs.\nenvironments: {\n")
	keys := make([]string, 0, len(envs))
	for k := range envs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		// "DIGEST|VERSION" also sets the version.
		d, v, _ := strings.Cut(envs[k], "|")
		fmt.Fprintf(&b, "\t%s: digest: %q\n", k, d)
		if v != "" {
			fmt.Fprintf(&b, "\t%s: version: %q\n", k, v)
		}
	}
	b.WriteString("}\n")
	f.write(filepath.Join(f.dir, "mlship", "environments.cue"), []byte(b.String()))
	f.gitRun("add", "-A")
	f.gitRun("commit", "-q", "-m", msg)
	return f.gitRun("rev-parse", "HEAD")
}

// push pushes a small random artifact annotated with version and returns
// its digest.
func (f *fixture) push(version string) string {
	f.t.Helper()
	img, err := random.Image(128, 1)
	if err != nil {
		f.t.Fatal(err)
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img = mutate.Annotations(img, map[string]string{oci.AnnotationVersion: version}).(v1.Image)
	h, err := img.Digest()
	if err != nil {
		f.t.Fatal(err)
	}
	ref, err := name.NewDigest(f.repo + "@" + h.String())
	if err != nil {
		f.t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		f.t.Fatalf("pushing %s: %v", ref, err)
	}
	return h.String()
}

func (f *fixture) sign(digest string) {
	f.t.Helper()
	if _, err := sign.Sign(f.ctx, f.repo+"@"+digest, f.signer); err != nil {
		f.t.Fatalf("signing %s: %v", digest, err)
	}
}

func (f *fixture) attestEval(digest string, accuracy float64, passed bool) {
	f.t.Helper()
	p, err := json.Marshal(sign.EvalPredicate{Metrics: map[string]float64{"accuracy": accuracy}, Passed: passed, EvaluatedAt: "2026-11-25T12:00:00Z"})
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := sign.Attest(f.ctx, f.repo+"@"+digest, f.signer, sign.EvalPredicateType, p); err != nil {
		f.t.Fatalf("attesting %s: %v", digest, err)
	}
}

func (f *fixture) attestProvenance(digest, builder string) {
	f.t.Helper()
	p, err := sign.ProvenancePredicate(sign.ProvenanceInput{BuilderID: builder, SourceRepo: "https://github.com/acme/iris", SourceCommit: strings.Repeat("a", 40)})
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := sign.Attest(f.ctx, f.repo+"@"+digest, f.signer, sign.ProvenancePredicateType, p); err != nil {
		f.t.Fatalf("attesting %s: %v", digest, err)
	}
}

// good pushes a signed artifact with a passing eval (accuracy 0.95) and
// provenance from the repository's workflow.
func (f *fixture) good(version string) string {
	f.t.Helper()
	d := f.push(version)
	f.sign(d)
	f.attestEval(d, 0.95, true)
	f.attestProvenance(d, goodBuilder)
	return d
}

func (f *fixture) promoter(opts ...Option) *Promoter {
	f.t.Helper()
	base := []Option{
		WithGitHub(f.client, owner, ghRepo),
		WithGitHubRepository("https://github.com", owner+"/"+ghRepo),
		WithRunURL("https://github.com/acme/iris/actions/runs/42"),
		WithLogf(f.t.Logf),
		WithRecorder(&SignRecorder{Signer: f.signer}),
	}
	p, err := New(f.model, append(base, opts...)...)
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

// tag returns the digest repo:env points at, "" when there is no such tag.
func (f *fixture) tag(env string) string {
	f.t.Helper()
	d, err := OCIRegistry{}.Resolve(f.ctx, f.repo, env)
	if err != nil {
		return ""
	}
	return d
}

// setTag points repo:env at digest directly (a previous deployment).
func (f *fixture) setTag(env, digest string) {
	f.t.Helper()
	if err := (OCIRegistry{}).Tag(f.ctx, f.repo, digest, env); err != nil {
		f.t.Fatal(err)
	}
}

// mergedPR records in the emulator that a pull request by author brought
// commit to main, approved by reviewers.
func (f *fixture) mergedPR(commit, author string, reviewers ...string) {
	f.t.Helper()
	pr := f.gh.AddPullRequest(owner, ghRepo, githubtest.PullRequest{User: author, Head: "mlship/promote-prod", HeadSHA: strings.Repeat("b", 40), Merged: true, MergeSHA: commit})
	for _, r := range reviewers {
		f.gh.AddReview(owner, ghRepo, pr.Number, githubtest.Review{User: r})
	}
}

func (f *fixture) deployments(env string) []githubtest.Deployment {
	var out []githubtest.Deployment
	for _, d := range f.gh.Deployments(owner, ghRepo) {
		if d.Environment == env {
			out = append(out, d)
		}
	}
	return out
}

// rule returns the named rule of env in pl.
func rule(t *testing.T, pl *Plan, env, name string) Rule {
	t.Helper()
	for _, e := range pl.Envs {
		if e.Environment != env {
			continue
		}
		for _, r := range e.Rules {
			if r.Name == name {
				return r
			}
		}
	}
	t.Fatalf("plan has no rule %s for %s: %+v", name, env, pl.Envs)
	return Rule{}
}

func startRegistry(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a Distribution registry process")
	}
	return testenv.StartRegistry(t)
}

func githubtestPR(author, head string) githubtest.PullRequest {
	return githubtest.PullRequest{User: author, Head: "mlship/promote-prod", HeadSHA: head}
}

func reviewBy(user string) githubtest.Review { return githubtest.Review{User: user} }
