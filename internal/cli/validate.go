package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/spec"
)

// ValidateOptions are the inputs of `mlship validate`.
type ValidateOptions struct {
	F     *Factory
	Paths []string
}

// ValidateResult is one checked spec, as printed with --output json.
type ValidateResult struct {
	Path    string       `json:"path"`
	Name    string       `json:"name,omitempty"`
	Version string       `json:"version,omitempty"`
	Digest  string       `json:"digest,omitempty"`
	Valid   bool         `json:"valid"`
	Errors  []spec.Error `json:"errors"`
}

// NewCmdValidate builds `mlship validate`.
func NewCmdValidate(f *Factory, runF func(*ValidateOptions) error) *cobra.Command {
	opts := &ValidateOptions{F: f}
	return &cobra.Command{
		Use:   "validate [PATH...]",
		Short: "Check model specs against the schema",
		Long: `Validate loads each spec (a directory holding model.cue, model.json or
model.yaml, or one such file), unifies it with the mlship schema and runs
the semantic checks, then checks the environments file beside it
(mlship/environments.cue, .json or .yaml): its schema, digests, keys and
that every environment it names is one the spec defines. Every problem is printed as file:line:col: message;
inside GitHub Actions each also becomes an error annotation on that line
and the job summary gets a table of the specs checked.`,
		Example: `  mlship validate examples/iris
  mlship validate specs/a specs/b/model.yaml --output json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Paths = args
			if len(opts.Paths) == 0 {
				opts.Paths = []string{"."}
			}
			if runF != nil {
				return runF(opts)
			}
			return runValidate(cmd.Context(), opts)
		},
	}
}

func runValidate(ctx context.Context, opts *ValidateOptions) error {
	f := opts.F
	loader, err := spec.NewLoader()
	if err != nil {
		return err
	}
	var results []ValidateResult
	failed := 0
	for _, p := range opts.Paths {
		r := validateOne(ctx, loader, p)
		if !r.Valid {
			failed++
		}
		results = append(results, r)
	}

	for _, r := range results {
		for _, e := range r.Errors {
			f.Actions.Annotate(gha.Annotation{Level: "error", File: e.File, Line: e.Line, Col: e.Col, Title: "mlship validate", Message: annotationMessage(e)})
			if !f.IO.JSON() {
				fmt.Fprintln(f.IO.ErrOut, e.Error())
			}
		}
		if r.Valid {
			f.IO.Printf("ok   %s (%s %s)\n", r.Path, r.Name, r.Version)
		} else {
			f.IO.Printf("FAIL %s: %d problem%s\n", r.Path, len(r.Errors), plural(len(r.Errors)))
		}
	}
	if err := f.Actions.AddStepSummary(validateSummary(results)); err != nil {
		return err
	}
	if err := f.Actions.SetOutput("valid", fmt.Sprint(failed == 0)); err != nil {
		return err
	}
	if f.IO.JSON() {
		if err := f.IO.PrintJSON(map[string]any{"valid": failed == 0, "specs": results}); err != nil {
			return err
		}
	}
	if failed > 0 {
		return &ExitError{Code: 1, Err: fmt.Errorf("%d of %d spec%s invalid", failed, len(results), plural(len(results)))}
	}
	return nil
}

// validateOne checks the spec at p and the environments file beside it
// (checked even when the spec fails, for its syntax and schema).
func validateOne(ctx context.Context, loader *spec.Loader, p string) ValidateResult {
	r := ValidateResult{Path: p, Errors: []spec.Error{}}
	m, err := loader.Load(ctx, p)
	if err != nil {
		r.Errors = append(r.Errors, specErrors(err, p)...)
	}
	dir := p
	if m != nil {
		dir = m.Dir
	} else if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
		dir = filepath.Dir(p)
	}
	if file, err := loader.ValidateEnvironments(dir, m); err != nil {
		r.Errors = append(r.Errors, specErrors(err, file)...)
	}
	if len(r.Errors) == 0 && m != nil {
		r.Valid, r.Name, r.Version, r.Digest = true, m.Name, m.Version, m.Digest
	}
	return r
}

// specErrors lists err's problems; an error that is not a spec.ErrorList
// is one problem at file.
func specErrors(err error, file string) []spec.Error {
	var list spec.ErrorList
	if errors.As(err, &list) {
		return list
	}
	return []spec.Error{{File: file, Message: err.Error()}}
}

func annotationMessage(e spec.Error) string {
	if e.Path != "" {
		return e.Path + ": " + e.Message
	}
	return e.Message
}

func validateSummary(results []ValidateResult) string {
	var b strings.Builder
	b.WriteString("### mlship validate\n\n| spec | model | result |\n| --- | --- | --- |\n")
	for _, r := range results {
		model := "—"
		if r.Name != "" {
			model = fmt.Sprintf("`%s` %s", r.Name, r.Version)
		}
		result := "✅ valid"
		if !r.Valid {
			result = fmt.Sprintf("❌ %d problem%s", len(r.Errors), plural(len(r.Errors)))
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", r.Path, model, result)
	}
	for _, r := range results {
		for _, e := range r.Errors {
			fmt.Fprintf(&b, "\n- `%s:%d:%d` %s", e.File, e.Line, e.Col, strings.ReplaceAll(annotationMessage(e), "|", "\\|"))
		}
	}
	b.WriteString("\n")
	return b.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
