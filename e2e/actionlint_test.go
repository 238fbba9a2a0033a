package e2e

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"cuelang.org/go/cue/cuecontext"
	cueyaml "cuelang.org/go/encoding/yaml"

	"github.com/mlship/mlship/internal/scaffold"
	"github.com/mlship/mlship/internal/testenv"
)

// lintFile is one workflow to lint: where it comes from (for messages) and
// its content.
type lintFile struct {
	Source  string
	Content []byte
}

// mlshipUses matches `uses: mlship/mlship[/actions/STEP]@REF`, which
// actionlint cannot fetch: lintWorkflows rewrites it to the local copy.
var mlshipUses = regexp.MustCompile(`(uses:\s*['"]?)mlship/mlship(/actions/[A-Za-z0-9_.-]+)?@[^\s'"#]+`)

// TestActionlint runs actionlint (pinned in internal/tools) on every
// workflow of the repository and the examples, on the workflows `mlship
// init` writes, and on each composite action's steps, with our own actions
// resolved locally: each `uses: mlship/mlship/actions/<step>@v1` becomes
// `./actions/<step>` in a scratch repository holding this checkout's
// action.yml files, so actionlint checks every `with:` against the inputs
// those files declare and every `steps.<id>.outputs.<name>` against their
// outputs. Reading an output an action does not declare fails here, as it
// silently yields ” on GitHub.
func TestActionlint(t *testing.T) {
	t.Parallel()
	bin := testenv.Tool(t, "actionlint")
	root := testenv.RepoRoot(t)
	// actionlint runs shellcheck on run: scripts when it is on PATH (it is
	// on GitHub's ubuntu runners, so CI checks the scripts); it is optional.
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Log("shellcheck is not on PATH: run: scripts are checked for their expressions only")
	}
	sets := repoWorkflows(t, root)
	sets["mlship init"] = scaffolded(t)
	sets["composite actions"] = compositeWorkflows(t, root)
	labels := make([]string, 0, len(sets))
	for l := range sets {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	for _, label := range labels {
		t.Run(label, func(t *testing.T) {
			t.Parallel()
			for _, p := range lintWorkflows(t, bin, root, sets[label]) {
				t.Error(p)
			}
		})
	}

	// The check itself catches an undeclared output of one of our actions.
	t.Run("testdata/undeclared-output.yml", func(t *testing.T) {
		t.Parallel()
		b, err := os.ReadFile(filepath.Join("testdata", "undeclared-output.yml"))
		if err != nil {
			t.Fatal(err)
		}
		got := lintWorkflows(t, bin, root, []lintFile{{Source: "testdata/undeclared-output.yml", Content: b}})
		if len(got) != 1 || !strings.Contains(got[0], `property "matrix" is not defined`) {
			t.Errorf("want one problem about the undeclared output matrix, got %d:\n%s", len(got), strings.Join(got, "\n"))
		}
	})
}

// repoWorkflows finds every .github/workflows directory of the checkout
// (the repository's own and each example's), keyed by that directory.
func repoWorkflows(t *testing.T, root string) map[string][]lintFile {
	t.Helper()
	sets := map[string][]lintFile{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			switch d.Name() {
			case ".git", ".cache", "node_modules", "testdata":
				return filepath.SkipDir
			}
			return nil
		}
		dir := filepath.ToSlash(filepath.Dir(rel))
		if dir != ".github/workflows" && !strings.HasSuffix(dir, "/.github/workflows") {
			return nil
		}
		if ext := filepath.Ext(p); ext != ".yml" && ext != ".yaml" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sets[dir] = append(sets[dir], lintFile{Source: rel, Content: b})
		return nil
	})
	if err != nil {
		t.Fatalf("finding the workflows: %v", err)
	}
	// Guard the walk itself: these must be among what it found.
	for _, want := range []string{".github/workflows", "examples/iris/.github/workflows", "examples/pytorch-gpu/.github/workflows"} {
		if len(sets[want]) == 0 {
			t.Fatalf("no workflows found in %s (found %v)", want, keys(sets))
		}
	}
	return sets
}

// scaffolded renders `mlship init` into a scratch directory and returns its
// workflows.
func scaffolded(t *testing.T) []lintFile {
	t.Helper()
	dir := t.TempDir()
	if _, err := scaffold.Write(context.Background(), dir, scaffold.Params{Name: "churn", Repository: "ghcr.io/acme/churn", SpecDir: "models/churn"}, false); err != nil {
		t.Fatalf("mlship init: %v", err)
	}
	paths, _ := filepath.Glob(filepath.Join(dir, ".github", "workflows", "*.yml"))
	if len(paths) == 0 {
		t.Fatal("mlship init wrote no workflow")
	}
	var files []lintFile
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, lintFile{Source: "mlship init: .github/workflows/" + filepath.Base(p), Content: b})
	}
	return files
}

