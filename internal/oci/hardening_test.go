package oci

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/mlship/mlship/internal/testenv"
)

// TestRawLayerNotWrittenThroughTarSymlink: a tar layer of the artifact
// makes "w" a symlink to "real"; a raw layer of the same artifact is at
// "w/model.bin". Whatever order the layers land in (--jobs races them),
// no file may be written through the link.
func TestRawLayerNotWrittenThroughTarSymlink(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	host := testenv.InProcessRegistry(t)
	tarL := makeTar(t, []tarEntry{
		{name: "real/", typ: tar.TypeDir},
		{name: "w", link: "real", typ: tar.TypeSymlink},
	})
	for _, order := range []string{"tar-first", "raw-first"} {
		layers := []rawLayer{
			{mediaType: LayerMediaType(RoleWeightConfig, FormatTar), path: "real", data: tarL},
			{mediaType: LayerMediaType(RoleWeight, FormatRaw), path: "w/model.bin", data: bytes.Repeat([]byte("x"), 300<<10)},
		}
		if order == "raw-first" {
			layers[0], layers[1] = layers[1], layers[0]
		}
		ref := pushRawArtifact(t, host, "link/"+order, ArtifactType, layers)
		for _, jobs := range []int{1, 4} {
			t.Run(fmt.Sprintf("%s/jobs=%d", order, jobs), func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "m")
				_, err := Pull(ctx, ref, out, WithJobs(jobs))
				if _, serr := os.Lstat(filepath.Join(out, "real", "model.bin")); serr == nil {
					t.Fatal("the raw layer was written through the tar layer's symlink")
				}
				if err == nil {
					t.Fatal("an artifact whose tar layer puts a symlink on a raw layer's directory was pulled")
				}
				t.Logf("refused: %v", err)
				assertAbsent(t, out)
			})
		}
	}
}

// deepTar is a tar of n files at depth levels.
func deepTar(t testing.TB, depth, n int) []byte {
	dir := strings.Repeat("d/", depth)
	var es []tarEntry
	for i := range n {
		es = append(es, tarEntry{name: fmt.Sprintf("%sf%d", dir, i), typ: tar.TypeReg, body: "x"})
	}
	return makeTar(t, es)
}

// TestTarPathDepthIsBounded: tar entries deep in the tree once cost time
// quadratic in their depth (a 61 KB layer took over a minute): paths
// deeper than maxPathDepth are refused at once, and deep-but-allowed ones
// extract in time linear in their size.
func TestTarPathDepthIsBounded(t *testing.T) {
	t.Parallel()
	x := func(t *testing.T) *extractor {
		dir := t.TempDir()
		root, err := os.OpenRoot(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { root.Close() })
		return &extractor{root: root, dir: dir, buf: 32 << 10, ctx: context.Background()}
	}
	t.Run("too deep", func(t *testing.T) {
		b := deepTar(t, 1000, 2000)
		start := time.Now()
		err := x(t).extractTar(bytes.NewReader(b), FormatTar, int64(len(b)))
		if err == nil || !strings.Contains(err.Error(), "deeper") {
			t.Fatalf("a tar of paths 1000 deep: %v", err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("refusing took %s", took)
		}
	})
	t.Run("deep but allowed", func(t *testing.T) {
		b := deepTar(t, maxPathDepth-1, 2000)
		start := time.Now()
		if err := x(t).extractTar(bytes.NewReader(b), FormatTar, int64(len(b))); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("2000 entries %d deep took %s", maxPathDepth-1, took)
		} else {
			t.Logf("2000 entries %d deep in %s", maxPathDepth-1, took)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		b := deepTar(t, 8, 5000)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		ex := x(t)
		ex.ctx = ctx
		if err := ex.extractTar(bytes.NewReader(b), FormatTar, int64(len(b))); err == nil {
			t.Fatal("a cancelled extraction went on")
		}
	})
}

// TestZstdWindowIsBounded: a zstd frame declaring a 512 MiB window (which
// the decoder would allocate: ~1 GB RSS) is refused; an ordinary zstd
// layer unpacks.
func TestZstdWindowIsBounded(t *testing.T) {
	t.Parallel()
	x := func(t *testing.T) *extractor {
		dir := t.TempDir()
		root, err := os.OpenRoot(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { root.Close() })
		return &extractor{root: root, dir: dir, buf: 32 << 10, ctx: context.Background()}
	}
	payload := makeTar(t, []tarEntry{{name: "a.txt", typ: tar.TypeReg, body: "hello"}})
	// Magic, a frame header without content size and a window
	// descriptor of 2^(10+19) = 512 MiB, one raw last block.
	frame := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 19 << 3}
	bh := uint32(len(payload))<<3 | 1
	frame = append(frame, byte(bh), byte(bh>>8), byte(bh>>16))
	frame = append(frame, payload...)
	err := x(t).extractTar(bytes.NewReader(frame), FormatTarZstd, int64(len(frame)))
	if err == nil {
		t.Fatal("a zstd frame with a 512 MiB window was unpacked")
	}
	t.Logf("refused: %v", err)

	var ok bytes.Buffer
	zw, _ := zstd.NewWriter(&ok)
	zw.Write(payload)
	zw.Close()
	if err := x(t).extractTar(bytes.NewReader(ok.Bytes()), FormatTarZstd, int64(ok.Len())); err != nil {
		t.Fatalf("an ordinary zstd layer: %v", err)
	}
}

