package scaffold

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestGitignoreEntries: the entries come from the spec and the workflows
// init writes, under the spec directory where the spec's paths are.
func TestGitignoreEntries(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		specDir string
		want    []string
	}{
		{".", []string{"/model/", "/metrics.json", "/run.json", "/eval.json", "/eval-result.json", "/eval-report.md", "/drift.json", "/report.md", "/promote-plan.json", "/promote-apply.json", "*.key"}},
		{"models/churn", []string{"/models/churn/model/", "/models/churn/metrics.json", "/models/churn/run.json", "/models/churn/eval.json", "/eval-result.json", "*.key"}},
	} {
		t.Run(tt.specDir, func(t *testing.T) {
			t.Parallel()
			p := Params{Name: "churn", Repository: "ghcr.io/acme/churn", SpecDir: tt.specDir, ActionRef: "v1"}
			rendered, err := render(p)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ignoreEntries(context.Background(), rendered, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("entries %v lack %q", got, w)
				}
			}
		})
	}
}

// TestGitignoreMerge: a .gitignore init did not write keeps every line and
// gets only the missing entries, once; --force does not replace it.
func TestGitignoreMerge(t *testing.T) {
	t.Parallel()
	for _, force := range []bool{false, true} {
		root := t.TempDir()
		mine := "node_modules/\n/model/\n"
		write(t, filepath.Join(root, ".gitignore"), []byte(mine))
		p := Params{Name: "iris", Repository: "ghcr.io/acme/iris"}
		files, err := Write(context.Background(), root, p, force)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(filepath.Join(root, ".gitignore"))
		if !strings.HasPrefix(string(got), mine) {
			t.Errorf("force=%v: the user's lines were not kept:\n%s", force, got)
		}
		if strings.Count(string(got), "/model/\n") != 1 || !strings.Contains(string(got), "\n/metrics.json\n") || !strings.Contains(string(got), "\n*.key\n") {
			t.Errorf("force=%v: merged .gitignore:\n%s", force, got)
		}
		if a := action(files, ".gitignore"); a != "updated" {
			t.Errorf("force=%v: .gitignore %q, want updated", force, a)
		}
		files, err = Write(context.Background(), root, p, force)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := os.ReadFile(filepath.Join(root, ".gitignore"))
		if a := action(files, ".gitignore"); a != "unchanged" || string(again) != string(got) {
			t.Errorf("force=%v: re-run: .gitignore %q, content changed: %v", force, a, string(again) != string(got))
		}
	}
}

func action(files []File, path string) string {
	for _, f := range files {
		if f.Path == path {
			return f.Action
		}
	}
	return ""
}
