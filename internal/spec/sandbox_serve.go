package spec

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// ServeSandbox makes the running process the CUE sandbox when args is
// exactly [SandboxArg]: it reads one job from stdin, evaluates it with its
// own heap and address space limited and its time counted, writes its
// verdict to stdout and returns the exit status with ok true. Otherwise it
// returns ok false and does nothing. Call it first thing in main (and in
// TestMain of a test binary that loads specs):
//
//	if code, ok := spec.ServeSandbox(os.Args[1:], os.Stdin, os.Stdout); ok {
//		os.Exit(code)
//	}
//
// A job over a bound cannot be stopped (CUE has no cancellation), so the
// watchdog ends the process itself once it has answered.
func ServeSandbox(args []string, stdin io.Reader, stdout io.Writer) (code int, ok bool) {
	if len(args) != 1 || args[0] != SandboxArg {
		return 0, false
	}
	return serveSandbox(stdin, stdout), true
}

func serveSandbox(stdin io.Reader, stdout io.Writer) int {
	var req sandboxRequest
	if err := json.NewDecoder(io.LimitReader(stdin, 256<<20)).Decode(&req); err != nil {
		fmt.Fprintf(os.Stderr, "mlship cue sandbox: reading the job: %v\n", err)
		return 2
	}
	lim := req.Limits.withDefaults()
	answer := answerOnce(stdout)
	debug.SetMemoryLimit(lim.Memory)
	limitAddressSpace(lim.Memory)
	stop := watch(lim, answer)
	defer stop()
	l, err := NewLoader(WithEvaluator(inProcess{}), WithLimits(lim))
	if err != nil {
		fmt.Fprintf(os.Stderr, "mlship cue sandbox: %v\n", err)
		return 2
	}
	runJob(l, req.Job)
	answer(verdict{OK: true})
	return 0
}

// runJob runs what the parent will run in-process; the result does not
// matter here, only that it finished within the bounds.
func runJob(l *Loader, job Job) {
	ctx := context.Background()
	switch job.Op {
	case opLoad:
		_, _ = l.Load(ctx, job.Path)
	case opExport:
		_, _ = l.Export(ctx, job.Path, job.WithDefaults)
	case opEnvironments:
		_, _ = l.ParseEnvironments(job.File, job.Data)
	}
}

// answerOnce writes the first verdict given to it and makes later ones
// (the watchdog racing the job's end) no-ops.
func answerOnce(w io.Writer) func(verdict) {
	var once sync.Once
	return func(v verdict) {
		once.Do(func() {
			b, _ := json.Marshal(v)
			fmt.Fprintf(w, "%s%s\n", verdictPrefix, b)
		})
	}
}

// watch polls the memory the runtime holds and the time spent; over a
// bound it answers and ends the process, since the evaluation cannot be
// interrupted. The address-space limit catches what a poll misses (one
// huge allocation).
func watch(lim Limits, answer func(verdict)) (stop func()) {
	done := make(chan struct{})
	start := time.Now()
	go func() {
		samples := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		deadline := time.NewTimer(lim.Time)
		defer deadline.Stop()
		for {
			select {
			case <-done:
				return
			case <-deadline.C:
				answer(verdict{Exceeded: &LimitError{Bound: "time", Detail: fmt.Sprintf("still evaluating after %s", time.Since(start).Round(time.Millisecond))}})
				os.Exit(0)
			case <-tick.C:
				metrics.Read(samples)
				used := int64(samples[0].Value.Uint64()) - int64(samples[1].Value.Uint64())
				if used > lim.Memory {
					answer(verdict{Exceeded: &LimitError{Bound: "memory", Detail: fmt.Sprintf("the evaluation held %s after %s", mib(used), time.Since(start).Round(time.Millisecond))}})
					os.Exit(0)
				}
			}
		}
	}()
	return func() { close(done) }
}
