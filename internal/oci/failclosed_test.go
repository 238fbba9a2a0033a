package oci

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	modelspec "github.com/modelpack/model-spec/specs-go/v1"

	"github.com/mlship/mlship/internal/oci/digestcache"
	"github.com/mlship/mlship/internal/testenv"
)

// TestRepushAfterInPlaceRewrite rewrites a file in place with the same
// size and restores its mtime: the digest cache must not hand back the old
// digest (ctime changed).
func TestRepushAfterInPlaceRewrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	host := testenv.InProcessRegistry(t)
	dir := t.TempDir()
	f := filepath.Join(dir, "model.safetensors")
	writeRandom(t, f, 64<<10)
	fi, err := os.Stat(f)
	if err != nil {
		t.Fatal(err)
	}
	cache := digestcache.New("")
	src := Source{Dir: dir, Files: []File{{Path: "model.safetensors", Role: RoleWeight}}}
	if _, err := Push(ctx, src, host+"/rewrite/m:1", WithCache(cache)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // ctime has a coarse clock
	writeRandom(t, f, 64<<10)
	if err := os.Chtimes(f, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	res, err := Push(ctx, src, host+"/rewrite/m:2", WithCache(cache))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res.Layers[0].Digest, fileDigest(t, f); got != want {
		t.Errorf("re-push after an in-place rewrite with the mtime restored recorded %s, the file is %s: the cache served a stale digest", got, want)
	}
}

// TestPushRefusesEscapingSymlinks: a packaged path that is (or resolves
// through) a symlink leaving the model root is refused, naming it.
func TestPushRefusesEscapingSymlinks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	host := testenv.InProcessRegistry(t)
	outside := t.TempDir()
	writeFiles(t, outside, map[string]string{"secret.bin": "not model content", "dir/x.bin": "nor this"})
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string) Source
		wantErr string // "" means the push must succeed
	}{
		{"listed file is a symlink outside", func(t *testing.T, dir string) Source {
			symlink(t, filepath.Join(outside, "secret.bin"), filepath.Join(dir, "model.bin"))
			return Source{Dir: dir, Files: []File{{Path: "model.bin", Role: RoleWeight}}}
		}, "model.bin"},
		{"listed directory is a symlink outside", func(t *testing.T, dir string) Source {
			symlink(t, filepath.Join(outside, "dir"), filepath.Join(dir, "shards"))
			return Source{Dir: dir, Files: []File{{Path: "shards", Role: RoleWeight}}}
		}, "shards"},
		{"listed file under a symlinked parent outside", func(t *testing.T, dir string) Source {
			symlink(t, filepath.Join(outside, "dir"), filepath.Join(dir, "sub"))
			return Source{Dir: dir, Files: []File{{Path: "sub/x.bin", Role: RoleWeight}}}
		}, "sub/x.bin"},
		{"plain directory holds a symlink outside", func(t *testing.T, dir string) Source {
			writeFiles(t, dir, map[string]string{"config.json": "{}"})
			symlink(t, filepath.Join(outside, "secret.bin"), filepath.Join(dir, "model.safetensors"))
			src, err := SourceFromDir(dir, nil)
			if err != nil {
				t.Skipf("SourceFromDir refused it already: %v", err)
			}
			return src
		}, "model.safetensors"},
		{"symlink inside the root is packaged", func(t *testing.T, dir string) Source {
			writeFiles(t, dir, map[string]string{"real/w.bin": "weights"})
			symlink(t, filepath.Join("real", "w.bin"), filepath.Join(dir, "model.bin"))
			return Source{Dir: dir, Files: []File{{Path: "model.bin", Role: RoleWeight}}}
		}, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := tt.setup(t, t.TempDir())
			ref := host + "/symlink/" + string(rune('a'+i)) + ":1"
			_, err := Push(ctx, src, ref)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Push refused a symlink inside the root: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Push packaged a symlink that leaves the model root")
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "outside") {
				t.Errorf("refusal does not name %s and the rule: %v", tt.wantErr, err)
			}
		})
	}
}

