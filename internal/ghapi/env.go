package ghapi

import (
	"context"

	"github.com/mlship/mlship/internal/gha"
)

// Env is the workflow run context; it lives in gha (the one owner of the
// process environment). The alias keeps callers compiling while they move.
type Env = gha.Workflow

// Event is gha.Event.
type Event = gha.Event

// ParseEvent is gha.ParseEvent.
func ParseEvent(eventName string, payload []byte) (Event, error) {
	return gha.ParseEvent(eventName, payload)
}

// SplitRepo is gha.SplitRepo.
func SplitRepo(full string) (owner, repo string, err error) { return gha.SplitRepo(full) }

// RepoFromEnv splits the repository of the run context read through getenv.
func RepoFromEnv(getenv func(string) string) (owner, repo string, err error) {
	return gha.Parse(getenv).OwnerRepo()
}

// FromEnv is gha.FromEnv.
func FromEnv(getenv func(string) string) (Env, error) { return gha.FromEnv(getenv) }

// NewForEnv returns a client for the run context's token and API URL.
func NewForEnv(ctx context.Context, e gha.Env, opts ...Option) (*Client, error) {
	return New(ctx, e.Token, append([]Option{WithBaseURL(e.APIURL)}, opts...)...)
}

// NewFromEnv is NewForEnv over the run context read through getenv.
func NewFromEnv(ctx context.Context, getenv func(string) string, opts ...Option) (*Client, error) {
	return NewForEnv(ctx, gha.Parse(getenv), opts...)
}
