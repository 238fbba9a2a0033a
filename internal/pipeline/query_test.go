package pipeline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/mlship/mlship/examples/iris"
	"github.com/mlship/mlship/examples/iris/irisml"
	"github.com/mlship/mlship/internal/attest"
	"github.com/mlship/mlship/internal/card"
	"github.com/mlship/mlship/internal/iostreams"
	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/pipeline"
	"github.com/mlship/mlship/internal/sign"
	"github.com/mlship/mlship/internal/testenv"
)

const trainerEnv = "MLSHIP_QUERY_TEST_TRAINER"

// TestMain lets the test binary double as the iris trainer and evaluator.
func TestMain(m *testing.M) {
	if os.Getenv(trainerEnv) == "1" {
		if err := irisml.Main(os.Args[1:], os.Stdout); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// irisSpecDir copies the iris example, pointed at repo and at this test
// binary as its trainer, with the per-example eval results packaged too
// (so that diff can compute confidence intervals).
func irisSpecDir(t *testing.T, repo string) string {
	t.Helper()
	dir := t.TempDir()
	err := fs.WalkDir(iris.Files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := iris.Files.ReadFile(p)
		if err != nil {
			return err
		}
		if p == "model.cue" {
			s := string(b)
			for _, rep := range [][2]string{
				{`"localhost:5000/mlship/iris"`, fmt.Sprintf("%q", repo)},
				{`"go", "run", "./trainer"`, fmt.Sprintf("%q", os.Args[0])},
				{`{path: "README.md", role: "doc"},`, `{path: "README.md", role: "doc"}, {path: "examples.jsonl", role: "dataset"},`},
				{`signing: key: "cosign.pub"`, `signing: {}`},
			} {
				if !strings.Contains(s, rep[0]) {
					t.Fatalf("the iris spec no longer contains %s", rep[0])
				}
				s = strings.ReplaceAll(s, rep[0], rep[1])
			}
			b = []byte(s)
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	// A git repository ignoring what the steps write, as mlship init
	// scaffolds it: the code digest is the same for both trainings.
	ignore := "model/\nmetrics.json\neval.json\nexamples.jsonl\nrun.json\neval-result.json\ndrift.json\nreference-profile.json\n" + card.FileName + "\n"
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte(ignore), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "-m", "iris"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return dir
}

type proxyLog struct {
	mu    sync.Mutex
	paths []string
}

func (p *proxyLog) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.paths
	p.paths = nil
	return out
}

// startProxy puts a recording reverse proxy in front of a registry.
func startProxy(t *testing.T, host string) (string, *proxyLog) {
	t.Helper()
	u, _ := url.Parse("http://" + host)
	rp := httputil.NewSingleHostReverseProxy(u)
	log := &proxyLog{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.mu.Lock()
		log.paths = append(log.paths, r.Method+" "+r.URL.Path)
		log.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), log
}

// keyPair is a cosign key pair: the signer and the public key's path.
func keyPair(t *testing.T) (*sign.Signer, string) {
	t.Helper()
	priv, pub, err := sign.GenerateKeyPair([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "k.key")
	if err := os.WriteFile(p, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p+".pub", pub, 0o644); err != nil {
		t.Fatal(err)
	}
	sv, err := sign.LoadPrivateKey(p, []byte("pw"), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sign.NewKeySigner(sv, "k.key")
	if err != nil {
		t.Fatal(err)
	}
	return s, p + ".pub"
}

type trained struct {
	ref  string
	eval *attest.EvalResult
	push *pipeline.PushResult
}

// trainAndShip trains iris with learning_rate lr, evaluates it, checks
// drift, packages and pushes it as tag, and attests its eval result.
func trainAndShip(t *testing.T, r *pipeline.Run, dir, lr, tag string, s *sign.Signer) trained {
	t.Helper()
	ctx := context.Background()
	if _, err := pipeline.Train(ctx, r, pipeline.TrainRequest{SpecDir: dir, Params: []string{"learning_rate=" + lr}, NoGPUProbe: true}); err != nil {
		t.Fatalf("train lr=%s: %v\n%s", lr, err, r.IO.ErrOut)
	}
	ev, err := pipeline.Eval(ctx, r, pipeline.EvalRequest{SpecDir: dir, NoBaseline: true, Out: filepath.Join(dir, "eval-result.json")})
	if err != nil {
		t.Fatalf("eval lr=%s: %v", lr, err)
	}
	if _, err := pipeline.Drift(ctx, r, pipeline.DriftRequest{SpecDir: dir, Out: filepath.Join(dir, "drift.json")}); err != nil {
		t.Fatalf("drift: %v", err)
	}
	pr, err := pipeline.Push(ctx, r, pipeline.PushRequest{Source: dir, Ref: tag, NoCache: true})
	if err != nil {
		t.Fatalf("push lr=%s: %v", lr, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "eval-result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Attest(ctx, pr.Ref, s, attest.EvalType, b); err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Sign(ctx, pr.Ref, s); err != nil {
		t.Fatal(err)
	}
	return trained{ref: pr.Ref, eval: ev, push: pr}
}

// TestDiffAndCardOfTrainedIris trains iris twice (learning_rate 0.1 and
// 0.3), packages, pushes (to the Distribution registry) and attests both,
// then: diff names the changed weight file, the hyperparameter and the
// metric deltas (with bootstrap intervals from the packaged per-example
// results) without fetching a weight; the card of each is YAML front
// matter plus Markdown whose model-index holds exactly the attested eval
// metrics; it lies at the root of the pulled model; mlship card reads
// only that layer.
func TestDiffAndCardOfTrainedIris(t *testing.T) {
	if testing.Short() {
		t.Skip("trains iris twice and starts a Distribution registry")
	}
	t.Setenv(trainerEnv, "1") // the trainer and evaluator are this binary
	host := testenv.StartRegistry(t)
	proxy, plog := startProxy(t, host)
	repo := proxy + "/acme/iris"
	dir := irisSpecDir(t, repo)
	ios, _, _ := iostreams.Test(map[string]string{"MLSHIP_CACHE_DIR": t.TempDir()})
	r := pipeline.NewRun(ios)
	s, pub := keyPair(t)
	a := trainAndShip(t, r, dir, "0.1", repo+":lr-0.1", s)
	b := trainAndShip(t, r, dir, "0.3", repo+":lr-0.3", s)
	if a.push.Digest == b.push.Digest {
		t.Fatal("two learning rates gave the same artifact")
	}
	weights := map[string]bool{}
	ctx := context.Background()
	for _, x := range []trained{a, b} {
		_, raw, _, err := oci.NewClient().Manifest(ctx, x.ref)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := oci.ParseManifest(raw)
		for _, l := range m.Layers {
			if role, _, _ := oci.ParseLayerMediaType(l.MediaType); role == oci.RoleWeight || role == oci.RoleWeightConfig {
				weights[l.Digest] = true
			}
		}
	}

	plog.take()
	res, err := pipeline.Diff(ctx, r, pipeline.DiffRequest{A: a.ref, B: b.ref, SpecDir: dir, Policy: pipeline.PolicyRequest{Keys: []string{pub}}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.A.Verified || !res.B.Verified {
		t.Errorf("metrics not verified with the signer's key: A %q, B %q", res.A.Verification, res.B.Verification)
	}
	for _, p := range plog.take() {
		if i := strings.Index(p, "/blobs/"); i >= 0 && weights[p[i+len("/blobs/"):]] {
			t.Errorf("diff fetched a model file's layer: %s", p)
		}
	}
	files := map[string]pipeline.FileChange{}
	for _, f := range res.Files {
		files[f.Path] = f
	}
	if w, ok := files["model/weights.json"]; !ok || w.Change != pipeline.ChangeChanged || w.DigestA == w.DigestB || w.SizeA == nil || w.SizeB == nil || w.Role != "weight" {
		t.Errorf("diff files %+v: want model/weights.json changed (weight, both digests and sizes)", res.Files)
	}
	if _, ok := files["README.md"]; ok {
		t.Errorf("README.md did not change but is listed: %+v", files["README.md"])
	}
	lin := map[string]pipeline.LineageDelta{}
	for _, l := range res.Lineage {
		lin[l.Field] = l
	}
	if l := lin["hyperparameters.learning_rate"]; !l.Changed || fmt.Sprint(l.A) != "0.1" || fmt.Sprint(l.B) != "0.3" || l.Source != "card" {
		t.Errorf("lineage learning_rate %+v, want 0.1 → 0.3 from the card", l)
	}
	for _, f := range []string{"inputDigest"} {
		if !lin[f].Changed {
			t.Errorf("lineage %s unchanged: %+v", f, lin[f])
		}
	}
	for _, f := range []string{"seed", "hyperparameters.epochs", "datasets.iris-train", "code", "commit", "runner"} {
		if l, ok := lin[f]; !ok || l.Changed {
			t.Errorf("lineage %s: %+v, want present and unchanged", f, l)
		}
	}
	if len(res.Metrics) == 0 {
		t.Fatalf("no metric deltas: %+v", res)
	}
	withCI := 0
	for _, m := range res.Metrics {
		va, vb := a.eval.Metrics[m.Metric], b.eval.Metrics[m.Metric]
		if m.A == nil || m.B == nil || *m.A != va || *m.B != vb || m.Delta == nil || *m.Delta != vb-va {
			t.Errorf("metric %s: %+v, want %v → %v", m.Metric, m, va, vb)
		}
		if m.CI != nil {
			withCI++
			if m.CI.N == 0 || m.CI.Low > m.CI.High {
				t.Errorf("metric %s CI %+v", m.Metric, m.CI)
			}
		}
	}
	if withCI == 0 {
		t.Errorf("no bootstrap interval although both packaged examples.jsonl: %+v", res.Metrics)
	}
	var text strings.Builder
	if err := res.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"model/weights.json", "changed", "hyperparameters.learning_rate", "accuracy"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("diff text lacks %q:\n%s", want, text.String())
		}
	}
	t.Logf("diff:\n%s", text.String())

	// The card: fetched alone, YAML front matter + Markdown, model-index =
	// the attested metrics.
	for _, x := range []trained{a, b} {
		plog.take()
		cr, err := pipeline.Card(ctx, r, pipeline.CardRequest{Ref: x.ref})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range plog.take() {
			if strings.Contains(p, "/blobs/") && !strings.HasSuffix(p, cr.Layer) && weights[p[strings.Index(p, "/blobs/")+len("/blobs/"):]] {
				t.Errorf("card fetched another layer: %s", p)
			}
		}
		md := cr.Markdown
		if !strings.HasPrefix(md, "---\n") {
			t.Fatalf("card does not start with front matter:\n%s", md)
		}
		front, body, ok := strings.Cut(md[4:], "\n---\n")
		if !ok || !strings.Contains(body, "# iris 1.0.0") {
			t.Fatalf("card is not front matter + Markdown:\n%s", md)
		}
		var meta struct {
			License    string   `yaml:"license"`
			Datasets   []string `yaml:"datasets"`
			Metrics    []string `yaml:"metrics"`
			ModelIndex []struct {
				Name    string `yaml:"name"`
				Results []struct {
					Metrics []struct {
						Type  string  `yaml:"type"`
						Value float64 `yaml:"value"`
					} `yaml:"metrics"`
				} `yaml:"results"`
			} `yaml:"model-index"`
		}
		if err := yaml.Unmarshal([]byte(front), &meta); err != nil {
			t.Fatalf("front matter: %v\n%s", err, front)
		}
		sts, err := sign.Statements(ctx, x.ref, attest.EvalType)
		if err != nil || len(sts) != 1 {
			t.Fatalf("eval attestations of %s: %d, %v", x.ref, len(sts), err)
		}
		attested, err := attest.ParseEvalResult(sts[0].Predicate)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, mi := range meta.ModelIndex {
			for _, rr := range mi.Results {
				for _, m := range rr.Metrics {
					got[m.Type] = m.Value
				}
			}
		}
		if len(got) != len(attested.Metrics) {
			t.Errorf("model-index %v, attested %v", got, attested.Metrics)
		}
		for k, v := range attested.Metrics {
			if got[k] != v {
				t.Errorf("model-index %s = %v, the eval attestation holds %v", k, got[k], v)
			}
		}
		if meta.License != "apache-2.0" || len(meta.Datasets) == 0 || len(meta.Metrics) == 0 {
			t.Errorf("front matter %+v", meta)
		}
		if !strings.Contains(body, "## Data drift") || !strings.Contains(body, "## Lineage") {
			t.Errorf("card body lacks drift or lineage:\n%s", body)
		}
	}

	// MODEL_CARD.md is at the root of the pulled model.
	out := filepath.Join(t.TempDir(), "pulled")
	if _, err := oci.NewClient().Pull(ctx, b.ref, out); err != nil {
		t.Fatal(err)
	}
	pulled, err := os.ReadFile(filepath.Join(out, card.FileName))
	if err != nil {
		t.Fatalf("pulled model has no %s at its root: %v", card.FileName, err)
	}
	if c, err := card.Parse(pulled); err != nil || c.Meta.MLShip == nil || c.Meta.MLShip.Hyperparameters["learning_rate"] != 0.3 {
		t.Errorf("pulled card: %v %+v", err, c)
	}
	unverified, err := pipeline.Diff(ctx, r, pipeline.DiffRequest{A: a.ref, B: b.ref})
	if err != nil || unverified.A.Verified || !strings.Contains(unverified.B.Verification, "no policy") {
		t.Errorf("diff without a policy: %v %+v %+v", err, unverified.A, unverified.B)
	}
	js, _ := json.Marshal(res)
	if !strings.Contains(string(js), `"files"`) || !strings.Contains(string(js), `"lineage"`) || !strings.Contains(string(js), `"metrics"`) {
		t.Errorf("diff JSON lacks the contract's keys: %s", js)
	}
}
