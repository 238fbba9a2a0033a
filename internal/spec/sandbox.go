package spec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Evaluator proves that one evaluation stays within the limits before the
// Loader runs it in-process. CUE's evaluator can be neither cancelled nor
// told a memory limit, so a bound that truly holds needs another process:
// one that may be killed, and whose address space may be limited.
type Evaluator interface {
	// Probe runs job under lim. nil means it finished within the bounds
	// (whether or not the spec is valid); a *LimitError means it went over
	// one; any other error means it could not be told, which callers treat
	// as a failure (fail closed).
	Probe(ctx context.Context, job Job, lim Limits) error
}

// Job is one evaluation as the sandbox receives it.
type Job struct {
	// Op is "load", "export" or "environments".
	Op string `json:"op"`
	// Path is the spec (load, export).
	Path         string `json:"path,omitempty"`
	WithDefaults bool   `json:"withDefaults,omitempty"`
	// File and Data are the environments file (environments).
	File string `json:"file,omitempty"`
	Data []byte `json:"data,omitempty"`
}

const (
	opLoad         = "load"
	opExport       = "export"
	opEnvironments = "environments"
)

// LimitError is an evaluation that went over a bound.
type LimitError struct {
	// Bound is "memory" or "time".
	Bound  string `json:"bound"`
	Detail string `json:"detail"`
}

func (e *LimitError) Error() string { return e.Bound + ": " + e.Detail }

// SandboxArg is the one argument that makes a program serve the sandbox
// (see ServeSandbox). It is flag-shaped so that a test binary which does
// not serve it stops at once on an unknown flag instead of running its
// tests again.
const SandboxArg = "-mlship-cue-sandbox"

// verdictPrefix marks the sandbox's answer on its stdout.
const verdictPrefix = "mlship-cue-sandbox: "

// startSlack is how long the child may take to start and answer on top of
// the evaluation's own time bound, before the parent kills it.
const startSlack = 5 * time.Second

// Sandbox is the default Evaluator: it runs the job in a child process,
// Exe with SandboxArg, which limits its own heap and address space and
// times itself; the parent kills it if it does not answer in time.
type Sandbox struct {
	// Exe is the program serving ServeSandbox; empty means the running
	// executable (os.Executable).
	Exe string
}

type sandboxRequest struct {
	Job    Job    `json:"job"`
	Limits Limits `json:"limits"`
}

type verdict struct {
	OK       bool        `json:"ok,omitempty"`
	Exceeded *LimitError `json:"exceeded,omitempty"`
}

// Probe implements Evaluator.
func (s Sandbox) Probe(ctx context.Context, job Job, lim Limits) error {
	exe := s.Exe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return fmt.Errorf("finding the running program to sandbox CUE in: %w", err)
		}
	}
	req, err := json.Marshal(sandboxRequest{Job: job, Limits: lim})
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, lim.Time+startSlack)
	defer cancel()
	cmd := exec.CommandContext(cctx, exe, SandboxArg)
	cmd.Stdin = bytes.NewReader(req)
	stdout, stderr := &capBuffer{max: 64 << 10}, &capBuffer{max: 64 << 10}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = time.Second
	runErr := cmd.Run()
	if v, ok := parseVerdict(stdout.Bytes()); ok {
		if v.Exceeded != nil {
			return v.Exceeded
		}
		return nil
	}
	return childFailure(ctx, cctx, exe, runErr, stderr.String(), lim)
}

// childFailure explains a child that gave no verdict.
func childFailure(ctx, cctx context.Context, exe string, runErr error, stderr string, lim Limits) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if errors.Is(cctx.Err(), context.DeadlineExceeded) {
		return &LimitError{Bound: "time", Detail: fmt.Sprintf("no answer within %s; killed", lim.Time+startSlack)}
	}
	// The Go runtime's words, and the race detector's when its shadow
	// memory meets the address-space limit.
	if strings.Contains(stderr, "out of memory") || strings.Contains(stderr, "cannot allocate memory") || strings.Contains(stderr, "failed to allocate") {
		return &LimitError{Bound: "memory", Detail: "the evaluation ran out of its address space"}
	}
	var ee *exec.ExitError
	if errors.As(runErr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			// Nobody here sent it: the kernel's OOM killer did.
			return &LimitError{Bound: "memory", Detail: "the evaluation was killed (out of memory)"}
		}
	}
	if strings.Contains(stderr, SandboxArg) || runErr == nil {
		return fmt.Errorf("%s does not serve the CUE sandbox: its main (or a test binary's TestMain) must call spec.ServeSandbox first", exe)
	}
	return fmt.Errorf("the CUE sandbox (%s) failed: %v: %s", exe, runErr, firstLines(stderr, 3))
}

func parseVerdict(out []byte) (verdict, bool) {
	for _, line := range bytes.Split(out, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte(verdictPrefix)); ok {
			var v verdict
			if err := json.Unmarshal(rest, &v); err == nil && (v.OK || v.Exceeded != nil) {
				return v, true
			}
		}
	}
	return verdict{}, false
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(strings.TrimSpace(s), "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, " | ")
}

// capBuffer keeps the first max bytes written to it and drops the rest,
// so a misbehaving child cannot grow the parent.
type capBuffer struct {
	bytes.Buffer
	max int
}

func (b *capBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		if len(p) > room {
			b.Buffer.Write(p[:room])
		} else {
			b.Buffer.Write(p)
		}
	}
	return len(p), nil
}

// inProcess evaluates without a probe: what the sandbox itself runs.
type inProcess struct{}

func (inProcess) Probe(context.Context, Job, Limits) error { return nil }
