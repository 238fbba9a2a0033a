package ghapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Env is what a step needs to know about the workflow run it is in, read
// from the variables GitHub Actions (and act) set.
type Env struct {
	Owner, Repo string
	// SHA is GITHUB_SHA. On pull_request events it is the test merge
	// commit; check runs belong on HeadSHA.
	SHA string
	// HeadSHA is the pull request's head commit on pull request events,
	// else SHA.
	HeadSHA string
	// EventName is GITHUB_EVENT_NAME.
	EventName string
	// PullRequest is the pull request number, 0 when the event has none.
	PullRequest int
	// APIURL is GITHUB_API_URL ("" outside Actions: api.github.com).
	APIURL string
	// RunURL links the workflow run ("" when unknown).
	RunURL string
}

// RepoFromEnv splits GITHUB_REPOSITORY ("owner/repo").
func RepoFromEnv(getenv func(string) string) (owner, repo string, err error) {
	return SplitRepo(getenv("GITHUB_REPOSITORY"))
}

// SplitRepo splits "owner/repo".
func SplitRepo(full string) (owner, repo string, err error) {
	owner, repo, ok := strings.Cut(full, "/")
	if !ok || owner == "" || repo == "" || strings.ContainsAny(repo, "/ ") || strings.ContainsAny(owner, " ") {
		if full == "" {
			return "", "", errors.New("GITHUB_REPOSITORY is not set: run inside GitHub Actions or pass --repository owner/repo")
		}
		return "", "", fmt.Errorf("repository %q: want owner/repo", full)
	}
	return owner, repo, nil
}

// FromEnv reads the Actions environment. getenv is usually os.Getenv (or
// iostreams' Getenv in tests); the event payload is read from
// GITHUB_EVENT_PATH when set.
func FromEnv(getenv func(string) string) (Env, error) {
	var e Env
	var err error
	if e.Owner, e.Repo, err = RepoFromEnv(getenv); err != nil {
		return Env{}, err
	}
	e.SHA = getenv("GITHUB_SHA")
	e.HeadSHA = e.SHA
	e.EventName = getenv("GITHUB_EVENT_NAME")
	e.APIURL = getenv("GITHUB_API_URL")
	if server, run := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_RUN_ID"); server != "" && run != "" {
		e.RunURL = fmt.Sprintf("%s/%s/%s/actions/runs/%s", strings.TrimSuffix(server, "/"), e.Owner, e.Repo, run)
	}
	if path := getenv("GITHUB_EVENT_PATH"); path != "" {
		payload, err := os.ReadFile(path)
		if err != nil {
			return Env{}, fmt.Errorf("read the event payload GITHUB_EVENT_PATH=%s: %w", path, err)
		}
		ev, err := ParseEvent(e.EventName, payload)
		if err != nil {
			return Env{}, fmt.Errorf("event payload %s: %w", path, err)
		}
		e.PullRequest = ev.PullRequest
		if ev.HeadSHA != "" {
			e.HeadSHA = ev.HeadSHA
		}
	}
	if e.HeadSHA == "" {
		return Env{}, errors.New("GITHUB_SHA is not set and the event names no head commit: run inside GitHub Actions or pass the commit explicitly")
	}
	return e, nil
}

// Event is what ParseEvent extracts from an event payload.
type Event struct {
	PullRequest int
	HeadSHA     string
	BaseRef     string
	HeadRef     string
}

// ParseEvent reads the pull request number and head commit from an event
// payload: pull_request, pull_request_target, pull_request_review(_comment)
// carry "pull_request"; issue_comment on a pull request carries
// "issue.pull_request". Other events give an empty Event. Malformed JSON is
// an error.
func ParseEvent(eventName string, payload []byte) (Event, error) {
	var p struct {
		Number      int `json:"number"`
		PullRequest *struct {
			Number int `json:"number"`
			Head   struct {
				SHA string `json:"sha"`
				Ref string `json:"ref"`
			} `json:"head"`
			Base struct {
				Ref string `json:"ref"`
			} `json:"base"`
		} `json:"pull_request"`
		Issue *struct {
			Number      int             `json:"number"`
			PullRequest json.RawMessage `json:"pull_request"`
		} `json:"issue"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return Event{}, fmt.Errorf("not a JSON event payload: %w", err)
	}
	var ev Event
	switch {
	case p.PullRequest != nil:
		ev.PullRequest = p.PullRequest.Number
		if ev.PullRequest == 0 {
			ev.PullRequest = p.Number
		}
		ev.HeadSHA, ev.HeadRef, ev.BaseRef = p.PullRequest.Head.SHA, p.PullRequest.Head.Ref, p.PullRequest.Base.Ref
	case p.Issue != nil && len(p.Issue.PullRequest) > 0 && string(p.Issue.PullRequest) != "null":
		ev.PullRequest = p.Issue.Number
	}
	if ev.PullRequest < 0 {
		return Event{}, fmt.Errorf("%s event: pull request number %d is negative", eventName, ev.PullRequest)
	}
	return ev, nil
}

// NewFromEnv returns a client for GITHUB_TOKEN and GITHUB_API_URL.
func NewFromEnv(ctx context.Context, getenv func(string) string, opts ...Option) (*Client, error) {
	return New(ctx, getenv("GITHUB_TOKEN"), append([]Option{WithBaseURL(getenv("GITHUB_API_URL"))}, opts...)...)
}
