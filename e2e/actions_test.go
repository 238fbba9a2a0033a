package e2e

import (
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
			used := map[string]bool{}
			for i, st := range a.Runs.Steps {
				step := st.Name
				if step == "" {
					step = st.ID
				}
				if step == "" {
					step = "#" + string(rune('1'+i))
				}
				for _, m := range inputVar.FindAllStringSubmatch(st.Run, -1) {
					if _, ok := st.Env[m[1]]; !ok {
						t.Errorf("step %s reads $%s but its env: does not set it: GitHub's runner leaves INPUT_* unset in composite actions (act sets them), so map it: `%s: ${{ inputs.<name> }}`", step, m[1], m[1])
					}
				}
				var texts []string
				texts = append(texts, st.Run, st.Uses)
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
			var unused []string
			for in := range a.Inputs {
				if !used[in] {
					unused = append(unused, in)
				}
			}
			slices.Sort(unused)
			if len(unused) > 0 {
				t.Errorf("inputs %s are declared but no step uses ${{ inputs.<name> }}: on GitHub's runner they do nothing", strings.Join(unused, ", "))
			}
			for in := range used {
				if _, ok := a.Inputs[in]; !ok {
					t.Errorf("a step uses inputs.%s, which the action does not declare", in)
				}
			}
		})
	}
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
