package train

import (
	"io"
	"time"

	"github.com/mlship/mlship/internal/gha"
)

type options struct {
	overrides    map[string]any
	seed         *int64
	timeout      time.Duration
	log          io.Writer
	groupStart   func(string)
	groupEnd     func()
	env          []string
	reuse        *Registry
	runFile      string
	nvidiaSMI    string
	version      string
	runnerLabels []string
	noGPUProbe   bool
	run          *gha.Env
}

// Option configures Run.
type Option func(*options)

// WithParams overrides hyperparameters (from --param or a matrix entry).
func WithParams(p map[string]any) Option {
	return func(o *options) {
		if o.overrides == nil {
			o.overrides = map[string]any{}
		}
		for k, v := range p {
			o.overrides[k] = v
		}
	}
}

// WithSeed overrides the spec's seed.
func WithSeed(seed int64) Option { return func(o *options) { o.seed = &seed } }

// WithTimeout overrides the spec's timeout.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithLog sets where the training's output is streamed (default: discarded).
func WithLog(w io.Writer) Option { return func(o *options) { o.log = w } }

// WithGroups sets how a collapsible log section starts and ends (the
// Actions ::group:: commands).
func WithGroups(start func(title string), end func()) Option {
	return func(o *options) { o.groupStart, o.groupEnd = start, end }
}

// WithEnv sets the base environment of the training command and of GPU
// discovery, as KEY=VALUE (default: the process environment).
func WithEnv(env []string) Option { return func(o *options) { o.env = append([]string(nil), env...) } }

// WithReuse makes Run look in reg for an artifact with the same input
// digest first, and skip training when there is one.
func WithReuse(reg Registry) Option { return func(o *options) { o.reuse = &reg } }

// WithRunFile sets where run.json is written (default: beside the model
// directory, <dir of outputs.model>/run.json).
func WithRunFile(path string) Option { return func(o *options) { o.runFile = path } }

// WithNvidiaSMI sets the nvidia-smi executable.
func WithNvidiaSMI(path string) Option { return func(o *options) { o.nvidiaSMI = path } }

// WithVersion records the mlship version in the toolchain of run.json.
func WithVersion(v string) Option { return func(o *options) { o.version = v } }

// WithRunnerLabels records the runner's labels in run.json.
func WithRunnerLabels(labels []string) Option {
	return func(o *options) { o.runnerLabels = append([]string(nil), labels...) }
}

// WithoutGPUProbe skips asking nvidia-smi for an inventory when the spec
// needs no GPU (by default a present nvidia-smi is asked, for the record).
func WithoutGPUProbe() Option { return func(o *options) { o.noGPUProbe = true } }

// WithRunContext sets the run context recorded in run.json (runner name,
// environment and labels, the workflow run). Without it, the context is
// read by gha from the environment list (WithEnv, else the process's).
func WithRunContext(run gha.Env) Option { return func(o *options) { o.run = &run } }
