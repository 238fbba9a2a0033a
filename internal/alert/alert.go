package alert

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mlship/mlship/internal/ghapi"
)

// Client is what Sync needs from GitHub; *ghapi.Client has it.
type Client interface {
	ListIssues(ctx context.Context, owner, repo string, f ghapi.IssueFilter) ([]ghapi.Issue, error)
	CreateIssue(ctx context.Context, owner, repo string, req ghapi.IssueRequest) (*ghapi.Issue, error)
	UpdateIssue(ctx context.Context, owner, repo string, number int, u ghapi.IssueUpdate) (*ghapi.Issue, error)
	CreateIssueComment(ctx context.Context, owner, repo string, number int, body string) (int64, error)
	DispatchWorkflow(ctx context.Context, owner, repo, workflow, ref string, inputs map[string]any) error
}

var _ Client = (*ghapi.Client)(nil)

// Key names what an alert is about. One issue exists per Key.
type Key struct {
	Model       string
	Environment string
}

// Observation is one monitoring run's result.
type Observation struct {
	// Time of the run; zero means now.
	Time       time.Time
	SampleSize int64
	// DriftedColumns lists the columns found drifted (the issue shows the
	// first 10 and a count).
	DriftedColumns    []string
	DatasetDriftShare float64
	// Metrics computed on the sample (accuracy, f1, ...), if any.
	Metrics map[string]float64
	// Alert says whether this run is alerting; false is a healthy sample.
	Alert bool
	// ReportURL links the run's full report (an http(s) URL), optional.
	ReportURL string
	// Digest is what the environment runs, optional.
	Digest string
	// Reasons say why the run alerts ("drift share 0.6 > 0.5", "accuracy
	// 0.81 < 0.9"), optional; shown for the latest run only.
	Reasons []string
}

// Action is what Sync did to the issue.
type Action string

// Actions.
const (
	Opened   Action = "opened"   // a new issue: the first alert for this key
	Reopened Action = "reopened" // the closed issue, for a new alert episode
	Updated  Action = "updated"  // the open issue got this run
	Closed   Action = "closed"   // healthy again: closed with a comment
	None     Action = "none"     // nothing to do, or the issue stays closed
)

// Outcome is what Sync did.
type Outcome struct {
	Action Action `json:"action"`
	// Number and URL name the issue; 0 and "" when there is none.
	Number int    `json:"number,omitempty"`
	URL    string `json:"url,omitempty"`
	// Note explains a None on an existing issue.
	Note string `json:"note,omitempty"`
	// Dispatched is set when the retraining workflow was started.
	Dispatched bool `json:"dispatched,omitempty"`
	// ClosedDuplicates lists issues closed as duplicates of Number.
	ClosedDuplicates []int `json:"closedDuplicates,omitempty"`
}

const maxKeyLen = 200

// maxMatches bounds how many issues with the key's marker Sync reads (one
// is expected; more come from races or copies).
const maxMatches = 100

func (k Key) check() error {
	for _, f := range []struct{ name, v string }{{"model", k.Model}, {"environment", k.Environment}} {
		if strings.TrimSpace(f.v) == "" || strings.ContainsAny(f.v, "\r\n") || len(f.v) > maxKeyLen {
			return fmt.Errorf("alert %s %q: want a non-empty single-line name of at most %d bytes", f.name, f.v, maxKeyLen)
		}
	}
	return nil
}

// Sync brings key's alert issue on repository ("owner/name") in line with
// obs: it opens, updates, reopens or closes the one issue for key (see the
// package documentation). When a retraining dispatch (WithDispatch) fails
// after the issue was opened, Sync returns the Outcome and the error.
func Sync(ctx context.Context, c Client, repository string, key Key, obs Observation, opts ...Option) (*Outcome, error) {
	if err := key.check(); err != nil {
		return nil, err
	}
	owner, name, err := ghapi.SplitRepo(repository)
	if err != nil {
		return nil, fmt.Errorf("alert for %s in %s: %w", key.Model, key.Environment, err)
	}
	o := defaults()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	at := obs.Time
	if at.IsZero() {
		at = o.now()
	}
	s := &syncer{c: c, owner: owner, repo: name, key: key, obs: obs, o: o, at: at.UTC().Truncate(time.Second)}
	return s.run(ctx)
}

type syncer struct {
	c           Client
	owner, repo string
	key         Key
	obs         Observation
	o           options
	at          time.Time
}

func (s *syncer) where() string {
	return fmt.Sprintf("alert issue for %s in %s on %s/%s", s.key.Model, s.key.Environment, s.owner, s.repo)
}

