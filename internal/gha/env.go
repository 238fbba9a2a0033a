package gha

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Names of the variables mlship reads. Code outside this package (and test
// helpers that must set them) uses these constants, never the text.
const (
	VarActions           = "GITHUB_ACTIONS"
	VarToken             = "GITHUB_TOKEN"
	VarRepository        = "GITHUB_REPOSITORY"
	VarRepositoryOwner   = "GITHUB_REPOSITORY_OWNER"
	VarSHA               = "GITHUB_SHA"
	VarRef               = "GITHUB_REF"
	VarEventName         = "GITHUB_EVENT_NAME"
	VarEventPath         = "GITHUB_EVENT_PATH"
	VarAPIURL            = "GITHUB_API_URL"
	VarServerURL         = "GITHUB_SERVER_URL"
	VarRunID             = "GITHUB_RUN_ID"
	VarRunAttempt        = "GITHUB_RUN_ATTEMPT"
	VarWorkflowRef       = "GITHUB_WORKFLOW_REF"
	VarJob               = "GITHUB_JOB"
	VarActor             = "GITHUB_ACTOR"
	VarWorkspace         = "GITHUB_WORKSPACE"
	VarOutput            = "GITHUB_OUTPUT"
	VarStepSummary       = "GITHUB_STEP_SUMMARY"
	VarIDTokenURL        = "ACTIONS_ID_TOKEN_REQUEST_URL"
	VarIDTokenToken      = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
	VarRunnerName        = "RUNNER_NAME"
	VarRunnerEnvironment = "RUNNER_ENVIRONMENT"
	VarCI                = "CI"
	VarCacheDir          = "MLSHIP_CACHE_DIR"
	VarRunnerLabels      = "MLSHIP_RUNNER_LABELS"
	VarCosignPassword    = "COSIGN_PASSWORD"
)

// DefaultServerURL is github.com, used when GITHUB_SERVER_URL is unset.
const DefaultServerURL = "https://github.com"

// Env is the run context read from the process environment, parsed once
// (in the cli Factory) and passed down as a value. Parsing never fails and
// does no I/O: checks that need a field (Workflow, OwnerRepo) fail there.
type Env struct {
	// Actions is GITHUB_ACTIONS=true; CI is any CI system (CI set or Actions).
	Actions, CI bool

	Token           string
	Repository      string // owner/repo
	RepositoryOwner string
	SHA, Ref        string
	EventName       string
	EventPath       string
	APIURL          string // "" outside Actions: api.github.com
	ServerURL       string // as set; see Server for the defaulted value
	RunID           string
	RunAttempt      string
	WorkflowRef     string
	Job             string
	Actor           string
	Workspace       string
	Output          string // GITHUB_OUTPUT file
	StepSummary     string // GITHUB_STEP_SUMMARY file

	IDTokenURL, IDTokenToken string

	RunnerName, RunnerEnvironment string
	// RunnerLabels is MLSHIP_RUNNER_LABELS, comma separated.
	RunnerLabels string
	// CacheDir is MLSHIP_CACHE_DIR.
	CacheDir string
	// CosignPassword is COSIGN_PASSWORD (the private key's password).
	CosignPassword string

	// Getenv reads variables the user names (key references such as
	// env://VAR, the trainer's pass-through variables); nil reads nothing.
	Getenv func(string) string
}

// Parse reads the run context through getenv (os.Getenv when nil).
func Parse(getenv func(string) string) Env {
	if getenv == nil {
		getenv = os.Getenv
	}
	e := Env{
		Actions:           getenv(VarActions) == "true",
		Token:             getenv(VarToken),
		Repository:        getenv(VarRepository),
		RepositoryOwner:   getenv(VarRepositoryOwner),
		SHA:               getenv(VarSHA),
		Ref:               getenv(VarRef),
		EventName:         getenv(VarEventName),
		EventPath:         getenv(VarEventPath),
		APIURL:            getenv(VarAPIURL),
		ServerURL:         getenv(VarServerURL),
		RunID:             getenv(VarRunID),
		RunAttempt:        getenv(VarRunAttempt),
		WorkflowRef:       getenv(VarWorkflowRef),
		Job:               getenv(VarJob),
		Actor:             getenv(VarActor),
		Workspace:         getenv(VarWorkspace),
		Output:            getenv(VarOutput),
		StepSummary:       getenv(VarStepSummary),
		IDTokenURL:        getenv(VarIDTokenURL),
		IDTokenToken:      getenv(VarIDTokenToken),
		RunnerName:        getenv(VarRunnerName),
		RunnerEnvironment: getenv(VarRunnerEnvironment),
		RunnerLabels:      getenv(VarRunnerLabels),
		CacheDir:          getenv(VarCacheDir),
		CosignPassword:    getenv(VarCosignPassword),
		Getenv:            getenv,
	}
	e.CI = e.Actions || getenv(VarCI) != ""
	return e
}

// Lookup reads a variable the user named; "" when Getenv is nil.
func (e Env) Lookup(k string) string {
	if e.Getenv == nil {
		return ""
	}
	return e.Getenv(k)
}

// Server is GITHUB_SERVER_URL without a trailing slash, github.com when unset.
func (e Env) Server() string {
	if e.ServerURL == "" {
		return DefaultServerURL
	}
	return strings.TrimSuffix(e.ServerURL, "/")
}

// RepoURL is the repository's web URL ("" without GITHUB_REPOSITORY).
func (e Env) RepoURL() string {
	if e.Repository == "" {
		return ""
	}
	return e.Server() + "/" + e.Repository
}

// RunURL links the workflow run ("" outside a run). It is the one
// run-URL builder: job summaries, annotations and provenance use it.
func (e Env) RunURL() string {
	if e.Repository == "" || e.RunID == "" {
		return ""
	}
	return e.RepoURL() + "/actions/runs/" + e.RunID
}

// RunAttemptURL is RunURL narrowed to this attempt when it is known.
func (e Env) RunAttemptURL() string {
	u := e.RunURL()
	if u != "" && e.RunAttempt != "" {
		u += "/attempts/" + e.RunAttempt
	}
	return u
}

// BuilderID is the workflow's URL at its ref (SLSA builder id), "" unset.
func (e Env) BuilderID() string {
	if e.WorkflowRef == "" {
		return ""
	}
	return e.Server() + "/" + e.WorkflowRef
}

// OwnerRepo splits GITHUB_REPOSITORY ("owner/repo").
func (e Env) OwnerRepo() (owner, repo string, err error) {
	return SplitRepo(e.Repository)
}

// SplitRepo splits "owner/repo".
func SplitRepo(full string) (owner, repo string, err error) {
	owner, repo, ok := strings.Cut(full, "/")
	if !ok || owner == "" || repo == "" || strings.ContainsAny(repo, "/ ") || strings.ContainsAny(owner, " ") {
		if full == "" {
			return "", "", errors.New(VarRepository + " is not set: run inside GitHub Actions or pass --repository owner/repo")
		}
		return "", "", fmt.Errorf("repository %q: want owner/repo", full)
	}
	return owner, repo, nil
}

// WorkspaceRel makes p relative to GITHUB_WORKSPACE (slash-separated), as
// annotations and check-run annotations want; p itself when outside it.
func (e Env) WorkspaceRel(p string) string {
	abs, err := filepath.Abs(p)
	if e.Workspace == "" || err != nil {
		return filepath.ToSlash(p)
	}
	if rel, err := filepath.Rel(e.Workspace, abs); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(p)
}

// ProcessEnv reads the process environment: the one place that does, bound
// into iostreams.System at the process boundary.
func ProcessEnv(k string) string { return os.Getenv(k) }
