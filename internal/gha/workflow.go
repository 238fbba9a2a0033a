package gha

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// Workflow is what a step that talks to GitHub needs to know about the run
// it is in: the repository, the commit and the pull request of the event.
type Workflow struct {
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

// Workflow resolves the repository and reads the event payload at
// GITHUB_EVENT_PATH when set. It fails without a repository or a commit.
func (e Env) Workflow() (Workflow, error) {
	var w Workflow
	var err error
	if w.Owner, w.Repo, err = e.OwnerRepo(); err != nil {
		return Workflow{}, err
	}
	w.SHA, w.HeadSHA = e.SHA, e.SHA
	w.EventName, w.APIURL, w.RunURL = e.EventName, e.APIURL, e.RunURL()
	if e.EventPath != "" {
		payload, err := os.ReadFile(e.EventPath)
		if err != nil {
			return Workflow{}, fmt.Errorf("read the event payload %s=%s: %w", VarEventPath, e.EventPath, err)
		}
		ev, err := ParseEvent(e.EventName, payload)
		if err != nil {
			return Workflow{}, fmt.Errorf("event payload %s: %w", e.EventPath, err)
		}
		w.PullRequest = ev.PullRequest
		if ev.HeadSHA != "" {
			w.HeadSHA = ev.HeadSHA
		}
	}
	if w.HeadSHA == "" {
		return Workflow{}, errors.New(VarSHA + " is not set and the event names no head commit: run inside GitHub Actions or pass the commit explicitly")
	}
	return w, nil
}

// FromEnv is Parse(getenv).Workflow().
func FromEnv(getenv func(string) string) (Workflow, error) { return Parse(getenv).Workflow() }

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
