package cli

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlship/mlship/internal/attest"
	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/pipeline"
	"github.com/mlship/mlship/internal/sign"
	"github.com/mlship/mlship/internal/testenv"
)

// countingProxy is a loopback reverse proxy in front of a registry that
// records every request and the bytes it served.
type countingProxy struct {
	host  string
	mu    sync.Mutex
	paths []string
	bytes int64
}

func newCountingProxy(t *testing.T, registryHost string) *countingProxy {
	t.Helper()
	u, _ := url.Parse("http://" + registryHost)
	rp := httputil.NewSingleHostReverseProxy(u)
	p := &countingProxy{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &countingWriter{ResponseWriter: w}
		rp.ServeHTTP(cw, r)
		p.mu.Lock()
		p.paths = append(p.paths, r.Method+" "+r.URL.Path)
		p.bytes += cw.n
		p.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	p.host = strings.TrimPrefix(srv.URL, "http://")
	return p
}

func (p *countingProxy) reset() (paths []string, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	paths, bytes = p.paths, p.bytes
	p.paths, p.bytes = nil, 0
	return paths, bytes
}

type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (w *countingWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	return n, err
}

func newTestSigner(t *testing.T, dir, name string) (*sign.Signer, string) {
	t.Helper()
	priv, pub, err := sign.GenerateKeyPair([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	keyPath, pubPath := filepath.Join(dir, name+".key"), filepath.Join(dir, name+".pub")
	mustWrite(t, keyPath, priv)
	mustWrite(t, pubPath, pub)
	sv, err := sign.LoadPrivateKey(keyPath, []byte("pw"), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sign.NewKeySigner(sv, name+".key")
	if err != nil {
		t.Fatal(err)
	}
	return s, pubPath
}

type lsFixture struct {
	metrics map[string]map[string]float64 // digest → attested metrics (the newest)
	weights map[string]bool               // every model layer digest
	byIndex []string                      // digest of version i
}

// pushVersions pushes n ModelPack versions (1.0.i, a 64 KiB weight file
// each), signs them and attests their eval results, with three exceptions:
// version 5 has no eval attestation, version 9 also carries a newer eval
// attestation by another key (better metrics: what an attacker with push
// access would attach), version 13 is attested but not signed.
func pushVersions(t *testing.T, host string, n int, good, evil *sign.Signer) *lsFixture {
	t.Helper()
	ctx := context.Background()
	c := oci.NewClient()
	fx := &lsFixture{metrics: map[string]map[string]float64{}, weights: map[string]bool{}}
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	fx.byIndex = make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = func() error {
				dir := t.TempDir()
				w := make([]byte, 64<<10)
				_, _ = rand.Read(w)
				if err := os.WriteFile(filepath.Join(dir, "model.safetensors"), w, 0o644); err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(fmt.Sprintf(`{"i":%d}`, i)), 0o644); err != nil {
					return err
				}
				src, err := oci.SourceFromDir(dir, nil)
				if err != nil {
					return err
				}
				v := fmt.Sprintf("1.0.%d", i)
				res, err := c.Push(ctx, src, host+"/acme/iris:"+v, oci.WithCreated(base.Add(time.Duration(i)*time.Hour)),
					oci.WithAnnotations(map[string]string{oci.AnnotationVersion: v, oci.AnnotationInputDigest: fmt.Sprintf("sha256:%064x", i+1)}))
				if err != nil {
					return err
				}
				mu.Lock()
				fx.byIndex[i] = res.Digest
				for _, l := range res.Layers {
					fx.weights[l.Digest] = true
				}
				mu.Unlock()
				if i != 13 {
					if _, err := sign.Sign(ctx, res.Ref, good); err != nil {
						return err
					}
				}
				if i == 5 {
					return nil
				}
				// Scrambled so that push order is not metric order.
				k := (i * 37) % n
				m := map[string]float64{"accuracy": 0.8 + 0.003*float64(k), "log_loss": 0.2 + 0.005*float64((k*7)%n), "custom": float64((k * 11) % n)}
				if err := attestEval(ctx, res.Ref, good, v, m, "2026-11-02T00:00:00Z"); err != nil {
					return err
				}
				if i == 9 {
					m = map[string]float64{"accuracy": 0.999, "log_loss": 0.001, "custom": 99}
					if err := attestEval(ctx, res.Ref, evil, v, m, "2026-11-03T00:00:00Z"); err != nil {
						return err
					}
				}
				mu.Lock()
				fx.metrics[res.Digest] = m
				mu.Unlock()
				return nil
			}()
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("version %d: %v", i, err)
		}
	}
	for tag, i := range map[string]int{"prod": 3, "staging": 7, "latest": n - 1} {
		if _, err := c.Tag(ctx, host+"/acme/iris:1.0."+fmt.Sprint(i), tag); err != nil {
			t.Fatal(err)
		}
	}
	return fx
}

func attestEval(ctx context.Context, ref string, s *sign.Signer, version string, m map[string]float64, at string) error {
	ev := attest.EvalResult{SchemaVersion: attest.EvalSchemaVersion, Model: attest.ModelRef{Name: "iris", Version: version}, Passed: true,
		Metrics: m, EvaluatedAt: at, Thresholds: map[string]attest.Threshold{"accuracy": {Direction: "maximize"}, "log_loss": {Direction: "minimize"}}}
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	_, err = sign.Attest(ctx, ref, s, attest.EvalType, b)
	return err
}

func lsMetrics(t *testing.T, args ...string) *pipeline.VersionsResult {
	t.Helper()
	code, stdout, stderr := mlship(t, map[string]string{"MLSHIP_CACHE_DIR": t.TempDir()}, append([]string{"ls", "--metrics", "-o", "json"}, args...)...)
	if code != 0 {
		t.Fatalf("ls --metrics %v: exit %d\n%s", args, code, stderr)
	}
	var res pipeline.VersionsResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("ls --metrics JSON: %v\n%s", err, stdout)
	}
	return &res
}