// find returns the issue for the key (the lowest-numbered open one, else
// the most recent closed one) and the other open ones.
func (s *syncer) find(ctx context.Context) (*ghapi.Issue, []ghapi.Issue, error) {
	keep := func(is *ghapi.Issue) bool {
		return !is.IsPullRequest && isMarked(is.Body, s.key) && (s.o.author == "" || strings.EqualFold(is.Author, s.o.author))
	}
	// Every labelled issue is scanned, only matches are kept.
	list, err := s.c.ListIssues(ctx, s.owner, s.repo, ghapi.IssueFilter{State: "all", Labels: []string{DefaultLabel}, Sort: "created", Direction: "asc", Keep: keep, Limit: maxMatches})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: list issues: %w", s.where(), err)
	}
	var open, closed []ghapi.Issue
	for _, is := range list {
		if !keep(&is) {
			continue
		}
		if is.State == "open" {
			open = append(open, is)
		} else {
			closed = append(closed, is)
		}
	}
	byNumber := func(a, b ghapi.Issue) int { return a.Number - b.Number }
	slices.SortFunc(open, byNumber)
	slices.SortFunc(closed, byNumber)
	if len(open) > 0 {
		return &open[0], open[1:], nil
	}
	if len(closed) > 0 {
		return &closed[len(closed)-1], nil, nil
	}
	return nil, nil, nil
}

func (s *syncer) labels() []string {
	out := []string{DefaultLabel}
	for _, l := range s.o.labels {
		if !strings.EqualFold(l, DefaultLabel) {
			out = append(out, l)
		}
	}
	return out
}

// mergeLabels keeps the labels people added and ensures mlship's.
func (s *syncer) mergeLabels(have []string) []string {
	out := append([]string{}, have...)
	for _, l := range s.labels() {
		found := false
		for _, h := range have {
			if strings.EqualFold(h, l) {
				found = true
			}
		}
		if !found {
			out = append(out, l)
		}
	}
	return out
}

func (s *syncer) run(ctx context.Context) (*Outcome, error) {
	canon, dups, err := s.find(ctx)
	if err != nil {
		return nil, err
	}
	out := &Outcome{Action: None}
	if canon != nil {
		out.Number, out.URL = canon.Number, canon.HTMLURL
		for _, d := range dups {
			if err := s.closeDuplicate(ctx, d, canon.Number); err != nil {
				return out, err
			}
			out.ClosedDuplicates = append(out.ClosedDuplicates, d.Number)
		}
	}
	if canon == nil {
		if !s.obs.Alert {
			return out, nil
		}
		return s.open(ctx, out)
	}
	st, derr := decodeState(canon.Body, s.key)
	if derr != nil {
		// A body edited by hand: start the history afresh. An issue still
		// open counts as an active episode, a closed one as resolved.
		st = &state{V: 1, Model: s.key.Model, Environment: s.key.Environment, Episode: episodeResolved, Since: s.at}
		if canon.State == "open" {
			st.Episode = episodeActive
		}
	}
	open := canon.State == "open"
	switch {
	case open && s.obs.Alert:
		if st.Episode != episodeActive {
			st.Episode, st.Since = episodeActive, s.at
		}
		s.record(st)
		return s.update(ctx, out, canon, st, nil, Updated)
	case open && !s.obs.Alert && st.Episode == episodeResolved:
		// A person reopened a resolved issue: leave it to them.
		out.Note = fmt.Sprintf("issue #%d was reopened by a person after the alert ended; mlship leaves it open", canon.Number)
		return out, nil
	case open && !s.obs.Alert:
		s.record(st)
		st.Episode, st.Resolved = episodeResolved, s.at
		closed, reason := "closed", "completed"
		if _, err := s.update(ctx, out, canon, st, &ghapi.IssueUpdate{State: &closed, StateReason: &reason}, Closed); err != nil {
			return out, err
		}
		if _, err := s.c.CreateIssueComment(ctx, s.owner, s.repo, canon.Number, s.healthyComment()); err != nil {
			return out, fmt.Errorf("%s: closed #%d, but the closing comment failed: %w", s.where(), canon.Number, err)
		}
		return out, nil
	case !open && s.obs.Alert && st.Episode == episodeActive:
		// Closed by a person during the episode: keep the record, stay closed.
		s.record(st)
		if _, err := s.update(ctx, out, canon, st, nil, None); err != nil {
			return out, err
		}
		out.Note = fmt.Sprintf("issue #%d was closed while the alert was active; it stays closed until a healthy sample ends the episode", canon.Number)
		return out, nil
	case !open && s.obs.Alert:
		st.Episode, st.Since, st.Resolved = episodeActive, s.at, time.Time{}
		s.record(st)
		reopen, reason := "open", "reopened"
		if _, err := s.update(ctx, out, canon, st, &ghapi.IssueUpdate{State: &reopen, StateReason: &reason}, Reopened); err != nil {
			return out, err
		}
		if _, err := s.c.CreateIssueComment(ctx, s.owner, s.repo, canon.Number, s.alertComment()); err != nil {
			return out, fmt.Errorf("%s: reopened #%d, but the comment failed: %w", s.where(), canon.Number, err)
		}
		return s.dispatch(ctx, out)
	case !open && st.Episode == episodeActive:
		// Healthy again while closed: end the episode quietly.
		s.record(st)
		st.Episode, st.Resolved = episodeResolved, s.at
		if _, err := s.update(ctx, out, canon, st, nil, None); err != nil {
			return out, err
		}
		out.Note = fmt.Sprintf("the alert episode ended while issue #%d was closed", canon.Number)
		return out, nil
	}
	return out, nil // closed, resolved and healthy: nothing to write
}

