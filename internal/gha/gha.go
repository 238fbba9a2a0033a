package gha

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	githubactions "github.com/sethvargo/go-githubactions"
)

// outputDelimiter is the fixed heredoc delimiter go-githubactions writes;
// a value containing it would end the output early and inject others.
const outputDelimiter = "_GitHubActionsFileCommandDelimeter_"

// Runtime talks to the Actions runner through workflow commands (written to
// w) and environment files.
type Runtime struct {
	a      *githubactions.Action
	w      io.Writer
	getenv func(string) string
	active bool
}

// New returns a Runtime writing workflow commands to w. It is active only
// when GITHUB_ACTIONS=true in getenv.
func New(w io.Writer, getenv func(string) string) *Runtime {
	return &Runtime{
		a:      githubactions.New(githubactions.WithWriter(w), githubactions.WithGetenv(githubactions.GetenvFunc(getenv))),
		w:      w,
		getenv: getenv,
		active: getenv(VarActions) == "true",
	}
}

// Active reports whether we run inside Actions.
func (r *Runtime) Active() bool { return r.active }

// Annotation is one error, warning or notice pointing at a file position.
type Annotation struct {
	Level   string // error, warning or notice
	File    string
	Line    int
	Col     int
	Title   string
	Message string
}

// Annotate emits an annotation; outside Actions it does nothing.
//
// The command is written here rather than through go-githubactions because
// that library sorts the properties (col, file, line); we keep GitHub's
// documented order, file=,line=,col=, which people and tools grep for.
func (r *Runtime) Annotate(an Annotation) {
	if !r.active {
		return
	}
	level := an.Level
	if level != "warning" && level != "notice" {
		level = "error"
	}
	var props []string
	if an.File != "" {
		props = append(props, "file="+escapeProperty(r.workspaceRel(an.File)))
	}
	if an.Line > 0 {
		props = append(props, "line="+strconv.Itoa(an.Line))
	}
	if an.Col > 0 {
		props = append(props, "col="+strconv.Itoa(an.Col))
	}
	if an.Title != "" {
		props = append(props, "title="+escapeProperty(an.Title))
	}
	cmd := "::" + level
	if len(props) > 0 {
		cmd += " " + strings.Join(props, ",")
	}
	fmt.Fprintf(r.w, "%s::%s\n", cmd, escapeData(an.Message))
}

// workspaceRel makes an absolute path relative to GITHUB_WORKSPACE, which
// is what GitHub needs to place an annotation on a file of the diff.
func (r *Runtime) workspaceRel(p string) string {
	ws := r.getenv("GITHUB_WORKSPACE")
	if ws == "" {
		return p
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	rel, err := filepath.Rel(ws, abs)
	if err != nil || strings.HasPrefix(rel, "..") {
		return p
	}
	return filepath.ToSlash(rel)
}

// escapeData and escapeProperty follow the runner's workflow-command
// encoding (actions/toolkit core/command.ts).
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// SetOutput sets a step output. Values that contain the heredoc delimiter
// are refused rather than corrupting GITHUB_OUTPUT.
func (r *Runtime) SetOutput(name, value string) error {
	if !r.active || r.getenv("GITHUB_OUTPUT") == "" {
		return nil
	}
	if strings.Contains(value, outputDelimiter) {
		return fmt.Errorf("output %s contains the reserved delimiter %q: refusing to write it", name, outputDelimiter)
	}
	return r.guard("GITHUB_OUTPUT", func() { r.a.SetOutput(name, value) })
}

// AddStepSummary appends Markdown to the job summary.
func (r *Runtime) AddStepSummary(markdown string) error {
	if !r.active || r.getenv("GITHUB_STEP_SUMMARY") == "" {
		return nil
	}
	return r.guard("GITHUB_STEP_SUMMARY", func() { r.a.AddStepSummary(markdown) })
}

// Mask asks the runner to hide s in logs.
func (r *Runtime) Mask(s string) {
	if r.active && s != "" {
		r.a.AddMask(s)
	}
}

// Group starts a collapsible log section; EndGroup ends it.
func (r *Runtime) Group(title string) {
	if r.active {
		r.a.Group(title)
	}
}

// EndGroup ends the section Group started.
func (r *Runtime) EndGroup() {
	if r.active {
		r.a.EndGroup()
	}
}

// IDToken fetches the job's OIDC token for audience (keyless signing).
func (r *Runtime) IDToken(ctx context.Context, audience string) (string, error) {
	if r.getenv("ACTIONS_ID_TOKEN_REQUEST_URL") == "" || r.getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN") == "" {
		return "", fmt.Errorf("no OIDC token available: the job needs `permissions: id-token: write` (ACTIONS_ID_TOKEN_REQUEST_URL is unset)")
	}
	tok, err := r.a.GetIDToken(ctx, audience)
	if err != nil {
		return "", fmt.Errorf("fetching the Actions OIDC token: %w", err)
	}
	r.Mask(tok)
	return tok, nil
}

// Event decodes the event payload at GITHUB_EVENT_PATH into v.
func (r *Runtime) Event(v any) error {
	p := r.getenv("GITHUB_EVENT_PATH")
	if p == "" {
		return fmt.Errorf("GITHUB_EVENT_PATH is not set: not running in a workflow")
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("reading the event payload: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decoding the event payload %s: %w", p, err)
	}
	return nil
}

// Getenv reads the runner environment.
func (r *Runtime) Getenv(k string) string { return r.getenv(k) }

func (r *Runtime) guard(file string, f func()) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("writing %s (%s): %v", file, r.getenv(file), p)
		}
	}()
	f()
	return nil
}
