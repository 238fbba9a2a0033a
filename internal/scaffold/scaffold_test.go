package scaffold

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlship/mlship/internal/spec"
)

func TestWrite(t *testing.T) {
	t.Parallel()
	p := Params{Name: "churn", Repository: "ghcr.io/acme/churn", SpecDir: "models/churn"}
	tests := []struct {
		name    string
		prepare func(t *testing.T, root string)
		force   bool
		wantErr string
		want    map[string]string // path → action
	}{
		{"fresh repository", nil, false, "", map[string]string{"models/churn/model.cue": "created", "models/churn/mlship/environments.cue": "created"}},
		{"re-run is idempotent", func(t *testing.T, root string) {
			if _, err := Write(context.Background(), root, p, false); err != nil {
				t.Fatal(err)
			}
		}, false, "", map[string]string{"models/churn/model.cue": "unchanged"}},
		{"own file rewritten after a template change", func(t *testing.T, root string) {
			old := mark([]byte("name: \"old\"\n"), "//")
			write(t, filepath.Join(root, "models/churn/model.cue"), old)
		}, false, "", map[string]string{"models/churn/model.cue": "updated"}},
		{"user file refused", func(t *testing.T, root string) {
			write(t, filepath.Join(root, "models/churn/model.cue"), []byte("name: \"mine\"\n"))
		}, false, "refusing to overwrite models/churn/model.cue", nil},
		{"edited file refused", func(t *testing.T, root string) {
			if _, err := Write(context.Background(), root, p, false); err != nil {
				t.Fatal(err)
			}
			f := filepath.Join(root, "models/churn/model.cue")
			b, _ := os.ReadFile(f)
			write(t, f, append(b, []byte("\n// my change\n")...))
		}, false, "refusing to overwrite models/churn/model.cue", nil},
		{"force overwrites", func(t *testing.T, root string) {
			write(t, filepath.Join(root, "models/churn/model.cue"), []byte("name: \"mine\"\n"))
		}, true, "", map[string]string{"models/churn/model.cue": "updated"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			if tt.prepare != nil {
				tt.prepare(t, root)
			}
			before := snapshot(t, root)
			files, err := Write(context.Background(), root, p, tt.force)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				if after := snapshot(t, root); after != before {
					t.Errorf("a refused init changed files")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, f := range files {
				got[f.Path] = f.Action
			}
			for path, action := range tt.want {
				if got[path] != action {
					t.Errorf("%s: %q, want %q (all: %v)", path, got[path], action, got)
				}
			}
			m, err := spec.Load(context.Background(), filepath.Join(root, "models/churn"))
			if err != nil {
				t.Fatalf("the scaffolded spec does not validate: %v", err)
			}
			if m.Name != "churn" || m.Registry.Repository != "ghcr.io/acme/churn" {
				t.Errorf("spec %s %s", m.Name, m.Registry.Repository)
			}
			l, _ := spec.NewLoader()
			if _, _, err := l.LoadEnvironments(m.Dir); err != nil {
				t.Errorf("environments file: %v", err)
			}
		})
	}
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func snapshot(t *testing.T, root string) string {
	t.Helper()
	var b strings.Builder
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			c, _ := os.ReadFile(p)
			b.WriteString(p + "\x00" + string(c) + "\x00")
		}
		return nil
	})
	return b.String()
}

// TestWorkflowsMatchExample keeps the scaffolded workflows line for line
// the example's, which the end-to-end tests run with a real runner.
func TestWorkflowsMatchExample(t *testing.T) {
	t.Parallel()
	files, err := render(Params{Name: "iris", Repository: "localhost:5000/mlship/iris", SpecDir: ".", ActionRef: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"pr", "main"} {
		got := files[".github/workflows/mlship-"+w+".yml"]
		if got == nil {
			t.Fatalf("no %s workflow template", w)
		}
		got = markerRe.ReplaceAll(got, nil)
		want, err := os.ReadFile(filepath.Join("..", "..", "examples", "iris", ".github", "workflows", w+".yml"))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("templates/dot-github/workflows/mlship-%s.yml.tmpl differs from examples/iris/.github/workflows/%s.yml: regenerate the template from the example", w, w)
		}
	}
}

// TestReadmeShowsTheExample keeps the README's workflow and spec examples
// the very files the end-to-end tests run.
func TestReadmeShowsTheExample(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"examples/iris/.github/workflows/pr.yml", "examples/iris/.github/workflows/main.yml", "examples/iris/model.cue"} {
		b, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(readme), strings.TrimRight(string(b), "\n")) {
			t.Errorf("README.md does not show %s as it is: copy it again", f)
		}
	}
}
