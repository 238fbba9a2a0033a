package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process is how one run of the training command ended.
type Process struct {
	Start, End time.Time
	// ExitCode is the command's exit status (-1 when killed by a signal).
	ExitCode int
	// Signal names the signal that ended the command, if any.
	Signal string
	// TimedOut and Cancelled say why mlship stopped it, if it did.
	TimedOut, Cancelled bool
}

// command is what runGroup runs.
type command struct {
	Argv    []string
	Dir     string
	Env     []string
	Timeout time.Duration // 0: none
	Grace   time.Duration // between SIGTERM and SIGKILL
	Log     io.Writer     // stdout and stderr of the command, merged
	// Started, if set, is called with the process group id once running.
	Started func(pgid int)
}

// runGroup runs c in its own process group. On cancellation of ctx or on
// timeout the whole group gets SIGTERM, then SIGKILL once the grace period
// is over; when the command itself exits, whatever it left running in its
// group is stopped the same way, so no grandchild outlives the step.
// A non-zero exit is not an error: it is in Process.
func runGroup(ctx context.Context, c command) (*Process, error) {
	if len(c.Argv) == 0 {
		return nil, errors.New("training command is empty")
	}
	path, err := lookPath(c.Argv[0], c.Dir, c.Env)
	if err != nil {
		return nil, fmt.Errorf("training command %q: %w", c.Argv[0], err)
	}
	cmd := exec.Command(path, c.Argv[1:]...)
	cmd.Args[0] = c.Argv[0]
	cmd.Dir = c.Dir
	cmd.Env = c.Env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("creating the log pipe: %w", err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	p := &Process{Start: time.Now()}
	if err := cmd.Start(); err != nil {
		pw.Close()
		pr.Close()
		return nil, fmt.Errorf("starting training command %q: %w", strings.Join(c.Argv, " "), err)
	}
	pw.Close()
	pgid := cmd.Process.Pid
	if c.Started != nil {
		c.Started(pgid)
	}
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		w := c.Log
		if w == nil {
			w = io.Discard
		}
		_, _ = io.Copy(w, pr)
	}()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	var timeout <-chan time.Time
	if c.Timeout > 0 {
		t := time.NewTimer(c.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	var werr error
	select {
	case werr = <-waited:
	case <-ctx.Done():
		p.Cancelled = true
	case <-timeout:
		p.TimedOut = true
	}
	deadline := time.Now().Add(c.Grace)
	if p.Cancelled || p.TimedOut {
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case werr = <-waited:
		case <-time.After(time.Until(deadline)):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			werr = <-waited
		}
	}
	// The leader is gone; stop whatever it left behind in its group.
	stopGroup(pgid, deadline)
	select {
	case <-logDone:
	case <-time.After(2 * time.Second):
		// A process that left the group (setsid) still holds the pipe.
	}
	pr.Close()
	p.End = time.Now()
	p.ExitCode = -1
	if st := cmd.ProcessState; st != nil {
		p.ExitCode = st.ExitCode()
		if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			p.Signal = ws.Signal().String()
		}
	} else if werr != nil {
		return p, fmt.Errorf("waiting for the training command: %w", werr)
	}
	return p, nil
}

// stopGroup sends SIGTERM to any process left in group pgid, waits until
// the group is empty or deadline passes, then sends SIGKILL.
func stopGroup(pgid int, deadline time.Time) {
	if !groupAlive(pgid) {
		return
	}
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	for time.Now().Before(deadline) {
		if !groupAlive(pgid) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	for i := 0; i < 100 && groupAlive(pgid); i++ {
		time.Sleep(10 * time.Millisecond)
	}
}

// groupAlive reports whether group pgid has a member that is not a
// zombie. Zombies count as gone: an orphan's zombie waits for PID 1 to
// reap it, which in some containers never happens.
func groupAlive(pgid int) bool {
	if err := syscall.Kill(-pgid, 0); err != nil {
		return !errors.Is(err, syscall.ESRCH)
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		state, pg, ok := procStat(pid)
		if ok && pg == pgid && state != 'Z' && state != 'X' {
			return true
		}
	}
	return false
}

// procStat reads the state and process group of pid from /proc.
func procStat(pid int) (state byte, pgrp int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// pid (comm) state ppid pgrp ...; comm may contain spaces and parens.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return 0, 0, false
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 3 {
		return 0, 0, false
	}
	pg, err := strconv.Atoi(f[2])
	if err != nil {
		return 0, 0, false
	}
	return f[0][0], pg, true
}

// lookPath resolves argv[0] like a shell would in the child's environment:
// a name with a slash is relative to the workdir, a bare name is searched
// on the child's PATH.
func lookPath(name, dir string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		if !strings.HasPrefix(name, "/") {
			name = dir + "/" + name
		}
		return exec.LookPath(name)
	}
	pathVar := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathVar = v
		}
	}
	for _, d := range strings.Split(pathVar, ":") {
		if d == "" {
			continue
		}
		if p, err := exec.LookPath(d + "/" + name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH (%s)", name, pathVar)
}