// TestPushRefusesEmptyDirectory: a directory in package.files with no
// regular file in it is refused, naming it.
func TestPushRefusesEmptyDirectory(t *testing.T) {
	t.Parallel()
	host := testenv.InProcessRegistry(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "checkpoints", "nested"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"config.json": "{}"})
	for _, compress := range []string{"", "gzip"} {
		src := Source{Dir: dir, Files: []File{{Path: "config.json", Role: RoleWeightConfig}, {Path: "checkpoints", Role: RoleWeight, Compress: compress}}}
		_, err := Push(context.Background(), src, host+"/empty/m:1")
		if err == nil {
			t.Fatalf("Push packaged an empty directory (compress %q)", compress)
		}
		if !strings.Contains(err.Error(), "checkpoints") || !strings.Contains(err.Error(), "no regular files") {
			t.Errorf("refusal does not name the empty directory: %v", err)
		}
	}
}

// TestRawFileModeRoundTrip: an executable file keeps its exec bit through
// push and pull, recorded as ModelPack's file metadata annotation.
func TestRawFileModeRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	host := testenv.InProcessRegistry(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"run.sh": "#!/bin/sh\necho hi\n", "config.json": "{}"})
	if err := os.Chmod(filepath.Join(dir, "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	src := Source{Dir: dir, Files: []File{{Path: "run.sh", Role: RoleCode}, {Path: "config.json", Role: RoleWeightConfig}}}
	res, err := Push(ctx, src, host+"/mode/m:1")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []uint32{0o755, 0o644} {
		raw := res.Layers[i].Annotations[modelspec.AnnotationFileMetadata]
		var fm modelspec.FileMetadata
		if err := json.Unmarshal([]byte(raw), &fm); err != nil {
			t.Fatalf("layer %d: %s annotation %q: %v", i, modelspec.AnnotationFileMetadata, raw, err)
		}
		if fm.Mode != want || fm.Name != filepath.Base(res.Layers[i].Annotations[AnnotationFilepath]) || fm.Size <= 0 {
			t.Errorf("layer %d file metadata = %+v, want mode %o", i, fm, want)
		}
	}
	out := filepath.Join(t.TempDir(), "m")
	if _, err := Pull(ctx, res.Ref, out); err != nil {
		t.Fatal(err)
	}
	for name, exec := range map[string]bool{"run.sh": true, "config.json": false} {
		fi, err := os.Stat(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm()&0o100 != 0; got != exec {
			t.Errorf("pulled %s has mode %v, want exec bit %v", name, fi.Mode(), exec)
		}
	}
}

// TestPullMasksFileMode: modes from a registry are masked: no setuid,
// setgid or sticky, no group or world write.
func TestPullMasksFileMode(t *testing.T) {
	t.Parallel()
	host := testenv.InProcessRegistry(t)
	tests := []struct {
		name string
		meta string
		ok   bool
	}{
		{"setuid world-writable", `{"name":"x","mode":3583,"typeflag":0}`, true}, // 0o6777
		{"no metadata", ``, true},
		{"malformed metadata", `{"mode":"rwx"`, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := rawLayer{mediaType: LayerMediaType(RoleCode, FormatRaw), path: "x", data: []byte("#!/bin/sh\n")}
			var ann map[int]map[string]string
			if tt.meta != "" {
				ann = map[int]map[string]string{0: {modelspec.AnnotationFileMetadata: tt.meta}}
			}
			ref := pushAnnotatedArtifact(t, host, "masks/"+string(rune('a'+i)), ArtifactType, []rawLayer{l}, ann)
			out := filepath.Join(t.TempDir(), "m")
			_, err := Pull(context.Background(), ref, out)
			if !tt.ok {
				if err == nil || !strings.Contains(err.Error(), modelspec.AnnotationFileMetadata) {
					t.Fatalf("malformed file metadata: err = %v, want a refusal naming the annotation", err)
				}
				assertAbsent(t, out)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(filepath.Join(out, "x"))
			if err != nil {
				t.Fatal(err)
			}
			if m := fi.Mode(); m&(os.ModeSetuid|os.ModeSetgid|os.ModeSticky) != 0 || m.Perm()&0o022 != 0 || m.Perm()&0o600 != 0o600 {
				t.Errorf("pulled file has mode %v", m)
			}
		})
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}