func (s *syncer) record(st *state) {
	st.Rows = append(st.Rows, newRow(s.obs, s.at))
	st.Runs++
	if len(st.Rows) > s.o.history {
		st.Rows = st.Rows[len(st.Rows)-s.o.history:]
	}
}

// update writes the body (and the change in u, if any) to the issue.
func (s *syncer) update(ctx context.Context, out *Outcome, is *ghapi.Issue, st *state, u *ghapi.IssueUpdate, act Action) (*Outcome, error) {
	body := render(s.key, st, s.obs, s.o)
	var up ghapi.IssueUpdate
	if u != nil {
		up = *u
	}
	labels := s.mergeLabels(is.Labels)
	if body != is.Body {
		up.Body = &body
	}
	if len(labels) != len(is.Labels) {
		up.Labels = &labels
	}
	if up.Body == nil && up.State == nil && up.Labels == nil {
		out.Action = act
		return out, nil
	}
	got, err := s.c.UpdateIssue(ctx, s.owner, s.repo, is.Number, up)
	if err != nil {
		return out, fmt.Errorf("%s: update #%d: %w", s.where(), is.Number, err)
	}
	out.Action, out.Number, out.URL = act, got.Number, got.HTMLURL
	return out, nil
}

// open creates the issue. A create that failed ambiguously (5xx, lost
// connection) may have happened: look again before creating again.
func (s *syncer) open(ctx context.Context, out *Outcome) (*Outcome, error) {
	st := &state{V: 1, Model: s.key.Model, Environment: s.key.Environment, Episode: episodeActive, Since: s.at}
	s.record(st)
	req := ghapi.IssueRequest{Title: Title(s.key), Body: render(s.key, st, s.obs, s.o), Labels: s.labels()}
	var lastErr error
	for attempt := 0; attempt < 2; attempt++ {
		if attempt > 0 {
			again, _, err := s.find(ctx)
			if err != nil {
				return out, errors.Join(lastErr, err)
			}
			if again != nil {
				out.Action, out.Number, out.URL = Opened, again.Number, again.HTMLURL
				return s.dispatch(ctx, out)
			}
		}
		is, err := s.c.CreateIssue(ctx, s.owner, s.repo, req)
		if err == nil {
			out.Action, out.Number, out.URL = Opened, is.Number, is.HTMLURL
			return s.dispatch(ctx, out)
		}
		lastErr = fmt.Errorf("%s: open: %w", s.where(), err)
		if code := ghapi.StatusCode(err); code != 0 && code < 500 {
			break
		}
	}
	return out, lastErr
}

func (s *syncer) dispatch(ctx context.Context, out *Outcome) (*Outcome, error) {
	if s.o.workflow == "" {
		return out, nil
	}
	if err := s.c.DispatchWorkflow(ctx, s.owner, s.repo, s.o.workflow, s.o.ref, s.o.inputs); err != nil {
		return out, fmt.Errorf("%s: #%d is %s, but starting workflow %s on %s failed: %w", s.where(), out.Number, out.Action, s.o.workflow, s.o.ref, err)
	}
	out.Dispatched = true
	return out, nil
}

func (s *syncer) closeDuplicate(ctx context.Context, d ghapi.Issue, canon int) error {
	if _, err := s.c.CreateIssueComment(ctx, s.owner, s.repo, d.Number, fmt.Sprintf("Duplicate of #%d: mlship keeps one alert issue per model and environment.", canon)); err != nil {
		return fmt.Errorf("%s: comment on duplicate #%d: %w", s.where(), d.Number, err)
	}
	closed, reason := "closed", "not_planned"
	if _, err := s.c.UpdateIssue(ctx, s.owner, s.repo, d.Number, ghapi.IssueUpdate{State: &closed, StateReason: &reason}); err != nil {
		return fmt.Errorf("%s: close duplicate #%d: %w", s.where(), d.Number, err)
	}
	return nil
}

func (s *syncer) healthyComment() string {
	msg := fmt.Sprintf("✅ The sample of %s is healthy again (%s rows, dataset drift share %s): closing. mlship reopens this issue if the alert comes back.",
		stamp(s.at), thousands(s.obs.SampleSize), formatNumber(s.obs.DatasetDriftShare))
	if s.obs.ReportURL != "" {
		msg += " " + link("Full report", s.obs.ReportURL) + "."
	}
	return msg
}

func (s *syncer) alertComment() string {
	msg := fmt.Sprintf("🔴 The alert is back at %s (%s rows, %s drifted column%s, dataset drift share %s): reopening.",
		stamp(s.at), thousands(s.obs.SampleSize), thousands(int64(len(s.obs.DriftedColumns))), plural(len(s.obs.DriftedColumns)), formatNumber(s.obs.DatasetDriftShare))
	if s.obs.ReportURL != "" {
		msg += " " + link("Full report", s.obs.ReportURL) + "."
	}
	return msg
}