// TestLsMetricsDistribution: against the real Distribution registry,
// ls --metrics over 50 versions returns every version with every metric
// its eval attestation holds, sorted in the metric's direction, verified
// only where the signature and the shown attestation verify; a counting
// proxy in front of the registry shows that no model layer was fetched.
func TestLsMetricsDistribution(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Distribution registry and pushes 50 versions")
	}
	t.Parallel()
	const n = 50
	host := testenv.StartRegistry(t)
	keys := t.TempDir()
	good, pub := newTestSigner(t, keys, "release")
	evil, _ := newTestSigner(t, keys, "attacker")
	fx := pushVersions(t, host, n, good, evil)
	proxy := newCountingProxy(t, host)
	repo := proxy.host + "/acme/iris"

	start := time.Now()
	res := lsMetrics(t, repo, "--sort", "accuracy", "--key", pub)
	elapsed := time.Since(start)
	paths, bytes := proxy.reset()
	t.Logf("ls --metrics --sort accuracy --key (verified) on %d versions: %d requests (%s), %d bytes served, %s on loopback", n, len(paths), requestKinds(paths), bytes, elapsed.Round(time.Millisecond))
	checkNoModelLayer(t, paths, fx)

	if len(res.Versions) != n || res.Total != n {
		t.Fatalf("%d versions (total %d), want %d", len(res.Versions), res.Total, n)
	}
	if res.Sort == nil || res.Sort.Direction != "maximize" || res.Sort.Source != "attestation" {
		t.Errorf("sort = %+v, want accuracy maximize from the attestations", res.Sort)
	}
	prev := 2.0
	seenMissing := false
	for i, v := range res.Versions {
		want := fx.metrics[v.Digest]
		if len(v.Metrics) != len(want) {
			t.Errorf("%s (%s): metrics %v, want %v", v.Version, v.Digest, v.Metrics, want)
		}
		for k, x := range want {
			if v.Metrics[k] != x {
				t.Errorf("%s: %s = %v, want %v", v.Version, k, v.Metrics[k], x)
			}
		}
		acc, ok := v.Metrics["accuracy"]
		switch {
		case !ok:
			seenMissing = true
		case seenMissing:
			t.Errorf("row %d (%s) has accuracy after a version without it", i, v.Version)
		case acc > prev:
			t.Errorf("row %d (%s): accuracy %v after %v: not descending", i, v.Version, acc, prev)
		default:
			prev = acc
		}
		wantVerified := v.Version != "1.0.5" && v.Version != "1.0.9" && v.Version != "1.0.13"
		if v.Verified != wantVerified {
			t.Errorf("%s: verified = %v (%s), want %v", v.Version, v.Verified, v.Verification, wantVerified)
		}
		if v.Version == "1.0.13" && (v.Signed || !strings.Contains(v.Verification, "refused")) {
			t.Errorf("unsigned 1.0.13: signed %v, verification %q", v.Signed, v.Verification)
		}
		if v.Version == "1.0.9" && !strings.Contains(v.Verification, "different eval attestations") {
			t.Errorf("1.0.9 with an attacker's newer attestation: %q", v.Verification)
		}
		if v.InputDigest == "" || v.Created == "" || len(v.Tags) == 0 {
			t.Errorf("%s: incomplete row %+v", v.Version, v)
		}
		envs := strings.Join(v.Environments, ",")
		switch v.Version {
		case "1.0.3":
			if envs != "prod" {
				t.Errorf("1.0.3 environments %q, want prod", envs)
			}
		case "1.0.7":
			if envs != "staging" {
				t.Errorf("1.0.7 environments %q, want staging", envs)
			}
		default:
			if envs != "" {
				t.Errorf("%s environments %q, want none", v.Version, envs)
			}
		}
	}
	if res.Versions[0].Version != "1.0.9" || res.Versions[0].Verified {
		t.Errorf("the attacker's 0.999 tops the list, unverified: got %s verified=%v", res.Versions[0].Version, res.Versions[0].Verified)
	}
	if !seenMissing || res.Versions[n-1].Version != "1.0.5" {
		t.Errorf("the version without metrics is not last: %s", res.Versions[n-1].Version)
	}

	// log_loss is minimised: ascending.
	res = lsMetrics(t, repo, "--sort", "log_loss")
	for i := 1; i < len(res.Versions); i++ {
		a, okA := res.Versions[i-1].Metrics["log_loss"]
		b, okB := res.Versions[i].Metrics["log_loss"]
		if okA && okB && b < a {
			t.Fatalf("log_loss not ascending at row %d: %v then %v", i, a, b)
		}
	}
	for _, v := range res.Versions {
		if v.Verified || !strings.Contains(v.Verification, "no policy") && len(v.Metrics) > 0 {
			t.Fatalf("without a policy %s shows verified=%v (%s)", v.Version, v.Verified, v.Verification)
		}
	}
	proxy.reset()
	start = time.Now()
	res = lsMetrics(t, repo, "--sort", "custom")
	elapsed = time.Since(start)
	paths, bytes = proxy.reset()
	t.Logf("ls --metrics --sort custom (unverified) on %d versions: %d requests (%s), %d bytes served, %s on loopback", n, len(paths), requestKinds(paths), bytes, elapsed.Round(time.Millisecond))
	checkNoModelLayer(t, paths, fx)
	if res.Sort.Source != "default" || res.Sort.Direction != "maximize" || res.Versions[0].Metrics["custom"] != 99 {
		t.Errorf("unknown metric: sort %+v, first %v", res.Sort, res.Versions[0].Metrics)
	}

	// --limit without --sort: the newest N, and only their attestations read.
	res = lsMetrics(t, repo, "--limit", "5")
	paths, _ = proxy.reset()
	if len(res.Versions) != 5 || res.Total != n || res.Versions[0].Version != "1.0.49" || res.Versions[4].Version != "1.0.45" {
		t.Errorf("--limit 5: %d versions, first %s", len(res.Versions), res.Versions[0].Version)
	}
	att := 0
	for _, p := range paths {
		if strings.Contains(p, ".att") {
			att++
		}
	}
	if att > 5 {
		t.Errorf("--limit 5 read %d attestation tags, want at most 5", att)
	}
	t.Logf("ls --metrics --limit 5: %d requests", len(paths))

	// Text: a table that fits a terminal.
	code, stdout, stderr := mlship(t, nil, "ls", repo, "--metrics", "--sort", "accuracy", "--key", pub)
	if code != 0 {
		t.Fatalf("ls --metrics (text): %s", stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if !strings.HasPrefix(lines[0], "DIGEST") || !strings.Contains(lines[0], "ACCURACY") || len(lines) < n+1 {
		t.Errorf("text table:\n%s", stdout)
	}
	for _, l := range lines {
		if len(l) > 160 {
			t.Errorf("line of %d columns: %q", len(l), l)
		}
	}
	if code, _, stderr := mlship(t, nil, "ls", repo, "--sort", "accuracy"); code != 2 || !strings.Contains(stderr, "--metrics") {
		t.Errorf("--sort without --metrics: exit %d %s", code, stderr)
	}
}

// checkNoModelLayer fails when a request named a model layer's digest.
func checkNoModelLayer(t *testing.T, paths []string, fx *lsFixture) {
	t.Helper()
	for _, p := range paths {
		if i := strings.Index(p, "/blobs/"); i >= 0 && fx.weights[p[i+len("/blobs/"):]] {
			t.Errorf("ls fetched a model layer: %s", p)
		}
	}
	if len(paths) == 0 {
		t.Error("the proxy saw no request: the test does not measure ls")
	}
}

// requestKinds counts requests by kind: version checks (GET /v2/), tag
// lists, manifests, blobs, referrers.
func requestKinds(paths []string) string {
	kinds := map[string]int{}
	for _, p := range paths {
		switch {
		case strings.HasSuffix(p, "/v2/"):
			kinds["ping"]++
		case strings.HasSuffix(p, "/tags/list"):
			kinds["tags"]++
		case strings.Contains(p, "/manifests/"):
			kinds["manifests"]++
		case strings.Contains(p, "/blobs/"):
			kinds["blobs"]++
		case strings.Contains(p, "/referrers/"):
			kinds["referrers"]++
		default:
			kinds["other"]++
		}
	}
	var out []string
	for _, k := range []string{"ping", "tags", "manifests", "blobs", "referrers", "other"} {
		if kinds[k] > 0 {
			out = append(out, fmt.Sprintf("%d %s", kinds[k], k))
		}
	}
	return strings.Join(out, ", ")
}