// TestHugeManifestNotRead: a registry answering a 100 MB manifest is
// refused before the body is read (Content-Length), or after at most the
// 4 MiB limit (no length).
func TestHugeManifestNotRead(t *testing.T) {
	t.Parallel()
	for _, withLength := range []bool{true, false} {
		t.Run(fmt.Sprintf("content-length=%v", withLength), func(t *testing.T) {
			t.Parallel()
			var sent atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/v2/" {
					return
				}
				w.Header().Set("Content-Type", ManifestMediaType)
				if withLength {
					w.Header().Set("Content-Length", fmt.Sprint(100<<20))
				}
				buf := bytes.Repeat([]byte(" "), 64<<10)
				for range 100 << 20 / len(buf) {
					n, err := w.Write(buf)
					sent.Add(int64(n))
					if err != nil {
						return
					}
				}
			}))
			t.Cleanup(srv.Close)
			host := strings.TrimPrefix(srv.URL, "http://")
			_, _, _, err := NewClient().Manifest(context.Background(), host+"/big/m:1")
			if err == nil || !strings.Contains(err.Error(), "too large") {
				t.Fatalf("a 100 MB manifest: %v", err)
			}
			srv.CloseClientConnections()
			if n := sent.Load(); n > 24<<20 {
				t.Errorf("the server got %d bytes out before the refusal", n)
			}
		})
	}
}

// TestPullTargetModeAndSymlink: an existing empty 0700 target keeps its
// mode; a target that is a symlink is refused, the link and what it
// points at left as they were.
func TestPullTargetModeAndSymlink(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	host := testenv.InProcessRegistry(t)
	res, err := Push(ctx, modelSource(writeModel(t, 1<<10)), host+"/mode/m:1")
	if err != nil {
		t.Fatal(err)
	}
	private := filepath.Join(t.TempDir(), "private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := Pull(ctx, res.Ref, private); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(private); fi.Mode().Perm() != 0o700 {
		t.Errorf("an empty 0700 target became %o", fi.Mode().Perm())
	}

	base := t.TempDir()
	real := filepath.Join(base, "real")
	os.Mkdir(real, 0o755)
	link := filepath.Join(base, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	for _, force := range []bool{false, true} {
		if _, err := Pull(ctx, res.Ref, link, WithForce(force)); err == nil || !strings.Contains(err.Error(), "symlink") {
			t.Errorf("force=%v: pull into a symlinked target: %v", force, err)
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("force=%v: the symlinked target was replaced (%v)", force, err)
		}
		if ents, _ := os.ReadDir(real); len(ents) != 0 {
			t.Errorf("force=%v: the link's target was written: %v", force, ents)
		}
	}
}
