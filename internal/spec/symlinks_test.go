package spec

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPackagedSymlinks: a packaged path may link inside the repository,
// never outside it, not even through a dangling link or a linked parent.
func TestPackagedSymlinks(t *testing.T) {
	t.Parallel()
	outside := t.TempDir()
	tests := []struct {
		name    string
		setup   func(t *testing.T, repo string)
		wantErr string
	}{
		{"link inside the repository", func(t *testing.T, repo string) {
			mkdir(t, filepath.Join(repo, "store"))
			symlink(t, "store", filepath.Join(repo, "spec", "model"))
		}, ""},
		{"no model yet", func(t *testing.T, repo string) {}, ""},
		{"dangling link out", func(t *testing.T, repo string) {
			symlink(t, filepath.Join(outside, "later"), filepath.Join(repo, "spec", "model"))
		}, `path "model" is a symlink resolving to ` + filepath.Join(outside, "later")},
		{"linked parent", func(t *testing.T, repo string) {
			symlink(t, outside, filepath.Join(repo, "spec", "out"))
		}, `path "out/w.bin" is a symlink resolving to ` + filepath.Join(outside, "w.bin")},
		{"link deep in the model", func(t *testing.T, repo string) {
			mkdir(t, filepath.Join(repo, "spec", "model", "a", "b"))
			symlink(t, "/etc/hostname", filepath.Join(repo, "spec", "model", "a", "b", "c"))
		}, `path "model" holds a symlink model/a/b/c resolving to /etc/hostname`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			repo := t.TempDir()
			mkdir(t, filepath.Join(repo, ".git"))
			mkdir(t, filepath.Join(repo, "spec"))
			write(t, filepath.Join(repo, "spec", "model.cue"), specHead+`train: command: ["true"]
package: files: [{path: "out/w.bin", role: "weight"}]
`)
			tt.setup(t, repo)
			_, err := loader(t).Load(context.Background(), filepath.Join(repo, "spec"))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func mkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, p string) {
	t.Helper()
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}
