package pipeline_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/mlship/mlship/internal/iostreams"
	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/pipeline"
	"github.com/mlship/mlship/internal/testenv"
)

// byteProxy is a reverse proxy in front of a registry that counts the
// request body bytes of blob uploads (POST, PATCH and PUT under
// /blobs/uploads/): what a push sent, whatever it reports.
type byteProxy struct {
	host string
	sent atomic.Int64
}

func startByteProxy(t *testing.T, registry string) *byteProxy {
	t.Helper()
	u, _ := url.Parse("http://" + registry)
	rp := httputil.NewSingleHostReverseProxy(u)
	p := &byteProxy{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/blobs/uploads/") && r.Body != nil {
			r.Body = countingBody{r.Body, &p.sent}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.host = strings.TrimPrefix(srv.URL, "http://")
	return p
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// TestColdPushOfSpecUploadsNothingPresent: a trained iris spec pushed
// once, then pushed again (to a new tag, so that no manifest at the tag
// hints at the files) from an empty digest cache, as on a fresh CI
// runner: the sha256s run.json lists for the training outputs are
// checked against the files, the registry is asked for those blobs, and
// not one byte of a blob is sent again; the artifact is the same. Then the
// attack: a weight file changed after training and run.json edited to
// claim the old sha256 (a blob the registry has) must not make push skip
// the new bytes: they are uploaded and the manifest names their real
// digest.
func TestColdPushOfSpecUploadsNothingPresent(t *testing.T) {
	if testing.Short() {
		t.Skip("trains iris and starts a Distribution registry")
	}
	t.Setenv(trainerEnv, "1") // the trainer is this test binary
	ctx := context.Background()
	proxy := startByteProxy(t, testenv.StartRegistry(t))
	repo := proxy.host + "/acme/iris"
	dir := irisSpecDir(t, repo)
	ios, _, _ := iostreams.Test(map[string]string{"MLSHIP_CACHE_DIR": t.TempDir()})
	r := pipeline.NewRun(ios)
	if _, err := pipeline.Train(ctx, r, pipeline.TrainRequest{SpecDir: dir, NoGPUProbe: true}); err != nil {
		t.Fatalf("train: %v\n%s", err, r.IO.ErrOut)
	}
	if _, err := pipeline.Eval(ctx, r, pipeline.EvalRequest{SpecDir: dir, NoBaseline: true, Out: filepath.Join(dir, "eval-result.json")}); err != nil {
		t.Fatalf("eval: %v", err)
	}
	first, err := pipeline.Push(ctx, r, pipeline.PushRequest{Source: dir, Ref: repo + ":warm", CacheDir: t.TempDir()})
	if err != nil {
		t.Fatalf("first push: %v", err)
	}
	if first.Uploaded == 0 || proxy.sent.Load() < first.Uploaded {
		t.Fatalf("first push uploaded %d bytes (proxy saw %d): want the whole artifact", first.Uploaded, proxy.sent.Load())
	}
	if first.Lineage == nil || !first.Lineage.Stamped() {
		t.Fatalf("the first push did not take the run's lineage: %+v", first.Lineage)
	}

	for _, tc := range []struct {
		name string
		req  pipeline.PushRequest
	}{
		{"empty cache dir", pipeline.PushRequest{CacheDir: t.TempDir()}},
		{"no cache", pipeline.PushRequest{NoCache: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			req.Source, req.Ref = dir, repo+":cold-"+strings.ReplaceAll(tc.name, " ", "-")
			before := proxy.sent.Load()
			res, err := pipeline.Push(ctx, r, req)
			if err != nil {
				t.Fatalf("cold push: %v", err)
			}
			if sent := proxy.sent.Load() - before; res.Uploaded != 0 || sent != 0 {
				t.Errorf("cold push of an unchanged spec uploaded %d bytes (proxy saw %d) of %d: want 0", res.Uploaded, sent, res.Size)
			}
			if res.Digest != first.Digest {
				t.Errorf("cold push made %s, the first push %s: want the same artifact", res.Digest, first.Digest)
			}
		})
	}

	// With every manifest gone (blobs stay), nothing hints but run.json:
	// its outputs (the model directory) are HEADed and proved by hash,
	// the other files are sent; not a byte more.
	_, raw, _, err := oci.NewClient().Manifest(ctx, first.Ref)
	if err != nil {
		t.Fatal(err)
	}
	m, err := oci.ParseManifest(raw)
	if err != nil {
		t.Fatal(err)
	}
	var others, outputs int64
	for _, l := range m.Layers {
		if strings.HasPrefix(oci.LayerPath(l), "model/") {
			outputs += l.Size
		} else {
			others += l.Size
		}
	}
	if outputs == 0 {
		t.Fatalf("no layer under model/ in %s", raw)
	}
	ref, err := name.ParseReference(first.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Delete(ref); err != nil {
		t.Fatal(err)
	}
	before := proxy.sent.Load()
	res, err := pipeline.Push(ctx, r, pipeline.PushRequest{Source: dir, Ref: repo + ":after-delete", CacheDir: t.TempDir()})
	if err != nil {
		t.Fatalf("cold push with no manifest left: %v", err)
	}
	if sent := proxy.sent.Load() - before; res.Uploaded != others || sent != others {
		t.Errorf("cold push with only run.json to go by uploaded %d bytes (proxy saw %d): want the %d bytes outside model/, none of the %d of the run's outputs", res.Uploaded, sent, others, outputs)
	}

	// The attack: new weights, run.json claiming the old digest.
	runPath := first.Lineage.Run
	b, err := os.ReadFile(runPath)
	if err != nil {
		t.Fatal(err)
	}
	var run map[string]any
	if err := json.Unmarshal(b, &run); err != nil {
		t.Fatal(err)
	}
	files, _ := run["outputs"].(map[string]any)["files"].(map[string]any)
	if len(files) == 0 {
		t.Fatalf("run.json lists no outputs.files: %s", b)
	}
	var victim string
	for f := range files {
		if victim == "" || f < victim {
			victim = f
		}
	}
	modelDir := filepath.Join(filepath.Dir(runPath), "model")
	if md, _ := run["outputs"].(map[string]any)["modelDir"].(string); md != "" {
		modelDir = filepath.Join(dir, filepath.FromSlash(md))
	}
	evil := []byte(`{"tampered": "after training, not what the run produced"}` + "\n")
	if err := os.WriteFile(filepath.Join(modelDir, filepath.FromSlash(victim)), evil, 0o644); err != nil {
		t.Fatal(err)
	}
	// run.json keeps the old sha256 for the victim: it still claims
	// the blob the registry has.
	sum := sha256.Sum256(evil)
	want := "sha256:" + hex.EncodeToString(sum[:])
	before = proxy.sent.Load()
	res, err = pipeline.Push(ctx, r, pipeline.PushRequest{Source: dir, Ref: repo + ":tampered", CacheDir: t.TempDir()})
	if err != nil {
		t.Fatalf("push of the tampered spec: %v", err)
	}
	if res.Lineage != nil && res.Lineage.Stamped() {
		t.Errorf("the tampered spec kept the run's lineage: %+v", res.Lineage)
	}
	if sent := proxy.sent.Load() - before; sent < int64(len(evil)) || res.Uploaded < int64(len(evil)) {
		t.Errorf("the changed file was not uploaded: result says %d bytes, proxy saw %d, want at least %d", res.Uploaded, sent, len(evil))
	}
	if _, raw, _, err = oci.NewClient().Manifest(ctx, res.Ref); err != nil {
		t.Fatal(err)
	}
	if m, err = oci.ParseManifest(raw); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range m.Layers {
		if strings.HasSuffix(oci.LayerPath(l), victim) {
			found = true
			if l.Digest != want {
				t.Errorf("layer %s has digest %s, the file's is %s (run.json's claim was trusted)", oci.LayerPath(l), l.Digest, want)
			}
		}
	}
	if !found {
		t.Errorf("no layer for %s in %s", victim, raw)
	}
}
