package spec

import (
	"os"
	"path/filepath"
	"testing"
)

// TestIsSpecDir: one answer to "is this a spec directory", the same one
// Load gives (a directory Load reads a spec from, and nothing else).
func TestIsSpecDir(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files []string
		dirs  []string
		want  bool
	}{
		{name: "model.cue", files: []string{"model.cue"}, want: true},
		{name: "any cue file", files: []string{"iris.cue"}, want: true},
		{name: "model.json", files: []string{"model.json"}, want: true},
		{name: "model.yaml", files: []string{"model.yaml"}, want: true},
		{name: "model.yml", files: []string{"model.yml"}, want: true},
		{name: "empty", want: false},
		{name: "tool file only", files: []string{"gen_tool.cue"}, want: false},
		{name: "hidden cue only", files: []string{".model.cue"}, want: false},
		{name: "other json", files: []string{"data.json", "README.md"}, want: false},
		{name: "a directory named model.cue", dirs: []string{"model.cue"}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for _, f := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, f), []byte("{}"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for _, d := range tt.dirs {
				if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if got := IsSpecDir(dir); got != tt.want {
				t.Errorf("IsSpecDir = %v, want %v", got, tt.want)
			}
			files, _, err := specFiles(dir)
			if loads := err == nil && len(files) > 0; loads != tt.want {
				t.Errorf("Load would read %v (err %v), but IsSpecDir says %v", files, err, tt.want)
			}
		})
	}
	if IsSpecDir(filepath.Join(t.TempDir(), "missing")) {
		t.Error("a missing directory is a spec directory")
	}
	f := filepath.Join(t.TempDir(), "model.cue")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if IsSpecDir(f) {
		t.Error("a file is a spec directory")
	}
}
