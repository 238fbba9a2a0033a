package train

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// treeScript starts a grandchild (background sleep) and waits on a child
// sleep, writing every pid it starts into dir.
const treeScript = `%TRAP%
echo $$ > "$1/leader.pid"
sleep 300 &
echo $! > "$1/grandchild.pid"
sh -c 'echo $$ > "$1/nested.pid"; exec sleep 300' nested "$1" &
echo started
wait`

func pidsIn(t *testing.T, dir string) []int {
	t.Helper()
	var pids []int
	for _, name := range []string{"leader.pid", "grandchild.pid", "nested.pid"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("the script did not start fully: %v", err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	return pids
}

// gone reports whether pid no longer runs: kill(pid, 0) fails, or it is a
// zombie waiting to be reaped by PID 1.
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	state, _, ok := procStat(pid)
	return !ok || state == 'Z' || state == 'X'
}

func waitForFile(t *testing.T, path string) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s never appeared", path)
}

func TestRunGroupStopsTree(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		ignoreTERM  bool
		timeout     time.Duration
		cancelAfter bool
		grace       time.Duration
		maxElapsed  time.Duration
	}{
		{name: "cancel", cancelAfter: true, grace: 5 * time.Second, maxElapsed: 4 * time.Second},
		{name: "timeout", timeout: 500 * time.Millisecond, grace: 5 * time.Second, maxElapsed: 4 * time.Second},
		{name: "cancel, TERM ignored: SIGKILL after grace", ignoreTERM: true, cancelAfter: true, grace: 700 * time.Millisecond, maxElapsed: 5 * time.Second},
		{name: "timeout, TERM ignored: SIGKILL after grace", ignoreTERM: true, timeout: 300 * time.Millisecond, grace: 700 * time.Millisecond, maxElapsed: 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			script := strings.Replace(treeScript, "%TRAP%", map[bool]string{true: "trap '' TERM", false: ""}[tt.ignoreTERM], 1)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var log bytes.Buffer
			done := make(chan struct{})
			var p *Process
			var err error
			start := time.Now()
			go func() {
				defer close(done)
				p, err = runGroup(ctx, command{
					Argv: []string{"sh", "-c", script, "tree", dir}, Dir: dir, Env: os.Environ(),
					Timeout: tt.timeout, Grace: tt.grace, Log: &log,
				})
			}()
			waitForFile(t, filepath.Join(dir, "nested.pid"))
			pids := pidsIn(t, dir)
			for _, pid := range pids {
				if gone(pid) {
					t.Fatalf("pid %d is not running before the stop", pid)
				}
			}
			if tt.cancelAfter {
				cancel()
			}
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("runGroup did not return")
			}
			if err != nil {
				t.Fatal(err)
			}
			if el := time.Since(start); el > tt.maxElapsed {
				t.Errorf("took %s, want under %s", el, tt.maxElapsed)
			}
			if tt.ignoreTERM && time.Since(start) < tt.grace {
				t.Errorf("returned before the grace period although TERM was ignored")
			}
			for _, pid := range pids {
				if !gone(pid) {
					t.Errorf("pid %d still runs after %s", pid, tt.name)
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
			if p.Cancelled != tt.cancelAfter || p.TimedOut != (tt.timeout > 0) {
				t.Errorf("cancelled=%v timedOut=%v", p.Cancelled, p.TimedOut)
			}
			want := syscall.SIGTERM.String()
			if tt.ignoreTERM {
				want = syscall.SIGKILL.String()
			}
			if p.Signal != want {
				t.Errorf("signal %q, want %q", p.Signal, want)
			}
			if !strings.Contains(log.String(), "started") {
				t.Errorf("log %q lacks the command's output", log.String())
			}
		})
	}
}

func TestRunGroupExitStatusAndLeftovers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// Exits 3 at once, leaving a grandchild behind in its group.
	script := `sleep 300 & echo $! > "$1/grandchild.pid"; echo bye; exit 3`
	var log bytes.Buffer
	start := time.Now()
	p, err := runGroup(context.Background(), command{Argv: []string{"sh", "-c", script, "x", dir}, Dir: dir, Env: os.Environ(), Grace: 5 * time.Second, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if p.ExitCode != 3 || p.Signal != "" {
		t.Errorf("exit %d signal %q, want 3", p.ExitCode, p.Signal)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "grandchild.pid"))
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid == 0 || !gone(pid) {
		t.Errorf("grandchild %d outlived the command", pid)
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("took %s", time.Since(start))
	}
	if log.String() != "bye\n" {
		t.Errorf("log %q", log.String())
	}
}

func TestRunGroupMissingCommand(t *testing.T) {
	t.Parallel()
	_, err := runGroup(context.Background(), command{Argv: []string{"no-such-trainer-xyz"}, Dir: t.TempDir(), Env: []string{"PATH=/usr/bin:/bin"}})
	if err == nil || !strings.Contains(err.Error(), "no-such-trainer-xyz") {
		t.Fatalf("err %v", err)
	}
}
