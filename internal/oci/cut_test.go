package oci

import (
	"context"
	"crypto/rand"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mlship/mlship/internal/oci/ocitest"
	"github.com/mlship/mlship/internal/testenv"
)

// TestPullCutConnection cuts the connection in the middle of a blob: the
// pull must fail, and the target must stay as it was — a short download
// is never a model.
func TestPullCutConnection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	registries := []struct {
		name  string
		start func(t *testing.T) string
	}{
		{"in-process", func(t *testing.T) string { return testenv.InProcessRegistry(t) }},
		{"distribution", func(t *testing.T) string {
			if testing.Short() {
				t.Skip("starts the Distribution registry")
			}
			return testenv.StartRegistry(t)
		}},
	}
	layers := []struct {
		name string
		file File
	}{
		{"raw", File{Path: "model.safetensors", Role: RoleWeight}},
		{"tar", File{Path: "shards", Role: RoleWeight}},
		{"tar+gzip", File{Path: "shards", Role: RoleWeight, Compress: "gzip"}},
	}
	for _, reg := range registries {
		t.Run(reg.name, func(t *testing.T) {
			t.Parallel()
			host := reg.start(t)
			proxy := ocitest.StartCutProxy(t, host, 64<<10)
			dir := t.TempDir()
			writeRandom(t, filepath.Join(dir, "model.safetensors"), 512<<10)
			writeRandom(t, filepath.Join(dir, "shards", "a.bin"), 300<<10)
			writeRandom(t, filepath.Join(dir, "shards", "b.bin"), 300<<10)
			writeFiles(t, dir, map[string]string{"config.json": "{}"})
			for _, l := range layers {
				t.Run(l.name, func(t *testing.T) {
					t.Parallel()
					src := Source{Dir: dir, Files: []File{l.file, {Path: "config.json", Role: RoleWeightConfig}}}
					res, err := Push(ctx, src, host+"/cut/"+l.name[:3]+":1")
					if err != nil {
						t.Fatal(err)
					}
					ref := proxy.Host + "/cut/" + l.name[:3] + "@" + res.Digest
					before := proxy.Cuts()

					// Without retries a cut blob fails the pull.
					once := WithRetries(1, time.Millisecond)
					fresh := filepath.Join(t.TempDir(), "out", "model")
					if _, err := Pull(ctx, ref, fresh, once); err == nil {
						t.Fatalf("Pull through a cut connection succeeded without a retry")
					} else {
						t.Logf("refused as it should be: %v", err)
					}
					assertAbsent(t, filepath.Dir(fresh))

					// An existing model replaced with --force stays as it was.
					kept := filepath.Join(t.TempDir(), "model")
					writeFiles(t, kept, map[string]string{"old.bin": "old weights"})
					if _, err := Pull(ctx, ref, kept, WithForce(true), once); err == nil {
						t.Fatalf("Pull --force through a cut connection succeeded")
					}
					ents, _ := os.ReadDir(kept)
					if len(ents) != 1 || ents[0].Name() != "old.bin" {
						t.Errorf("the target was changed by a failed pull: %v", ents)
					}

					// With retries the blob is resumed (Range) where the
					// registry serves ranges; either way, a model is whole
					// or absent.
					out := filepath.Join(t.TempDir(), "resumed", "model")
					if _, err := Pull(ctx, ref, out, WithRetries(8, time.Millisecond)); err != nil {
						t.Logf("%s: pull with retries failed: %v", reg.name, err)
						if reg.name == "distribution" {
							t.Errorf("Distribution serves ranges: the cut pull should have resumed: %v", err)
						}
						assertAbsent(t, filepath.Dir(out))
					} else {
						sameTree(t, filepath.Join(dir, l.file.Path), filepath.Join(out, l.file.Path))
					}
					if proxy.Cuts() == before {
						t.Errorf("the proxy cut nothing: the test proves nothing")
					}
				})
			}
		})
	}
}

// TestPushFileShrinks truncates a file after Push planned it and before
// its bytes are read: the push must fail and no manifest may name it.
func TestPushFileShrinks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, mono := range []bool{false, true} {
		name := "streamed"
		if mono {
			name = "monolithic"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			host := testenv.InProcessRegistry(t)
			dir := t.TempDir()
			f := filepath.Join(dir, "model.safetensors")
			writeRandom(t, f, 1<<20)
			// The first request (the registry ping) comes after the files
			// were stat'ed and before any is read.
			tr := &truncateOnce{inner: http.DefaultTransport, path: f, size: 1 << 19}
			src := Source{Dir: dir, Files: []File{{Path: "model.safetensors", Role: RoleWeight}}}
			_, err := Push(ctx, src, host+"/shrink/"+name+":1", WithTransport(tr), WithMonolithic(mono), WithChunkSize(64<<10))
			if err == nil {
				t.Fatal("Push of a file that shrank while being pushed succeeded")
			}
			t.Logf("refused as it should be: %v", err)
			if !tr.done {
				t.Fatal("the file was never truncated: the test proves nothing")
			}
			if _, err := Resolve(ctx, host+"/shrink/"+name+":1"); err == nil {
				t.Error("a manifest was pushed for the shrunk file")
			}
		})
	}
}

type truncateOnce struct {
	inner http.RoundTripper
	path  string
	size  int64
	once  sync.Once
	done  bool
	err   error
}

func (t *truncateOnce) RoundTrip(r *http.Request) (*http.Response, error) {
	t.once.Do(func() { t.done, t.err = true, os.Truncate(t.path, t.size) })
	if t.err != nil {
		return nil, t.err
	}
	return t.inner.RoundTrip(r)
}

func writeRandom(t *testing.T, p string, n int) {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
