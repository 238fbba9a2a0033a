package scaffold

import (
	"context"
	"fmt"
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
		{"edited data refused", func(t *testing.T, root string) {
			// CSV carries no marker: a changed data file is the team's.
			if _, err := Write(context.Background(), root, p, false); err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(root, "models/churn/data/train.csv"), []byte("a,b\n1,2\n"))
		}, false, "refusing to overwrite models/churn/data/train.csv", nil},
		{"data re-run unchanged", func(t *testing.T, root string) {
			if _, err := Write(context.Background(), root, p, false); err != nil {
				t.Fatal(err)
			}
		}, false, "", map[string]string{"models/churn/data/train.csv": "unchanged", "models/churn/train.py": "unchanged"}},
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
// the examples', which the end-to-end tests run with a real runner: the Go
// starter's are iris's, the Python starter's the sklearn example's.
func TestWorkflowsMatchExample(t *testing.T) {
	t.Parallel()
	for tmpl, example := range map[string]string{"go": "iris", "sklearn": "sklearn"} {
		files, err := render(Params{Name: "x", Repository: "localhost:5000/x", SpecDir: ".", ActionRef: "v1", Template: tmpl})
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range []string{"pr", "main", "monitor"} {
			got := files[".github/workflows/mlship-"+w+".yml"]
			if got == nil {
				t.Fatalf("no %s workflow template", w)
			}
			got = markerRe.ReplaceAll(got, nil)
			want, err := os.ReadFile(filepath.Join("..", "..", "examples", example, ".github", "workflows", w+".yml"))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("templates/common/dot-github/workflows/mlship-%s.yml.tmpl (--template %s) differs from examples/%s/.github/workflows/%s.yml: regenerate the template from the example\n%s",
					w, tmpl, example, w, firstDiff(string(got), string(want)))
			}
		}
	}
}

// TestTemplatesAreTheExamples keeps each starter's code and data the
// examples' that CI trains (examples/sklearn, examples/pytorch-gpu on its
// CPU spec, examples/iris), byte for byte.
func TestTemplatesAreTheExamples(t *testing.T) {
	t.Parallel()
	irisml := func(b []byte) []byte {
		return []byte(strings.Replace(string(b), "\npackage irisml\n", "\npackage main\n", 1))
	}
	tests := []struct {
		template, file, example string
		transform               func([]byte) []byte
	}{
		{"sklearn", "train.py", "sklearn/train.py", nil},
		{"sklearn", "evaluate.py", "sklearn/evaluate.py", nil},
		{"sklearn", "requirements.txt", "sklearn/requirements.txt", nil},
		{"sklearn", "data/train.csv", "sklearn/data/train.csv", nil},
		{"sklearn", "data/eval.csv", "sklearn/data/eval.csv", nil},
		{"sklearn", "data/current.csv", "sklearn/data/current.csv", nil},
		{"pytorch", "train.py", "pytorch-gpu/train.py", nil},
		{"pytorch", "evaluate.py", "pytorch-gpu/evaluate.py", nil},
		{"pytorch", "requirements.txt", "pytorch-gpu/requirements.txt", nil},
		{"pytorch", "data/train.csv", "pytorch-gpu/data/train.csv", nil},
		{"pytorch", "data/eval.csv", "pytorch-gpu/data/eval.csv", nil},
		{"pytorch", "data/current.csv", "iris/data/current.csv", nil},
		{"go", "trainer/model.go", "iris/irisml/irisml.go", irisml},
		{"go", "data/train.csv", "iris/data/train.csv", nil},
		{"go", "data/eval.csv", "iris/data/eval.csv", nil},
		{"go", "data/current.csv", "iris/data/current.csv", nil},
	}
	rendered := map[string]map[string][]byte{}
	for _, tt := range tests {
		files, ok := rendered[tt.template]
		if !ok {
			var err error
			if files, err = render(Params{Name: "x", Repository: "localhost:5000/x", SpecDir: ".", Template: tt.template}); err != nil {
				t.Fatal(err)
			}
			rendered[tt.template] = files
		}
		got, ok := files[tt.file]
		if !ok {
			t.Errorf("--template %s writes no %s", tt.template, tt.file)
			continue
		}
		want, err := os.ReadFile(filepath.Join("..", "..", "examples", filepath.FromSlash(tt.example)))
		if err != nil {
			t.Fatal(err)
		}
		if tt.transform != nil {
			want = tt.transform(want)
		}
		if got := markerRe.ReplaceAll(got, nil); string(got) != string(want) {
			t.Errorf("--template %s: %s differs from examples/%s: copy it again\n%s", tt.template, tt.file, tt.example, firstDiff(string(got), string(want)))
		}
	}
}

// firstDiff shows the first line where got and want differ.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n  got  %q\n  want %q", i+1, gl, wl)
		}
	}
	return "(equal)"
}

// TestWriteRefusesInjection: a name or repository that would end the CUE
// string it is written into (or the go.mod module line) is refused before
// anything is written.
func TestWriteRefusesInjection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    Params
		want string
	}{
		{"quote in name", Params{Name: `x"` + "\nsigning: key: \"evil.pub\"\n//", Repository: "ghcr.io/acme/x"}, "not a DNS-1123 label"},
		{"upper case name", Params{Name: "Churn", Repository: "ghcr.io/acme/churn"}, "not a DNS-1123 label"},
		{"space in name (go.mod)", Params{Name: "x y", Repository: "ghcr.io/acme/x", Template: "go"}, "not a DNS-1123 label"},
		{"too long", Params{Name: strings.Repeat("a", 64), Repository: "ghcr.io/acme/x"}, "at most 63"},
		{"quote in repository", Params{Name: "x", Repository: `ghcr.io/acme/x"` + "\nregistry: plainHTTP: true //"}, "is not HOST[:PORT]/PATH"},
		{"no path", Params{Name: "x", Repository: "ghcr.io"}, "is not HOST[:PORT]/PATH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			_, err := Write(context.Background(), root, tt.p, true)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
			if entries, _ := os.ReadDir(root); len(entries) != 0 {
				t.Errorf("a refused init wrote %d entries", len(entries))
			}
		})
	}
}

func TestLookupTemplate(t *testing.T) {
	t.Parallel()
	if tmpl, err := LookupTemplate(""); err != nil || tmpl.Name != DefaultTemplate || tmpl.Python == nil {
		t.Errorf("default template: %+v, %v; want a Python one", tmpl, err)
	}
	for _, tmpl := range Templates() {
		if _, err := LookupTemplate(tmpl.Name); err != nil {
			t.Errorf("%s: %v", tmpl.Name, err)
		}
	}
	_, err := LookupTemplate("tensorflow")
	if err == nil || !strings.Contains(err.Error(), `unknown template "tensorflow"`) || !strings.Contains(err.Error(), "sklearn, pytorch, go") {
		t.Errorf("unknown template: %v, want it named with the choices", err)
	}
	if _, err := Write(context.Background(), t.TempDir(), Params{Name: "x", Repository: "localhost:5000/x", Template: "tensorflow"}, false); err == nil {
		t.Error("Write accepted an unknown template")
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
