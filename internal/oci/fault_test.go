package oci

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlship/mlship/internal/oci/digestcache"
	"github.com/mlship/mlship/internal/oci/ocitest"
	"github.com/mlship/mlship/internal/testenv"
)

// faultModel is a model with two weights larger than one upload chunk,
// a config and a compressed directory.
func faultModel(t *testing.T) (string, Source, int64) {
	t.Helper()
	dir := t.TempDir()
	writeRandom(t, filepath.Join(dir, "model-00001-of-00002.safetensors"), 9<<20+17)
	writeRandom(t, filepath.Join(dir, "model-00002-of-00002.safetensors"), 5<<20+3)
	writeFiles(t, dir, map[string]string{
		"config.json":             `{"hidden_size": 8}`,
		"tokenizer/vocab.txt":     strings.Repeat("token\n", 5000),
		"tokenizer/merges.txt":    "a b\n",
		"tokenizer/special.json":  `{}`,
		"tokenizer/nested/x.json": `{"x": 1}`,
	})
	src := Source{Dir: dir, Files: []File{
		{Path: "model-00001-of-00002.safetensors", Role: RoleWeight},
		{Path: "model-00002-of-00002.safetensors", Role: RoleWeight},
		{Path: "config.json", Role: RoleWeightConfig},
		{Path: "tokenizer", Role: RoleWeightConfig, Compress: "gzip"},
	}}
	return dir, src, 14<<20 + 20
}

