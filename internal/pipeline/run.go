package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/ghapi"
	"github.com/mlship/mlship/internal/iostreams"
	"github.com/mlship/mlship/internal/oci"
)

// Run is the run context every use case takes: what the process knows
// about where it runs (Env, parsed once), how it talks to GitHub and to
// registries, and where it writes (IO for human/JSON output and logs,
// Actions for annotations, step outputs and the job summary).
type Run struct {
	// Registry returns the process's registry client (the cli Factory's);
	// nil builds one from Env's credentials.
	Registry func() (*oci.Client, error)
	Env      gha.Env
	IO       *iostreams.IOStreams
	// Actions writes annotations, step outputs and the job summary; it is
	// inert outside Actions.
	Actions *gha.Runtime
	// GitHub returns the API client for Env's token; nil uses NewGitHub.
	GitHub func(ctx context.Context) (*ghapi.Client, error)
}

// NewRun builds a Run over ios, parsing the environment once.
func NewRun(ios *iostreams.IOStreams) *Run {
	return &Run{
		Env:     gha.Parse(ios.Env),
		IO:      ios,
		Actions: gha.New(ios.Out, ios.Env),
	}
}

// ErrNoToken is returned by GitHubClient when the run context has no token.
var ErrNoToken = errors.New(gha.VarToken + " is not set")

// GitHubClient returns the GitHub client: r.GitHub when set, else one for
// Env's token and API URL. No token is ErrNoToken.
func (r *Run) GitHubClient(ctx context.Context) (*ghapi.Client, error) {
	if r.GitHub != nil {
		return r.GitHub(ctx)
	}
	if r.Env.Token == "" {
		return nil, ErrNoToken
	}
	c, err := ghapi.NewForEnv(ctx, r.Env)
	if err != nil {
		return nil, fmt.Errorf("GitHub client: %w", err)
	}
	return c, nil
}

// Logf writes a progress line to stderr.
func (r *Run) Logf(format string, a ...any) { r.IO.Logf(format, a...) }

// Summary appends Markdown to the job summary (no-op outside Actions).
func (r *Run) Summary(markdown string) error { return r.Actions.AddStepSummary(markdown) }

// Annotate emits an annotation (no-op outside Actions).
func (r *Run) Annotate(an gha.Annotation) { r.Actions.Annotate(an) }
