package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/attest"
	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/ghapi"
	"github.com/mlship/mlship/internal/githubtest"
	"github.com/mlship/mlship/internal/iostreams"
	"github.com/mlship/mlship/internal/pipeline"
	"github.com/mlship/mlship/internal/sign"
	"github.com/mlship/mlship/internal/sign/signtest"
	"github.com/mlship/mlship/internal/testenv"
)

// TestPromotedToFlags: --promoted-to on verify and pull, --from-github on
// verify, --attest-key on promote apply (not on plan).
func TestPromotedToFlags(t *testing.T) {
	t.Parallel()
	ios, _, _ := iostreams.Test(nil)
	f := NewFactory(ios, "test")
	var pol PolicyFlags
	pol.Keys, pol.PromotedTo = []string{"k.pub"}, "prod"
	prom := PromoteFlags{pipeline.PromoterRequest{SpecDir: "d", MainBranch: "main"}}
	tests := []flagCase{
		{"verify --promoted-to", func(c func(any)) *cobra.Command {
			return NewCmdVerify(f, func(o *VerifyOptions) error { o.F = nil; c(*o); return nil })
		}, []string{"r@sha256:1", "--key", "k.pub", "--promoted-to", "prod", "--from-github", "--github-repository", "acme/iris"},
			VerifyOptions{Ref: "r@sha256:1", Policy: pol, FromGitHub: true, GitHubRepository: "acme/iris"}, ""},
		{"pull --verify --promoted-to", func(c func(any)) *cobra.Command {
			return NewCmdPull(f, func(o *PullOptions) error { c(o.Policy); return nil })
		}, []string{"r:prod", "dir", "--verify", "--key", "k.pub", "--promoted-to", "prod"}, pol, ""},
		{"promote apply --attest-key", func(c func(any)) *cobra.Command {
			return NewCmdPromote(f, func(o *PromoteOptions) error { o.F = nil; c(*o); return nil })
		}, []string{"apply", "d", "--attest-key", "env://COSIGN_PRIVATE_KEY", "--fulcio-url", "https://f", "--rekor-url", "https://r", "--tlog-upload",
			"--attest-format", "bundle", "--timestamp-server-url", "https://tsa", "--github-attestation", "--github-repository", "acme/iris"},
			PromoteOptions{Flags: prom, PromoteRequest: pipeline.PromoteRequest{Mode: "apply", Fetch: true,
				Record: pipeline.SignerRequest{Key: "env://COSIGN_PRIVATE_KEY", FulcioURL: "https://f", RekorURL: "https://r", TLogUpload: true,
					Format: "bundle", TimestampServerURL: "https://tsa", GitHubAttestation: true, GitHubRepository: "acme/iris"}}}, ""},
		{"promote plan signs nothing", func(c func(any)) *cobra.Command {
			return NewCmdPromote(f, func(o *PromoteOptions) error { c(*o); return nil })
		}, []string{"plan", "--attest-key", "k"}, nil, "unknown flag: --attest-key"},
	}
	runFlagCases(t, ios.ErrOut, tests)
}

// promotionFixture is a registry with signed models and promotion records
// attached the way mlship promote apply attaches them (mlship attest of a
// promotion predicate), plus a second key pair.
type promotionFixture struct {
	host, dir string
	env       map[string]string
	// digests by name: promoted (a dev record by the good key), foreign (a
	// dev record by the other key), copied (promoted's records copied
	// under its own attestation tag: records about another digest),
	// bare (signed, no record).
	d map[string]string
}

