package scaffold

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"cuelang.org/go/cue/cuecontext"
	cueyaml "cuelang.org/go/encoding/yaml"

	"github.com/mlship/mlship/internal/card"
	"github.com/mlship/mlship/internal/spec"
)

// gitignoreName is the one file Write merges into instead of owning: most
// repositories already have one, and a person's ignore rules must survive.
const gitignoreName = ".gitignore"

// fileInputs are the inputs of the mlship actions that name a file the step
// writes (relative to the workspace, the repository root). A workflow step
// passing one of them writes that file, so it is ignored.
var fileInputs = []string{"out", "report", "plan-out"}

// privateKeys are ignored whatever the spec says: `mlship keygen` writes
// PREFIX.key, and a committed private key is a leaked one.
var privateKeys = []string{"*.key"}

// ignoreEntries derives the .gitignore lines from what init renders: the
// training and eval outputs of the spec (read back through the spec loader,
// so schema defaults count) and the files the workflows' steps write.
func ignoreEntries(ctx context.Context, rendered map[string][]byte, p Params) ([]string, error) {
	fromSpec, err := specOutputs(ctx, rendered, p.SpecDir)
	if err != nil {
		return nil, err
	}
	fromWorkflows, err := workflowOutputs(rendered)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var entries []string
	for _, e := range append(append(fromSpec, fromWorkflows...), privateKeys...) {
		if !seen[e] {
			seen[e] = true
			entries = append(entries, e)
		}
	}
	return entries, nil
}

// specOutputs loads the rendered spec from a scratch copy and lists, as
// anchored .gitignore patterns, the paths training and eval write.
func specOutputs(ctx context.Context, rendered map[string][]byte, specDir string) ([]string, error) {
	tmp, err := os.MkdirTemp("", "mlship-init-*")
	if err != nil {
		return nil, fmt.Errorf("checking the scaffolded spec: %w", err)
	}
	defer os.RemoveAll(tmp)
	for name, b := range rendered {
		target := filepath.Join(tmp, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return nil, fmt.Errorf("checking the scaffolded spec: %w", err)
		}
		if err := os.WriteFile(target, b, 0o644); err != nil {
			return nil, fmt.Errorf("checking the scaffolded spec: %w", err)
		}
	}
	m, err := spec.Load(ctx, filepath.Join(tmp, filepath.FromSlash(specDir)))
	if err != nil {
		return nil, fmt.Errorf("the scaffolded spec does not load (a bug in mlship's templates): %w", err)
	}
	var files, dirs []string
	if t := m.Train; t != nil {
		dirs = append(dirs, t.Outputs.Model)
		// run.json goes beside the model directory (see internal/train).
		files = append(files, t.Outputs.Metrics, path.Join(path.Dir(t.Outputs.Model), "run.json"))
	}
	if e := m.Eval; e != nil {
		files = append(files, e.MetricsFile, e.ExamplesFile)
	}
	// mlship package writes the model card and (from drift.reference) the
	// reference profile into the spec directory, then packages them: derived
	// files, which would otherwise change the next training's code digest.
	// A card the spec packages itself is the team's own.
	if !packages(m, card.FileName) {
		files = append(files, card.FileName)
	}
	if m.Drift != nil && m.Drift.Reference != "" {
		files = append(files, profileFile)
	}
	var out []string
	for _, d := range dirs {
		if d != "" {
			out = append(out, anchor(path.Join(specDir, d))+"/")
		}
	}
	for _, f := range files {
		if f != "" {
			out = append(out, anchor(path.Join(specDir, f)))
		}
	}
	return out, nil
}

// profileFile is pipeline.ProfileFile (scaffold sits below pipeline;
// TestProfileFileIsPipelines keeps the two equal).
const profileFile = "reference-profile.json"

func packages(m *spec.Model, p string) bool {
	for _, f := range m.Package.Files {
		if path.Clean(f.Path) == p {
			return true
		}
	}
	return false
}

// workflowStep is the part of a workflow step workflowOutputs reads.
type workflowStep struct {
	Uses string         `json:"uses"`
	With map[string]any `json:"with"`
}

// workflowOutputs lists the files the rendered workflows' mlship steps are
// told to write (fileInputs), as anchored patterns.
func workflowOutputs(rendered map[string][]byte) ([]string, error) {
	var names []string
	for n := range rendered {
		if strings.HasPrefix(n, ".github/workflows/") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var out []string
	for _, n := range names {
		f, err := cueyaml.Extract(n, rendered[n])
		if err != nil {
			return nil, fmt.Errorf("parsing the scaffolded %s (a bug in mlship's templates): %w", n, err)
		}
		var wf struct {
			Jobs map[string]struct {
				Steps []workflowStep `json:"steps"`
			} `json:"jobs"`
		}
		if err := cuecontext.New().BuildFile(f).Decode(&wf); err != nil {
			return nil, fmt.Errorf("reading the scaffolded %s (a bug in mlship's templates): %w", n, err)
		}
		jobs := make([]string, 0, len(wf.Jobs))
		for j := range wf.Jobs {
			jobs = append(jobs, j)
		}
		sort.Strings(jobs)
		for _, j := range jobs {
			for _, st := range wf.Jobs[j].Steps {
				if !strings.HasPrefix(st.Uses, "mlship/mlship") {
					continue
				}
				for _, in := range fileInputs {
					if v, ok := st.With[in].(string); ok && v != "" && !strings.Contains(v, "${{") {
						out = append(out, anchor(path.Clean(v)))
					}
				}
			}
		}
	}
	return out, nil
}

// anchor makes a repository-relative path a pattern matching that path only
// (a leading slash anchors it to the .gitignore's directory).
func anchor(p string) string { return "/" + strings.TrimPrefix(path.Clean(p), "./") }

// renderGitignore is the .gitignore init writes where none exists.
func renderGitignore(entries []string) []byte {
	var b bytes.Buffer
	b.WriteString("# Outputs mlship writes and private keys: never commit them. Derived from\n")
	b.WriteString("# the spec's train.outputs and eval files, the model card and reference\n")
	b.WriteString("# profile mlship package writes, the files the workflows' steps write\n")
	b.WriteString("# (out, report, plan-out) and mlship keygen's PREFIX.key.\n")
	for _, e := range entries {
		b.WriteString(e + "\n")
	}
	return mark(b.Bytes(), "#")
}

// mergeGitignore appends to a .gitignore that init did not write the
// entries it lacks, keeping every line a person wrote. It returns the new
// content and the entries added (none: leave the file alone).
func mergeGitignore(existing []byte, entries []string) ([]byte, []string) {
	have := map[string]bool{}
	for _, line := range strings.Split(string(existing), "\n") {
		have[strings.TrimSpace(line)] = true
	}
	var missing []string
	for _, e := range entries {
		if !have[e] {
			missing = append(missing, e)
		}
	}
	if len(missing) == 0 {
		return existing, nil
	}
	var b bytes.Buffer
	b.Write(existing)
	if len(existing) > 0 && !bytes.HasSuffix(existing, []byte("\n")) {
		b.WriteString("\n")
	}
	b.WriteString("\n# Added by mlship init: outputs mlship writes and private keys.\n")
	for _, e := range missing {
		b.WriteString(e + "\n")
	}
	return b.Bytes(), missing
}