// TestFaultyNetwork pushes and pulls through a proxy that injects the
// faults of real registries and networks, in front of the Distribution
// registry: each transfer succeeds whole, or fails clearly within the
// idle timeout with nothing partial left; after a cut, at most one chunk
// is sent again.
func TestFaultyNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the Distribution registry")
	}
	t.Parallel()
	ctx := context.Background()
	host := testenv.StartRegistry(t)
	dir, src, _ := faultModel(t)
	const chunk = DefaultUploadChunk
	fast := []Option{WithRetries(8, 20*time.Millisecond), WithIdleTimeout(2 * time.Second)}

	cases := []struct {
		name   string
		faults ocitest.Faults
		opts   []Option
		check  func(t *testing.T, st ocitest.Stats, log []ocitest.Request, blobs int64)
	}{
		// Chunks of 16 MiB, as for a registry whose cap is not known:
		// two 413s halve them to 4 MiB.
		{"4MiB body cap", ocitest.Faults{BodyCap: 4 << 20}, []Option{WithUploadChunkSize(16 << 20)}, func(t *testing.T, st ocitest.Stats, _ []ocitest.Request, blobs int64) {
			if st.Rejected413 == 0 {
				t.Error("no request was over the cap: the test proves nothing")
			}
			if st.MaxBody > 4<<20 {
				t.Errorf("a %d-byte body went through the 4 MiB cap", st.MaxBody)
			}
			if st.UploadBytes != blobs {
				t.Errorf("uploaded %d bytes for %d bytes of blobs: a capped push is one pass", st.UploadBytes, blobs)
			}
		}},
		{"random 5xx", ocitest.Faults{ErrorRate: 0.15, Seed: 7}, nil, func(t *testing.T, st ocitest.Stats, _ []ocitest.Request, _ int64) {
			if st.Errors5xx == 0 {
				t.Error("no 5xx was injected")
			}
		}},
		{"429 with Retry-After", ocitest.Faults{TooManyRequests: 2, RetryAfter: time.Second}, nil, func(t *testing.T, st ocitest.Stats, log []ocitest.Request, _ int64) {
			if st.TooMany != 2 {
				t.Fatalf("%d answers were 429, want 2", st.TooMany)
			}
			for i, r := range log[:len(log)-1] {
				if r.Fault == "429" {
					if gap := log[i+1].At.Sub(r.At); gap < 900*time.Millisecond {
						t.Errorf("the request after a 429 with Retry-After: 1 came %s later", gap)
					}
				}
			}
		}},
		{"cut mid-upload", ocitest.Faults{CutUploadAfter: 1 << 20}, nil, func(t *testing.T, st ocitest.Stats, _ []ocitest.Request, blobs int64) {
			if st.Cuts != 1 {
				t.Fatalf("%d cuts, want 1", st.Cuts)
			}
			if again := st.UploadBytes - blobs; again < 0 || again > chunk {
				t.Errorf("after one cut %d bytes were sent again, more than one chunk (%d)", again, chunk)
			} else {
				t.Logf("after one cut %d bytes were sent again", again)
			}
		}},
		{"cut mid-download", ocitest.Faults{CutDownloadAfter: 1 << 20}, nil, func(t *testing.T, st ocitest.Stats, _ []ocitest.Request, blobs int64) {
			if st.Cuts != 1 {
				t.Fatalf("%d cuts, want 1", st.Cuts)
			}
			if again := st.BlobBytes - blobs; again > chunk {
				t.Errorf("after one cut %d blob bytes were fetched again", again)
			}
		}},
		{"stalled download", ocitest.Faults{StallDownloadAfter: 1 << 20, StallFor: time.Hour}, nil, func(t *testing.T, st ocitest.Stats, _ []ocitest.Request, _ int64) {
			if st.Stalls != 1 {
				t.Fatalf("%d stalls, want 1", st.Stalls)
			}
		}},
		{"stalled upload", ocitest.Faults{StallUploadAfter: 1 << 20, StallFor: time.Hour}, nil, func(t *testing.T, st ocitest.Stats, _ []ocitest.Request, _ int64) {
			if st.Stalls != 1 {
				t.Fatalf("%d stalls, want 1", st.Stalls)
			}
		}},
		{"no chunked uploads", ocitest.Faults{NoChunked: true}, nil, func(t *testing.T, st ocitest.Stats, log []ocitest.Request, blobs int64) {
			patches := 0
			for _, r := range log {
				if r.Method == http.MethodPatch {
					patches++
				}
			}
			// Layers in flight together may each try once (4 jobs).
			if patches == 0 || patches > 4 {
				t.Errorf("%d PATCHes: the first refusals should switch the push to monolithic PUTs", patches)
			}
			if st.UploadBytes < blobs {
				t.Errorf("uploaded %d bytes for %d bytes of blobs", st.UploadBytes, blobs)
			}
		}},
		{"OCI-Chunk-Max-Length 1 MiB", ocitest.Faults{ChunkMaxLength: 1 << 20}, nil, func(t *testing.T, st ocitest.Stats, _ []ocitest.Request, blobs int64) {
			if st.Rejected413 != 0 || st.MaxBody > 1<<20 {
				t.Errorf("announced 1 MiB chunks: %d refused, largest body %d", st.Rejected413, st.MaxBody)
			}
			if st.UploadBytes != blobs {
				t.Errorf("uploaded %d bytes for %d bytes of blobs", st.UploadBytes, blobs)
			}
		}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := ocitest.StartFaultProxy(t, host, c.faults)
			repo := p.Host + "/faults/case" + string(rune('a'+i))
			opts := append(append([]Option(nil), fast...), c.opts...)
			start := time.Now()
			res, err := Push(ctx, src, repo+":1", opts...)
			if err != nil {
				for _, r := range p.Log() {
					t.Logf("%s %s %s %d", r.Method, r.Path, r.Fault, r.Status)
				}
				t.Fatalf("push: %v", err)
			}
			var blobs int64
			for _, l := range res.Layers {
				blobs += l.Size
			}
			out := filepath.Join(t.TempDir(), "pulled")
			if _, err := Pull(ctx, repo+":1", out, opts...); err != nil {
				t.Fatalf("pull: %v", err)
			}
			t.Logf("push+pull in %s: %+v", time.Since(start).Round(time.Millisecond), p.Stats())
			sameTree(t, dir, out)
			assertNoTemp(t, filepath.Dir(out))
			// What the registry holds is the model, whatever went wrong
			// on the way.
			direct := filepath.Join(t.TempDir(), "direct")
			if _, err := Pull(ctx, host+"/faults/case"+string(rune('a'+i))+"@"+res.Digest, direct); err != nil {
				t.Fatalf("pull from the registry itself: %v", err)
			}
			sameTree(t, dir, direct)
			c.check(t, p.Stats(), p.Log(), blobs+configBytes(t, res))
		})
	}
}