func newPromotionFixture(t *testing.T) *promotionFixture {
	t.Helper()
	pf := &promotionFixture{host: testenv.InProcessRegistry(t), dir: t.TempDir(), d: map[string]string{}}
	pf.env = map[string]string{"COSIGN_PASSWORD": "pw", "MLSHIP_CACHE_DIR": t.TempDir()}
	for _, k := range []string{"good", "other"} {
		if err := os.MkdirAll(filepath.Join(pf.dir, k), 0o755); err != nil {
			t.Fatal(err)
		}
		pf.run(t, "keygen", "--output-key-prefix", filepath.Join(pf.dir, k, "cosign"))
	}
	model := filepath.Join(pf.dir, "model")
	for _, n := range []string{"promoted", "foreign", "copied", "bare"} {
		writeFiles(t, model, map[string]string{"model.safetensors": "weights of " + n, "config.json": "{}"})
		out := pf.run(t, "push", model, pf.host+"/acme/iris:"+n, "--output", "json")
		var res struct {
			Digest string `json:"digest"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil || res.Digest == "" {
			t.Fatalf("push %s: %q %v", n, out, err)
		}
		pf.d[n] = res.Digest
		pf.run(t, "sign", pf.ref(n), "--key", pf.key("good"))
	}
	pf.attest(t, "promoted", "good", "dev")
	pf.attest(t, "foreign", "other", "dev")
	pf.attest(t, "copied", "good", "prod") // replaced below by promoted's records
	pf.copyAttestations(t, "promoted", "copied")
	return pf
}

func (pf *promotionFixture) ref(n string) string { return pf.host + "/acme/iris@" + pf.d[n] }
func (pf *promotionFixture) key(k string) string { return filepath.Join(pf.dir, k, "cosign.key") }
func (pf *promotionFixture) pub(k string) string { return filepath.Join(pf.dir, k, "cosign.pub") }

func (pf *promotionFixture) run(t *testing.T, args ...string) string {
	t.Helper()
	code, stdout, stderr := mlship(t, pf.env, args...)
	if code != 0 {
		t.Fatalf("mlship %s: exit %d: %s", strings.Join(args, " "), code, stderr)
	}
	return stdout
}

// attest attaches a promotion record for env to model n, signed by key k.
func (pf *promotionFixture) attest(t *testing.T, n, k, env string) {
	t.Helper()
	rec := attest.Promotion{Environment: env, Repository: pf.host + "/acme/iris", Git: attest.PromotionGit{MergeCommit: strings.Repeat("a", 40)},
		Rules: []attest.PromotionRule{{Name: "signature", Outcome: "pass"}}, PromotedAt: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	b, err := rec.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "promotion.json")
	writeFiles(t, filepath.Dir(p), map[string]string{"promotion.json": string(b)})
	pf.run(t, "attest", pf.ref(n), "--key", pf.key(k), "--predicate", p, "--predicate-type", attest.PromotionType)
}

// copyAttestations points to's attestation tag at from's: the records
// there are signed by the good key but about from's digest.
func (pf *promotionFixture) copyAttestations(t *testing.T, from, to string) {
	t.Helper()
	tag := func(n string) name.Tag {
		tg, err := name.NewTag(pf.host + "/acme/iris:" + strings.Replace(pf.d[n], ":", "-", 1) + ".att")
		if err != nil {
			t.Fatal(err)
		}
		return tg
	}
	desc, err := remote.Get(tag(from), remote.WithContext(context.Background()))
	if err != nil {
		t.Fatalf("reading %s's attestation tag (legacy layout): %v", from, err)
	}
	img, err := desc.Image()
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag(to), img); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyPromotedTo: verify and pull --verify accept a digest with a
// promotion record for the environment, by an accepted signer, about that
// digest, and refuse every other case, naming the rule.
func TestVerifyPromotedTo(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("keygen, push, sign and attest through the cli")
	}
	pf := newPromotionFixture(t)
	tests := []struct {
		name, model, env string
		code             int
		want             []string
	}{
		{"record for the environment", "promoted", "dev", 0, []string{"attestation: promotion by key"}},
		{"record for another environment", "promoted", "prod", 1, []string{"no promotion record for prod", "found records for dev"}},
		{"record by another key", "foreign", "dev", 1, []string{"no promotion record for dev", "not signed by key"}},
		{"records about another digest", "copied", "dev", 1, []string{"no promotion record for dev", "subject is " + pf.d["promoted"]}},
		{"no record", "bare", "dev", 1, []string{"no promotion record for dev"}},
		{"not an environment name", "promoted", "Prod!", 2, []string{"not an environment name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := mlship(t, pf.env, "verify", pf.ref(tt.model), "--key", pf.pub("good"), "--promoted-to", tt.env)
			if code != tt.code {
				t.Fatalf("verify --promoted-to %s: exit %d, want %d\n%s%s", tt.env, code, tt.code, stdout, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout+stderr, w) {
					t.Errorf("output does not say %q:\n%s%s", w, stdout, stderr)
				}
			}
		})
	}

	t.Run("pull", func(t *testing.T) {
		t.Parallel()
		good := filepath.Join(t.TempDir(), "iris")
		pf.run(t, "pull", pf.ref("promoted"), good, "--verify", "--key", pf.pub("good"), "--promoted-to", "dev")
		if b, err := os.ReadFile(filepath.Join(good, "model.safetensors")); err != nil || string(b) != "weights of promoted" {
			t.Errorf("pulled %q, %v", b, err)
		}
		for _, c := range []struct{ model, env string }{{"promoted", "prod"}, {"foreign", "dev"}, {"copied", "dev"}, {"bare", "dev"}} {
			target := filepath.Join(t.TempDir(), "iris")
			code, _, stderr := mlship(t, pf.env, "pull", pf.ref(c.model), target, "--verify", "--key", pf.pub("good"), "--promoted-to", c.env)
			if code != 1 || !strings.Contains(stderr, "no promotion record for "+c.env) {
				t.Errorf("pull --verify --promoted-to %s of %s: exit %d: %s", c.env, c.model, code, stderr)
			}
			if _, err := os.Stat(target); !os.IsNotExist(err) {
				t.Errorf("a refused pull created %s (%v)", target, err)
			}
		}
		if code, _, stderr := mlship(t, pf.env, "pull", pf.ref("promoted"), filepath.Join(t.TempDir(), "x"), "--promoted-to", "dev"); code != 2 || !strings.Contains(stderr, "--verify") {
			t.Errorf("--promoted-to without --verify: exit %d: %s", code, stderr)
		}
	})

	t.Run("spec environment requires promotion", func(t *testing.T) {
		t.Parallel()
		spec := t.TempDir()
		pub, err := os.ReadFile(pf.pub("good"))
		if err != nil {
			t.Fatal(err)
		}
		writeFiles(t, spec, map[string]string{"cosign.pub": string(pub), "model.cue": `name:    "iris"
version: "1.0.0"
registry: repository: "` + pf.host + `/acme/iris"
environments: {
	dev: attestations: ["promotion"]
	prod: {
		after: "dev"
		attestations: ["promotion"]
	}
	qa: {}
}
signing: key: "cosign.pub"
`})
		for _, c := range []struct {
			model, env string
			code       int
			want       string
		}{
			{"promoted", "dev", 0, "attestation: promotion"},
			{"promoted", "prod", 1, "no promotion record for prod"},
			{"bare", "dev", 1, "no promotion record for dev"},
			{"bare", "qa", 0, "Verified"},
		} {
			code, stdout, stderr := mlship(t, pf.env, "verify", pf.ref(c.model), "--spec", spec, "--env", c.env)
			if code != c.code || !strings.Contains(stdout+stderr, c.want) {
				t.Errorf("verify %s --spec --env %s: exit %d (want %d), want %q in:\n%s%s", c.model, c.env, code, c.code, c.want, stdout, stderr)
			}
		}
	})
}

// TestPromoteApplyNeedsARecord: promote apply whose promotion record
// cannot be signed (no key outside Actions, an unreadable key, a wrong
// password) exits 1 and leaves the tag alone; with the key, the tag moves
// and verify --promoted-to accepts the digest.
func TestPromoteApplyNeedsARecord(t *testing.T) {
	t.Parallel()
	c := newPromoteCLI(t)
	good := c.artifact(0.9, true)
	c.commit(`{"environments": {"dev": {"digest": "` + good + `"}}}`)
	key := strings.TrimSuffix(c.pub, ".pub") + ".key"
	tagRef, err := name.NewTag(c.repo + ":dev")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no signer outside Actions", nil, nil, "give --attest-key"},
		{"unreadable key", []string{"--attest-key", filepath.Join(t.TempDir(), "missing.key")}, map[string]string{"COSIGN_PASSWORD": "pw"}, "missing.key"},
		{"wrong password", []string{"--attest-key", key}, map[string]string{"COSIGN_PASSWORD": "not-it"}, "--attest-key " + key},
	} {
		args := append([]string{"promote", "apply", c.dir, "--repository", c.repo, "--key", c.pub}, tt.args...)
		code, stdout, stderr := mlship(t, c.env("push", tt.env), args...)
		if code != 1 || !strings.Contains(stderr, tt.want) || !strings.Contains(stderr, "the tag was not moved") {
			t.Errorf("%s: exit %d, want 1 naming %q and saying the tag was not moved:\n%s%s", tt.name, code, tt.want, stdout, stderr)
		}
		if _, err := remote.Head(tagRef); err == nil {
			t.Fatalf("%s: %s exists after a refused apply", tt.name, tagRef)
		}
		if d := c.gh.Deployments("acme", "iris"); len(d) != 0 {
			t.Fatalf("%s: deployments %+v after a refused apply", tt.name, d)
		}
	}
	code, stdout, stderr := mlship(t, c.env("push", map[string]string{"COSIGN_PASSWORD": "pw"}), "promote", "apply", c.dir, "--repository", c.repo, "--key", c.pub, "--attest-key", key)
	if code != 0 {
		t.Fatalf("apply with the key: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr := mlship(t, nil, "verify", c.repo+"@"+good, "--key", c.pub, "--promoted-to", "dev"); code != 0 {
		t.Errorf("verify --promoted-to dev after apply: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr := mlship(t, nil, "verify", c.repo+"@"+good, "--key", c.pub, "--promoted-to", "staging"); code != 1 || !strings.Contains(stderr, "found records for dev") {
		t.Errorf("verify --promoted-to staging after a dev apply: exit %d: %s", code, stderr)
	}
}

// TestVerifyFromGitHub: a promotion record held only by GitHub's artifact
// attestations (the registry has the model and its signature, not the
// record) is found with --from-github and verified as strictly as the
// registry's: for the environment, by the key, about the digest.
func TestVerifyFromGitHub(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	elsewhere, registryHost := testenv.InProcessRegistry(t), testenv.InProcessRegistry(t)
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := img.Digest()
	for _, host := range []string{elsewhere, registryHost} {
		r, err := name.ParseReference(host + "/acme/iris@" + h.String())
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(r, img); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	signer := func(k string) *sign.Signer {
		priv, pub, err := sign.GenerateKeyPair([]byte("pw"))
		if err != nil {
			t.Fatal(err)
		}
		writeFiles(t, dir, map[string]string{k + ".key": string(priv), k + ".pub": string(pub)})
		sv, err := sign.LoadPrivateKey(filepath.Join(dir, k+".key"), []byte("pw"), nil)
		if err != nil {
			t.Fatal(err)
		}
		s, err := sign.NewKeySigner(sv, k+".key")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good, other := signer("good"), signer("other")
	ref := registryHost + "/acme/iris@" + h.String()
	if _, err := sign.Sign(ctx, ref, good); err != nil {
		t.Fatal(err)
	}
	gh := githubtest.New(t)
	client, err := ghapi.New(ctx, gh.Token, ghapi.WithBaseURL(gh.URL))
	if err != nil {
		t.Fatal(err)
	}
	// Records attested in another registry (bundle format), stored on
	// GitHub only: dev by the good key, prod by another key.
	for _, r := range []struct {
		s   *sign.Signer
		env string
	}{{good, "dev"}, {other, "prod"}} {
		rec := attest.Promotion{Environment: r.env, Repository: registryHost + "/acme/iris", Git: attest.PromotionGit{MergeCommit: strings.Repeat("a", 40)}, PromotedAt: time.Now()}
		pred, _ := rec.Marshal()
		res, err := sign.Attest(ctx, elsewhere+"/acme/iris@"+h.String(), r.s, attest.PromotionType, pred, sign.WithFormat(sign.FormatBundle))
		if err != nil || len(res.Bundles) != 1 {
			t.Fatalf("attesting a %s record as a bundle: %d bundles, %v", r.env, len(res.Bundles), err)
		}
		if _, err := client.CreateAttestation(ctx, "acme", "iris", res.Bundles[0]); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"GITHUB_TOKEN": gh.Token, "GITHUB_API_URL": strings.TrimSuffix(gh.URL, "/"), "MLSHIP_CACHE_DIR": t.TempDir()}
	pub := filepath.Join(dir, "good.pub")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"registry only", []string{"--promoted-to", "dev"}, 1, "no promotion record for dev"},
		{"from GitHub", []string{"--promoted-to", "dev", "--from-github", "--github-repository", "acme/iris"}, 0, "attestation: promotion"},
		{"GitHub's record for prod is by another key", []string{"--promoted-to", "prod", "--from-github", "--github-repository", "acme/iris"}, 1, "no promotion record for prod"},
		{"another repository's attestations", []string{"--promoted-to", "dev", "--from-github", "--github-repository", "acme/other"}, 1, "GitHub holds no attestations"},
		{"which repository", []string{"--promoted-to", "dev", "--from-github"}, 1, "--github-repository OWNER/REPO"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := mlship(t, env, append([]string{"verify", ref, "--key", pub}, tt.args...)...)
			if code != tt.code || !strings.Contains(stdout+stderr, tt.want) {
				t.Errorf("verify %v: exit %d (want %d), want %q in:\n%s%s", tt.args, code, tt.code, tt.want, stdout, stderr)
			}
		})
	}
}

// TestPromoteApplyKeylessRecord: inside an Actions job with id-token:
// write and no --attest-key, apply signs the promotion record keyless
// (the main workflow's identity, from the loopback Fulcio and Rekor); a
// deployer accepts it by that identity and refuses it under another.
func TestPromoteApplyKeylessRecord(t *testing.T) {
	t.Parallel()
	wf := signtest.Workflow{Repository: "acme/iris", Path: ".github/workflows/main.yml", Ref: "refs/heads/main", SHA: strings.Repeat("e", 40), EventName: "push"}
	ss := signtest.Start(t, wf)
	c := newPromoteCLI(t)
	good := c.artifact(0.9, true)
	c.commit(`{"environments": {"dev": {"digest": "` + good + `"}}}`)
	job := ss.Env()
	delete(job, gha.VarSHA) // the commit is the repository's HEAD
	job["SIGSTORE_ROOT_FILE"], job["SIGSTORE_REKOR_PUBLIC_KEY"] = ss.RootFile, ss.RekorKeyFile
	code, stdout, stderr := mlship(t, c.env("push", job), "promote", "apply", c.dir, "--repository", c.repo, "--key", c.pub,
		"--fulcio-url", ss.FulcioURL, "--rekor-url", ss.RekorURL, "-o", "json")
	if code != 0 {
		t.Fatalf("keyless apply: exit %d\n%s%s", code, stdout, stderr)
	}
	var pl struct {
		Environments []struct {
			Outcome string `json:"outcome"`
			Record  *struct {
				Signer string `json:"signer"`
			} `json:"record"`
		} `json:"environments"`
	}
	// In Actions stdout also carries workflow commands (::add-mask:: of the
	// OIDC token): the JSON document starts on its own line.
	doc := stdout[max(strings.Index(stdout, "\n{"), 0):]
	if err := json.Unmarshal([]byte(doc), &pl); err != nil || len(pl.Environments) != 1 {
		t.Fatalf("apply --output json: %v\n%s", err, stdout)
	}
	if e := pl.Environments[0]; e.Outcome != "moved" || e.Record == nil || !strings.HasPrefix(e.Record.Signer, "certificate ") {
		t.Errorf("dev: outcome %s, record %+v; want moved with a record signed by a Fulcio certificate", e.Outcome, e.Record)
	}
	if n := ss.Requests("fulcio"); n != 1 {
		t.Errorf("%d Fulcio certificates for one record, want 1", n)
	}
	trust := map[string]string{"SIGSTORE_ROOT_FILE": ss.RootFile, "SIGSTORE_REKOR_PUBLIC_KEY": ss.RekorKeyFile}
	verify := []string{"verify", c.repo + "@" + good, "--key", c.pub, "--certificate-oidc-issuer", ss.IssuerURL, "--insecure-ignore-sct", "--promoted-to", "dev"}
	if code, stdout, stderr := mlship(t, trust, append(verify, "--certificate-identity", wf.Identity())...); code != 0 || !strings.Contains(stdout, "attestation: promotion by "+wf.Identity()) {
		t.Errorf("verify --promoted-to dev by the main workflow's identity: exit %d\n%s%s", code, stdout, stderr)
	}
	prYML := "https://github.com/acme/iris/.github/workflows/pr.yml@refs/heads/main"
	if code, _, stderr := mlship(t, trust, append(verify, "--certificate-identity", prYML)...); code != 1 || !strings.Contains(stderr, "no promotion record for dev") {
		t.Errorf("verify --promoted-to dev accepting only pr.yml's identity: exit %d, want 1: %s", code, stderr)
	}
}

// TestPromoteApplyGitHubAttestation: with --github-attestation the
// promotion record's bundle is also stored with GitHub's attestations API
// (about the promoted digest); an impossible request (legacy format, which
// has no bundle) is refused before anything moves.
func TestPromoteApplyGitHubAttestation(t *testing.T) {
	t.Parallel()
	c := newPromoteCLI(t)
	good := c.artifact(0.9, true)
	c.commit(`{"environments": {"dev": {"digest": "` + good + `"}}}`)
	key := strings.TrimSuffix(c.pub, ".pub") + ".key"
	env := c.env("push", map[string]string{"COSIGN_PASSWORD": "pw"})
	apply := []string{"promote", "apply", c.dir, "--repository", c.repo, "--key", c.pub, "--attest-key", key, "--github-attestation"}
	if code, _, stderr := mlship(t, env, append(apply, "--attest-format", "legacy")...); code != 2 || !strings.Contains(stderr, "needs --format bundle or both") {
		t.Errorf("--github-attestation with legacy records: exit %d, want 2: %s", code, stderr)
	}
	if d := c.gh.Deployments("acme", "iris"); len(d) != 0 {
		t.Fatalf("a refused apply recorded deployments %+v", d)
	}
	code, stdout, stderr := mlship(t, env, apply...)
	if code != 0 {
		t.Fatalf("apply --github-attestation: exit %d\n%s%s", code, stdout, stderr)
	}
	atts := c.gh.Attestations("acme", "iris")
	if len(atts) != 1 || atts[0].PredicateType != attest.PromotionType || len(atts[0].Subjects) != 1 || atts[0].Subjects[0] != good {
		t.Fatalf("GitHub attestations %+v, want one promotion record about %s", atts, good)
	}
	if !strings.Contains(stdout, "GitHub attestation") {
		t.Errorf("the plan does not say the record went to GitHub:\n%s", stdout)
	}
}
