package alert

import (
	"fmt"
	"strings"
	"time"

	"github.com/mlship/mlship/internal/ghapi"
)

// DefaultLabel is the label every alert issue carries; Sync finds issues by it.
const DefaultLabel = "mlship-alert"

// DefaultHistory is how many runs the body keeps by default.
const DefaultHistory = 20

// MaxHistory is the most rows WithHistory accepts.
const MaxHistory = 200

type options struct {
	labels   []string
	history  int
	author   string
	workflow string
	ref      string
	inputs   map[string]any
	runURL   string
	now      func() time.Time
}

func defaults() options {
	return options{history: DefaultHistory, now: time.Now}
}

// Option configures Sync.
type Option func(*options) error

// WithLabels adds labels to the issue besides DefaultLabel (e.g. "drift",
// "model:iris"). GitHub creates missing labels.
func WithLabels(labels ...string) Option {
	return func(o *options) error {
		for _, l := range labels {
			if strings.TrimSpace(l) == "" || strings.ContainsAny(l, ",\r\n") {
				return fmt.Errorf("alert label %q: want a non-empty single-line name without commas", l)
			}
		}
		o.labels = append(o.labels, labels...)
		return nil
	}
}

// WithHistory sets how many runs the body keeps (1..MaxHistory, default
// DefaultHistory); fewer are kept if the body would exceed GitHub's limit.
func WithHistory(n int) Option {
	return func(o *options) error {
		if n < 1 || n > MaxHistory {
			return fmt.Errorf("alert history %d: want 1..%d rows", n, MaxHistory)
		}
		o.history = n
		return nil
	}
}

// WithAuthor matches only issues opened by login (the token's user, e.g.
// "github-actions[bot]" in Actions).
func WithAuthor(login string) Option {
	return func(o *options) error { o.author = login; return nil }
}

// WithDispatch starts workflow (a file name such as "retrain.yml", or an
// id) on ref with inputs, by a workflow_dispatch event, when an alert
// opens or reopens the issue. The workflow must declare every input sent.
func WithDispatch(workflow, ref string, inputs map[string]any) Option {
	return func(o *options) error {
		if workflow == "" || ref == "" {
			return fmt.Errorf("alert dispatch: workflow %q and ref %q are both required", workflow, ref)
		}
		if len(inputs) > ghapi.MaxDispatchInputs {
			return fmt.Errorf("alert dispatch of %s: %d inputs, GitHub takes at most %d", workflow, len(inputs), ghapi.MaxDispatchInputs)
		}
		o.workflow, o.ref, o.inputs = workflow, ref, inputs
		return nil
	}
}

// WithRunURL links the workflow run that made the observation.
func WithRunURL(u string) Option {
	return func(o *options) error { o.runURL = u; return nil }
}

// WithClock sets the clock used when an Observation has no Time.
func WithClock(now func() time.Time) Option {
	return func(o *options) error { o.now = now; return nil }
}
