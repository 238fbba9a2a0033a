package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/spec"
)

// ValidateRequest is `mlship validate`: the specs (directories or files)
// to check.
type ValidateRequest struct{ Paths []string }

// SpecCheck is one checked spec, as printed with --output json.
type SpecCheck struct {
	Path    string       `json:"path"`
	Name    string       `json:"name,omitempty"`
	Version string       `json:"version,omitempty"`
	Digest  string       `json:"digest,omitempty"`
	Valid   bool         `json:"valid"`
	Errors  []spec.Error `json:"errors"`
	// Model is the loaded spec when it is valid.
	Model *spec.Model `json:"-"`
}

// ValidateResult is every spec checked.
type ValidateResult struct {
	Valid bool        `json:"valid"`
	Specs []SpecCheck `json:"specs"`
}

// Validate checks each spec and the environments file beside it,
// annotates every problem at its position, and sets the step output
// (valid) and the job summary. Any invalid spec is an error, returned
// with the result.
func Validate(ctx context.Context, r *Run, req ValidateRequest) (*ValidateResult, error) {
	loader, err := spec.NewLoader()
	if err != nil {
		return nil, err
	}
	res := &ValidateResult{Valid: true}
	failed := 0
	for _, p := range req.Paths {
		c := validateOne(ctx, loader, p)
		if !c.Valid {
			failed++
		}
		for _, e := range c.Errors {
			r.Annotate(gha.Annotation{Level: "error", File: e.File, Line: e.Line, Col: e.Col, Title: "mlship validate", Message: AnnotationMessage(e)})
		}
		res.Specs = append(res.Specs, c)
	}
	res.Valid = failed == 0
	if err := r.Summary(validateSummary(res.Specs)); err != nil {
		return nil, err
	}
	if err := r.Actions.SetOutput("valid", fmt.Sprint(res.Valid)); err != nil {
		return nil, err
	}
	if failed > 0 {
		return res, fmt.Errorf("%d of %d spec%s invalid", failed, len(res.Specs), plural(len(res.Specs)))
	}
	return res, nil
}

// validateOne checks the spec at p and the environments file beside it
// (checked even when the spec fails, for its syntax and schema).
func validateOne(ctx context.Context, loader *spec.Loader, p string) SpecCheck {
	c := SpecCheck{Path: p, Errors: []spec.Error{}}
	m, err := loader.Load(ctx, p)
	if err != nil {
		c.Errors = append(c.Errors, specErrors(err, p)...)
	}
	dir := p
	if m != nil {
		dir = m.Dir
	} else if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
		dir = filepath.Dir(p)
	}
	if file, err := loader.ValidateEnvironments(dir, m); err != nil {
		c.Errors = append(c.Errors, specErrors(err, file)...)
	}
	if len(c.Errors) == 0 && m != nil {
		c.Valid, c.Name, c.Version, c.Digest, c.Model = true, m.Name, m.Version, m.Digest, m
	}
	return c
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

// AnnotationMessage is a spec problem with its CUE path, if any.
func AnnotationMessage(e spec.Error) string {
	if e.Path != "" {
		return e.Path + ": " + e.Message
	}
	return e.Message
}

func validateSummary(results []SpecCheck) string {
	var b strings.Builder
	b.WriteString("### mlship validate\n\n| spec | model | result |\n| --- | --- | --- |\n")
	for _, c := range results {
		model := "—"
		if c.Name != "" {
			model = fmt.Sprintf("`%s` %s", c.Name, c.Version)
		}
		result := "✅ valid"
		if !c.Valid {
			result = fmt.Sprintf("❌ %d problem%s", len(c.Errors), plural(len(c.Errors)))
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", c.Path, model, result)
	}
	for _, c := range results {
		for _, e := range c.Errors {
			fmt.Fprintf(&b, "\n- `%s:%d:%d` %s", e.File, e.Line, e.Col, strings.ReplaceAll(AnnotationMessage(e), "|", "\\|"))
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