// compositeWorkflows turns each composite action into a reusable workflow
// with the same inputs, its steps verbatim as the job's steps and its
// outputs as the job's outputs, so actionlint (which lints workflows, not
// action metadata) checks the steps' expressions, that every inputs.<name>
// is declared, that each output maps a step that exists, and the run:
// scripts (with shellcheck, when installed).
func compositeWorkflows(t *testing.T, root string) []lintFile {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(root, "actions", "*", "action.yml"))
	paths = append(paths, filepath.Join(root, "action.yml"))
	var files []lintFile
	for _, p := range paths {
		rel, _ := filepath.Rel(root, p)
		a := readYAML(t, p)
		runs, _ := a["runs"].(map[string]any)
		if runs["using"] != "composite" {
			continue
		}
		inputs := map[string]any{}
		for name, v := range asMap(a["inputs"]) {
			inputs[name] = map[string]any{"type": "string", "required": asMap(v)["required"] == true}
		}
		jobOutputs, callOutputs := map[string]any{}, map[string]any{}
		for name, v := range asMap(a["outputs"]) {
			jobOutputs[name] = asMap(v)["value"]
			callOutputs[name] = map[string]any{"value": "${{ jobs.action.outputs." + name + " }}"}
		}
		wf := map[string]any{
			"name": filepath.ToSlash(rel),
			"on":   map[string]any{"workflow_call": map[string]any{"inputs": inputs, "outputs": callOutputs}},
			"jobs": map[string]any{"action": map[string]any{"runs-on": "ubuntu-latest", "outputs": jobOutputs, "steps": runs["steps"]}},
		}
		b, err := json.MarshalIndent(wf, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, lintFile{Source: filepath.ToSlash(rel) + " (as a workflow)", Content: b})
	}
	if len(files) < 2 {
		t.Fatalf("found %d composite actions", len(files))
	}
	return files
}

// actionlintError is one entry of `actionlint -format '{{json .}}'`.
type actionlintError struct {
	Message  string `json:"message"`
	Filepath string `json:"filepath"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Kind     string `json:"kind"`
	Snippet  string `json:"snippet"`
}

// lintWorkflows lints files in a scratch repository holding this checkout's
// action.yml files (and .github/actionlint.yaml) and returns the problems
// found, naming the source files.
func lintWorkflows(t *testing.T, bin, root string, files []lintFile) []string {
	t.Helper()
	tmp := t.TempDir()
	// actionlint finds the project (for ./ actions and its config) by .git.
	mustMkdir(t, filepath.Join(tmp, ".git"))
	copyActions(t, root, tmp)
	if b, err := os.ReadFile(filepath.Join(root, ".github", "actionlint.yaml")); err == nil {
		mustWrite(t, filepath.Join(tmp, ".github", "actionlint.yaml"), b)
	} else {
		t.Fatalf("reading the actionlint configuration: %v", err)
	}
	var problems []string
	source := map[string]string{}
	for i, f := range files {
		name := fmt.Sprintf("w%02d.yml", i)
		content := mlshipUses.ReplaceAllFunc(f.Content, func(m []byte) []byte {
			s := mlshipUses.FindSubmatch(m)
			if len(s[2]) == 0 {
				return append(s[1], "./"...)
			}
			return append(s[1], "."+string(s[2])...)
		})
		for n, line := range strings.Split(string(content), "\n") {
			if strings.Contains(line, "uses:") && strings.Contains(line, "mlship/mlship") {
				problems = append(problems, fmt.Sprintf("%s:%d: %q names an mlship action the test cannot resolve locally (only mlship/mlship@REF and mlship/mlship/actions/<step>@REF are)", f.Source, n+1, strings.TrimSpace(line)))
			}
		}
		mustWrite(t, filepath.Join(tmp, ".github", "workflows", name), content)
		source[".github/workflows/"+name] = f.Source
	}
	cmd := exec.Command(bin, "-format", "{{json .}}", "-no-color")
	cmd.Dir = tmp
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		t.Fatalf("actionlint did not run (%v): %s%s", err, stdout.String(), stderr.String())
	}
	var found []actionlintError
	if out := bytes.TrimSpace(stdout.Bytes()); len(out) > 0 {
		if err := json.Unmarshal(out, &found); err != nil {
			t.Fatalf("reading actionlint's output: %v\n%s", err, out)
		}
	}
	if err != nil && len(found) == 0 {
		t.Fatalf("actionlint failed and reported nothing: %s", stderr.String())
	}
	for _, e := range found {
		problems = append(problems, fmt.Sprintf("%s:%d:%d: %s [%s]\n%s", cmp.Or(source[e.Filepath], e.Filepath), e.Line, e.Column, e.Message, e.Kind, e.Snippet))
	}
	return problems
}

// copyActions copies the root action.yml and every actions/<step>/action.yml
// into dir, where `uses: ./` and `uses: ./actions/<step>` find them.
func copyActions(t *testing.T, root, dir string) {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(root, "actions", "*", "action.yml"))
	paths = append(paths, filepath.Join(root, "action.yml"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, p)
		mustWrite(t, filepath.Join(dir, rel), b)
	}
}

func readYAML(t *testing.T, file string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	f, err := cueyaml.Extract(file, b)
	if err != nil {
		t.Fatalf("parsing %s: %v", file, err)
	}
	var m map[string]any
	if err := cuecontext.New().BuildFile(f).Decode(&m); err != nil {
		t.Fatalf("decoding %s: %v", file, err)
	}
	return m
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func keys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func mustMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, p string, b []byte) {
	t.Helper()
	mustMkdir(t, filepath.Dir(p))
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
