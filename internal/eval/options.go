package eval

import (
	"fmt"
	"io"
	"time"
)

// Option configures Run and Compare.
type Option func(*options) error

type options struct {
	metricsFile          string
	examplesFile         string
	baselineSource       BaselineSource
	baselineExamplesFile string
	environment          *string
	stdout, stderr       io.Writer
	env                  []string
	now                  func() time.Time
	artifactDigest       string
	hashDatasets         bool
	// noBaselineNote replaces the generic "no baseline" note with the
	// source's reason (set by Run).
	noBaselineNote []string
}

func newOptions(opts []Option) (*options, error) {
	o := &options{stdout: io.Discard, stderr: io.Discard, now: time.Now, hashDatasets: true}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// WithMetricsFile reads metrics from path instead of running the spec's eval
// command.
func WithMetricsFile(path string) Option {
	return func(o *options) error {
		if path == "" {
			return fmt.Errorf("eval: empty metrics file path")
		}
		o.metricsFile = path
		return nil
	}
}

// WithExamplesFile reads the current model's per-example results from path
// (instead of the spec's eval.examplesFile).
func WithExamplesFile(path string) Option {
	return func(o *options) error { o.examplesFile = path; return nil }
}

// WithBaselineSource sets where the baseline comes from; without it Run
// compares against bounds only.
func WithBaselineSource(src BaselineSource) Option {
	return func(o *options) error { o.baselineSource = src; return nil }
}

// WithBaselineExamplesFile reads the baseline's per-example results from
// path, enabling paired bootstrap intervals.
func WithBaselineExamplesFile(path string) Option {
	return func(o *options) error { o.baselineExamplesFile = path; return nil }
}

// WithEnvironment sets the target environment whose gates decide the
// verdict; the default is the spec's eval.baseline, and "" applies only the
// spec-wide bounds.
func WithEnvironment(env string) Option {
	return func(o *options) error { o.environment = &env; return nil }
}

// WithOutput sends the eval command's stdout and stderr to w and errw.
func WithOutput(w, errw io.Writer) Option {
	return func(o *options) error {
		if w != nil {
			o.stdout = w
		}
		if errw != nil {
			o.stderr = errw
		}
		return nil
	}
}

// WithCommandEnv adds KEY=VALUE entries to the eval command's environment.
func WithCommandEnv(env ...string) Option {
	return func(o *options) error { o.env = append(o.env, env...); return nil }
}

// WithClock sets the clock used for evaluatedAt (tests pin it).
func WithClock(now func() time.Time) Option {
	return func(o *options) error { o.now = now; return nil }
}

// WithArtifactDigest records the evaluated artifact's manifest digest.
func WithArtifactDigest(d string) Option {
	return func(o *options) error { o.artifactDigest = d; return nil }
}

// WithoutDatasetHashing keeps only the dataset digests declared in the spec
// instead of hashing local dataset files that declare none.
func WithoutDatasetHashing() Option {
	return func(o *options) error { o.hashDatasets = false; return nil }
}
