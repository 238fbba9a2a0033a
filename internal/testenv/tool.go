package testenv

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mlship/mlship/internal/gha"
	"testing"
	"time"
)

// ModulePath is the module whose root RepoRoot looks for.
const ModulePath = "github.com/mlship/mlship"

// ToolsDirEnv names the directory of prebuilt tools (`make tools` sets it).
const ToolsDirEnv = "MLSHIP_TOOLS_DIR"

// RepoRoot returns the root of the mlship checkout: the nearest directory at
// or above the working directory whose go.mod declares ModulePath. Nested
// modules (internal/tools/<tool>) are skipped over.
func RepoRoot(t testing.TB) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return root
}

func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the repository root: %w", err)
	}
	for dir := wd; ; {
		if mod, err := modulePath(filepath.Join(dir, "go.mod")); err == nil && mod == ModulePath {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of module %s at or above %s: run the tests from inside the mlship checkout", ModulePath, wd)
		}
		dir = parent
	}
}

// modulePath reads the module directive of a go.mod file.
func modulePath(gomod string) (string, error) {
	f, err := os.Open(gomod)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%s has no module directive", gomod)
}

// Tools lists the tools that Tool can build: one per module under internal/tools.
func Tools(t testing.TB) []string {
	t.Helper()
	return knownTools(RepoRoot(t))
}

func knownTools(root string) []string {
	entries, _ := os.ReadDir(filepath.Join(root, "internal", "tools"))
	var names []string
	for _, e := range entries {
		if e.IsDir() && fileExists(filepath.Join(root, "internal", "tools", e.Name(), "go.mod")) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names
}

// Tool returns the path of the named tool's binary (registry, cosign, act,
// oras or crane), pinned in internal/tools/<name>/go.mod.
//
// It uses $MLSHIP_TOOLS_DIR/<name> when that exists (make test builds every
// tool there first); otherwise it builds the tool into <repo>/.cache/tools
// with internal/tools/build.sh, which does nothing when a build of the same
// pinned version is already there. A file lock serializes builds across the
// test binaries that go test runs in parallel. Under -short, Tool never
// builds: it uses a binary already in .cache/tools, or skips the test.
// A failed build fails the test with the build's output.
func Tool(t testing.TB, name string) string {
	t.Helper()
	if dir := gha.ProcessEnv(ToolsDirEnv); dir != "" { // internal/gha is the one reader of the process environment
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p
		}
	}
	root := RepoRoot(t)
	known := knownTools(root)
	if !slices.Contains(known, name) {
		t.Fatalf("testenv: unknown tool %q: the pinned tools are %s (see internal/tools)", name, strings.Join(known, ", "))
	}
	dir := filepath.Join(root, ".cache", "tools")
	bin := filepath.Join(dir, name)
	if testing.Short() {
		if isExecutable(bin) {
			return bin
		}
		t.Skipf("testenv: %s is not built and -short does not build tools: run `make tools` (or the test without -short)", name)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("testenv: creating the tools directory: %v", err)
	}
	unlock, err := lockFile(filepath.Join(dir, "."+name+".lock"))
	if err != nil {
		t.Fatalf("testenv: locking the build of %s: %v", name, err)
	}
	defer unlock()
	start := time.Now()
	cmd := exec.Command("bash", filepath.Join(root, "internal", "tools", "build.sh"), dir, name)
	cmd.Env = append(os.Environ(), "MLSHIP_TOOLS_LOCK_HELD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("testenv: building %s failed (%v) after %s; output:\n%s\nbuild it by hand with: %s",
			name, err, time.Since(start).Round(time.Millisecond), out,
			"internal/tools/build.sh .cache/tools "+name)
	}
	if !isExecutable(bin) {
		t.Fatalf("testenv: internal/tools/build.sh reported success but %s is missing; output:\n%s", bin, out)
	}
	if d := time.Since(start); d > time.Second {
		t.Logf("testenv: %s", bytes.TrimSpace(out))
	}
	return bin
}

// Command prepares name with args to run in dir ("" for the test's working
// directory). name is a path, a pinned tool (resolved with Tool), or a
// command on $PATH. The command inherits the environment, and is killed when
// the test's context ends. Set Env, Stdin and so on before running it with
// RunCmd or TryCmd.
func Command(t testing.TB, dir, name string, args ...string) *exec.Cmd {
	t.Helper()
	path := name
	switch {
	case strings.ContainsRune(name, filepath.Separator) || strings.ContainsRune(name, '/'):
	case slices.Contains(knownTools(RepoRoot(t)), name):
		path = Tool(t, name)
	default:
		p, err := exec.LookPath(name)
		if err != nil {
			t.Fatalf("testenv: %s is neither a pinned tool nor on $PATH: %v", name, err)
		}
		path = p
	}
	cmd := exec.CommandContext(t.Context(), path, args...)
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Run runs name with args in dir (see Command) and returns its standard
// output. It fails the test, showing the command, its exit status, standard
// error and standard output, when the command fails.
func Run(t testing.TB, dir, name string, args ...string) string {
	t.Helper()
	return RunCmd(t, Command(t, dir, name, args...))
}

// RunCmd runs a prepared command like Run does.
func RunCmd(t testing.TB, cmd *exec.Cmd) string {
	t.Helper()
	stdout, stderr, err := TryCmd(t, cmd)
	if err != nil {
		t.Fatalf("testenv: %s failed: %v\nstderr:\n%s\nstdout:\n%s", commandLine(cmd), err, stderr, stdout)
	}
	return stdout
}

// TryCmd runs a prepared command and returns its standard output, standard
// error and error, without failing the test: for commands that must fail
// (a refused verification), the caller checks err and stderr.
func TryCmd(t testing.TB, cmd *exec.Cmd) (stdout, stderr string, err error) {
	t.Helper()
	if cmd.Stdout != nil || cmd.Stderr != nil {
		t.Fatalf("testenv: %s: leave Stdout and Stderr unset, RunCmd and TryCmd capture them", commandLine(cmd))
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err = cmd.Run()
	t.Logf("$ %s (%s)", commandLine(cmd), time.Since(start).Round(time.Millisecond))
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			err = fmt.Errorf("starting %s: %w", cmd.Path, err)
		}
	}
	return out.String(), errb.String(), err
}

func commandLine(cmd *exec.Cmd) string {
	parts := []string{filepath.Base(cmd.Path)}
	for _, a := range cmd.Args[1:] {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$") {
			a = fmt.Sprintf("%q", a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}