// configBytes is the size of res's config blob, uploaded with the layers.
func configBytes(t *testing.T, res Result) int64 {
	t.Helper()
	_, raw, _, err := NewClient().Manifest(context.Background(), strings.Replace(res.Ref, "@", "@", 1))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseManifest(raw)
	if err != nil {
		t.Fatal(err)
	}
	return m.Config.Size
}

func assertNoTemp(t *testing.T, parent string) {
	t.Helper()
	ents, _ := os.ReadDir(parent)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".pull-") {
			t.Errorf("temporary directory %s left behind", e.Name())
		}
	}
}

// TestStalledForeverFailsWithinIdleTimeout: a registry whose blob bodies
// always stall makes the pull fail, within a bound set by the idle
// timeout and the retries, saying so, with nothing left behind.
func TestStalledForeverFailsWithinIdleTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the Distribution registry")
	}
	t.Parallel()
	ctx := context.Background()
	host := testenv.StartRegistry(t)
	_, src, _ := faultModel(t)
	res, err := Push(ctx, src, host+"/stall/forever:1")
	if err != nil {
		t.Fatal(err)
	}
	p := ocitest.StartFaultProxy(t, host, ocitest.Faults{StallDownloadAfter: 1 << 20, StallFor: time.Hour, StallAlways: true})
	out := filepath.Join(t.TempDir(), "parent", "model")
	start := time.Now()
	_, err = Pull(ctx, p.Host+"/stall/forever@"+res.Digest, out, WithIdleTimeout(300*time.Millisecond), WithRetries(3, 10*time.Millisecond))
	took := time.Since(start)
	if err == nil {
		t.Fatal("a pull whose blobs always stall succeeded")
	}
	t.Logf("failed after %s: %v", took.Round(time.Millisecond), err)
	if !strings.Contains(err.Error(), "idle timeout") {
		t.Errorf("the error does not say the transfer stalled: %v", err)
	}
	if took > 10*time.Second {
		t.Errorf("took %s to give up with a 300ms idle timeout and 3 tries", took)
	}
	assertAbsent(t, filepath.Dir(out))

	// A push whose uploads always stall fails the same way, and no
	// manifest names the model.
	up := ocitest.StartFaultProxy(t, host, ocitest.Faults{StallUploadAfter: 1 << 20, StallFor: time.Hour, StallAlways: true})
	start = time.Now()
	_, err = Push(ctx, src, up.Host+"/stall/up:1", WithIdleTimeout(300*time.Millisecond), WithRetries(3, 10*time.Millisecond))
	took = time.Since(start)
	if err == nil {
		t.Fatal("a push whose uploads always stall succeeded")
	}
	t.Logf("push failed after %s: %v", took.Round(time.Millisecond), err)
	if !strings.Contains(err.Error(), "idle timeout") || took > 10*time.Second {
		t.Errorf("push through a stall: %s, %v", took, err)
	}
	if _, err := Resolve(ctx, host+"/stall/up:1"); !IsNotFound(err) {
		t.Errorf("a manifest was pushed although its blobs stalled (%v)", err)
	}
}

// TestRandom5xxPushesSucceed: with 10 % of requests answered 5xx, every
// one of ten pushes succeeds (oras gets 9-10; mlship used to get 5-7).
func TestRandom5xxPushesSucceed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the Distribution registry")
	}
	t.Parallel()
	ctx := context.Background()
	host := testenv.StartRegistry(t)
	_, src, _ := faultModel(t)
	src.Files = src.Files[1:] // the 5 MiB weight, config, tokenizer
	for seed := range uint64(10) {
		p := ocitest.StartFaultProxy(t, host, ocitest.Faults{ErrorRate: 0.10, Seed: seed + 1})
		ref := p.Host + "/flaky/m" + string(rune('a'+seed)) + ":1"
		if _, err := Push(ctx, src, ref, WithRetries(8, 10*time.Millisecond)); err != nil {
			t.Errorf("seed %d: push failed with 10%% 5xx: %v", seed+1, err)
		}
	}
}

