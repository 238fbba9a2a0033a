package pipeline

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/mlship/mlship/internal/scaffold"
)

// InitRequest is what `mlship init` asks for.
type InitRequest struct {
	Root string
	// Name defaults to Root's base name, made DNS-1123.
	Name string
	// Repository defaults to ghcr.io/OWNER/NAME, else localhost:5000/NAME.
	Repository string
	SpecDir    string
	ActionRef  string
	// Template names the starter (scaffold.Templates; "" for
	// scaffold.DefaultTemplate).
	Template string
	// Force overwrites files mlship init did not write.
	Force bool
}

// InitResult is what init wrote; --output json prints it.
type InitResult struct {
	Name       string          `json:"name"`
	Repository string          `json:"repository"`
	Template   string          `json:"template"`
	Files      []scaffold.File `json:"files"`
	// SpecDir is the spec's directory, slash-separated, relative to Root.
	SpecDir string `json:"-"`
}

var nonName = regexp.MustCompile(`[^a-z0-9-]+`)

// Init scaffolds Root: a starter that trains as written (spec, trainer,
// evaluator, a small data set), the environments file, workflows and the
// .gitignore entries for what mlship writes (scaffold.Write).
func Init(ctx context.Context, r *Run, req InitRequest) (*InitResult, error) {
	tmpl, err := scaffold.LookupTemplate(req.Template)
	if err != nil {
		return nil, &UsageError{Err: fmt.Errorf("--template: %w", err)}
	}
	name := req.Name
	if name == "" {
		abs, err := filepath.Abs(req.Root)
		if err != nil {
			return nil, err
		}
		name = strings.Trim(nonName.ReplaceAllString(strings.ToLower(filepath.Base(abs)), "-"), "-")
	}
	repo := req.Repository
	if repo == "" {
		if owner := r.Env.RepositoryOwner; owner != "" {
			repo = "ghcr.io/" + strings.ToLower(owner) + "/" + name
		} else {
			repo = "localhost:5000/" + name
		}
	}
	specDir := filepath.ToSlash(filepath.Clean(req.SpecDir))
	if filepath.IsAbs(specDir) || strings.HasPrefix(specDir, "..") {
		return nil, fmt.Errorf("--spec-dir %q must be a path inside the repository", req.SpecDir)
	}
	files, err := scaffold.Write(ctx, req.Root, scaffold.Params{Name: name, Repository: repo, SpecDir: specDir, ActionRef: req.ActionRef, Template: tmpl.Name}, req.Force)
	if err != nil {
		return nil, err
	}
	return &InitResult{Name: name, Repository: repo, Template: tmpl.Name, Files: files, SpecDir: specDir}, nil
}
