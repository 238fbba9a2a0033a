package spec

import (
	"fmt"
	"time"
)

// Limits bound what evaluating one untrusted spec or environments file may
// cost. validate runs first on every pull request, on content its author
// controls: an 8 KB spec can ask CUE for gigabytes or for hours.
type Limits struct {
	// Memory is the Go heap one evaluation may reach (default 512 MiB).
	Memory int64
	// Time is the wall time of one evaluation (default 10s).
	Time time.Duration
	// FileSize is the size of one spec or environments file (default 1 MiB).
	FileSize int64
	// Files is the number of files of one spec (default 64).
	Files int
}

// DefaultLimits are the bounds a Loader applies unless told otherwise.
func DefaultLimits() Limits {
	return Limits{Memory: 512 << 20, Time: 10 * time.Second, FileSize: 1 << 20, Files: 64}
}

func (lim Limits) withDefaults() Limits {
	d := DefaultLimits()
	if lim.Memory <= 0 {
		lim.Memory = d.Memory
	}
	if lim.Time <= 0 {
		lim.Time = d.Time
	}
	if lim.FileSize <= 0 {
		lim.FileSize = d.FileSize
	}
	if lim.Files <= 0 {
		lim.Files = d.Files
	}
	return lim
}

// bounds names the memory and time bounds, as error messages print them.
func (lim Limits) bounds() string {
	return fmt.Sprintf("%s / %s", mib(lim.Memory), lim.Time)
}

func mib(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

type options struct {
	evaluator Evaluator
	limits    Limits
}

// Option configures a Loader.
type Option func(*options)

// WithEvaluator sets what proves that an evaluation stays within the
// limits before the Loader runs it in-process. The default, Sandbox{},
// re-executes the running program, so that program must call ServeSandbox
// first thing in main (mlship does) or TestMain (a test binary that loads
// specs with references, comprehensions or imports). It is an option, not a
// hard-wired child process, because embedding programs and tests need to
// choose that program.
func WithEvaluator(e Evaluator) Option { return func(o *options) { o.evaluator = e } }

// WithLimits sets the bounds; zero fields keep DefaultLimits().
func WithLimits(lim Limits) Option { return func(o *options) { o.limits = lim } }

func buildOptions(opts []Option) options {
	o := options{evaluator: Sandbox{}}
	for _, opt := range opts {
		opt(&o)
	}
	if o.evaluator == nil {
		o.evaluator = Sandbox{}
	}
	o.limits = o.limits.withDefaults()
	return o
}