// TestColdRunnerUploadsNothing: an unchanged model pushed again from an
// empty digest cache (a fresh CI runner) uploads 0 bytes: the manifest at
// the tag names the blobs, each file is hashed once and HEADed.
func TestColdRunnerUploadsNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the Distribution registry")
	}
	t.Parallel()
	ctx := context.Background()
	host := testenv.StartRegistry(t)
	_, src, _ := faultModel(t)
	p := ocitest.StartFaultProxy(t, host, ocitest.Faults{})
	ref := p.Host + "/cold/model:1"
	first, err := Push(ctx, src, ref, WithCache(digestcache.New(filepath.Join(t.TempDir(), "a.json"))))
	if err != nil {
		t.Fatal(err)
	}
	before := p.Stats().UploadBytes
	again, err := Push(ctx, src, ref, WithCache(digestcache.New(filepath.Join(t.TempDir(), "b.json"))))
	if err != nil {
		t.Fatal(err)
	}
	if again.Digest != first.Digest {
		t.Errorf("re-push gave %s, first push %s", again.Digest, first.Digest)
	}
	if sent := p.Stats().UploadBytes - before; sent != 0 || again.Uploaded != 0 {
		t.Errorf("an unchanged model re-pushed from an empty cache uploaded %d bytes (result says %d)", sent, again.Uploaded)
	}

	// One file changed: only it is uploaded.
	writeRandom(t, filepath.Join(src.Dir, "model-00002-of-00002.safetensors"), 5<<20+3)
	before = p.Stats().UploadBytes
	third, err := Push(ctx, src, ref)
	if err != nil {
		t.Fatal(err)
	}
	if sent := p.Stats().UploadBytes - before; sent < 5<<20 || sent > 5<<20+64<<10 {
		t.Errorf("after one 5 MiB file changed, %d bytes were uploaded", sent)
	}
	if third.Digest == first.Digest {
		t.Error("a changed model kept its digest")
	}

	// A push that failed half-way remembers what landed: the next run
	// (a new process: the cache read back from disk; no manifest at the
	// tag yet) does not upload it again.
	writeRandom(t, filepath.Join(src.Dir, "model-00001-of-00002.safetensors"), 9<<20+17)
	writeRandom(t, filepath.Join(src.Dir, "model-00002-of-00002.safetensors"), 5<<20+3)
	cachePath := filepath.Join(t.TempDir(), "c.json")
	failing := &failAfterCommits{inner: http.DefaultTransport, after: 1}
	if _, err := Push(ctx, src, p.Host+"/cold/half:1", WithCache(digestcache.Open(cachePath)), WithJobs(1), WithTransport(failing), WithRetries(2, time.Millisecond)); err == nil {
		t.Fatal("the push that was made to fail succeeded")
	}
	before = p.Stats().UploadBytes
	if _, err := Push(ctx, src, p.Host+"/cold/half:1", WithCache(digestcache.Open(cachePath))); err != nil {
		t.Fatal(err)
	}
	if sent := p.Stats().UploadBytes - before; sent > 5<<20+64<<10 {
		t.Errorf("the re-run uploaded %d bytes: the 9 MiB blob that landed before was sent again", sent)
	}
}

// failAfterCommits refuses every upload PATCH once after blob commits
// went through.
type failAfterCommits struct {
	inner   http.RoundTripper
	after   int32
	commits atomic.Int32
}

func (f *failAfterCommits) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPatch && f.commits.Load() >= f.after {
		return &http.Response{StatusCode: http.StatusBadRequest, Status: "400 Bad Request", Header: http.Header{}, Body: http.NoBody, Request: r}, nil
	}
	resp, err := f.inner.RoundTrip(r)
	if err == nil && r.Method == http.MethodPut && r.URL.Query().Get("digest") != "" && resp.StatusCode == http.StatusCreated {
		f.commits.Add(1)
	}
	return resp, err
}
