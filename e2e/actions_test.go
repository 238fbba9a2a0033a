package e2e

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"cuelang.org/go/cue/cuecontext"
	cueyaml "cuelang.org/go/encoding/yaml"

	"github.com/mlship/mlship/internal/testenv"
)

// actionFile is the part of an action.yml this test reads.
type actionFile struct {
	Inputs map[string]any `json:"inputs"`
	Runs   struct {
		Using string `json:"using"`
		Steps []struct {
			Name string            `json:"name"`
			ID   string            `json:"id"`
			If   any               `json:"if"`
			Run  string            `json:"run"`
			Uses string            `json:"uses"`
			Env  map[string]string `json:"env"`
			With map[string]any    `json:"with"`
		} `json:"steps"`
	} `json:"runs"`
}

var (
	inputVar = regexp.MustCompile(`\$\{?(INPUT_[A-Za-z0-9_]+)`)
	inputRef = regexp.MustCompile(`inputs\.([A-Za-z0-9_-]+)`)
)

// TestCompositeActionsMapInputs covers the one difference between act and
// the real runner that the act-driven tests cannot see: act sets INPUT_*
// for the steps of composite actions, GitHub's runner does not. So in every
// composite action (the root one and actions/*), each $INPUT_X a script
// reads must be set in its step's env:, and each declared input must be
// used somewhere (else the runner silently ignores it).
func TestCompositeActionsMapInputs(t *testing.T) {
	t.Parallel()
	root := testenv.RepoRoot(t)
	files, err := filepath.Glob(filepath.Join(root, "actions", "*", "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join(root, "action.yml"))
	if len(files) < 2 {
		t.Fatalf("no actions/*/action.yml under %s", root)
	}
	for _, file := range files {
		rel, _ := filepath.Rel(root, file)
		t.Run(filepath.ToSlash(rel), func(t *testing.T) {
			t.Parallel()
			a := readAction(t, file)
			if a.Runs.Using != "composite" {
				t.Skipf("runs.using is %q: only composite actions run their steps with the job's env", a.Runs.Using)
			}
			for _, p := range inputProblems(a) {
				t.Error(p)
			}
		})
	}

	// The check itself catches both mistakes.
	t.Run("testdata/unmapped-action.yml", func(t *testing.T) {
		t.Parallel()
		got := inputProblems(readAction(t, filepath.Join("testdata", "unmapped-action.yml")))
		want := []string{"reads $INPUT_TAGS", "inputs unused are declared"}
		if len(got) != len(want) {
			t.Fatalf("got %d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
		}
		for i := range want {
			if !strings.Contains(got[i], want[i]) {
				t.Errorf("problem %d = %q, want it to say %q", i, got[i], want[i])
			}
		}
	})
}

// inputProblems lists, in a stable order, the $INPUT_X reads of composite
// steps whose env: does not set them, then the declared inputs no step uses
// and the used ones not declared.
func inputProblems(a *actionFile) []string {
	var problems []string
	used := map[string]bool{}
	for i, st := range a.Runs.Steps {
		step := cmp.Or(st.Name, st.ID, fmt.Sprintf("#%d", i+1))
		seen := map[string]bool{}
		for _, m := range inputVar.FindAllStringSubmatch(st.Run, -1) {
			if _, ok := st.Env[m[1]]; !ok && !seen[m[1]] {
				seen[m[1]] = true
				problems = append(problems, fmt.Sprintf("step %s reads $%s but its env: does not set it: GitHub's runner leaves INPUT_* unset in composite actions (act sets them), so map it: `%s: ${{ inputs.<name> }}`", step, m[1], m[1]))
			}
		}
		texts := []string{st.Run, st.Uses}
		if s, ok := st.If.(string); ok {
			texts = append(texts, s)
		}
		for _, v := range st.Env {
			texts = append(texts, v)
		}
		for _, v := range st.With {
			if s, ok := v.(string); ok {
				texts = append(texts, s)
			}
		}
		for _, m := range inputRef.FindAllStringSubmatch(strings.Join(texts, "\n"), -1) {
			used[m[1]] = true
		}
	}
	var unused, undeclared []string
	for in := range a.Inputs {
		if !used[in] {
			unused = append(unused, in)
		}
	}
	for in := range used {
		if _, ok := a.Inputs[in]; !ok {
			undeclared = append(undeclared, in)
		}
	}
	slices.Sort(unused)
	slices.Sort(undeclared)
	if len(unused) > 0 {
		problems = append(problems, fmt.Sprintf("inputs %s are declared but no step uses ${{ inputs.<name> }}: on GitHub's runner they do nothing", strings.Join(unused, ", ")))
	}
	for _, in := range undeclared {
		problems = append(problems, fmt.Sprintf("a step uses inputs.%s, which the action does not declare", in))
	}
	return problems
}

func readAction(t *testing.T, file string) *actionFile {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	f, err := cueyaml.Extract(file, b)
	if err != nil {
		t.Fatalf("parsing %s: %v", file, err)
	}
	v := cuecontext.New().BuildFile(f)
	if err := v.Err(); err != nil {
		t.Fatalf("reading %s: %v", file, err)
	}
	var a actionFile
	if err := v.Decode(&a); err != nil {
		t.Fatalf("decoding %s: %v", file, err)
	}
	return &a
}
