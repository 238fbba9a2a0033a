package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mlship/mlship/internal/gha"
)

// PythonSkipLog is the file, under <repo>/.cache, that Python appends one
// line to for every test it skips, so that `make test` can say how many
// tests did not run for want of a Python package (go test prints skips only
// with -v).
const PythonSkipLog = "python-skips.log"

// PythonRunToken is the file, under <repo>/.cache, that `make test` writes
// afresh before each run. Python reads it so that go test's result cache
// keys every test that calls Python on it: a cached skip would otherwise
// be replayed without being recorded, and make test would count too few.
const PythonRunToken = "python-run"

// debianPackages maps the Python modules the examples import to the Debian
// packages that provide them (the ones CI installs; DESIGN.md pins
// python3-sklearn 1.2 and python3-torch 1.13).
var debianPackages = map[string]string{
	"sklearn": "python3-sklearn",
	"joblib":  "python3-joblib",
	"numpy":   "python3-numpy",
	"scipy":   "python3-scipy",
	"pandas":  "python3-pandas",
	"torch":   "python3-torch",
}

// Python returns the path of a python3 interpreter that imports every one
// of modules (sklearn, joblib, numpy, scipy, pandas, torch). It tries
// python3 on PATH, then Debian's /usr/bin/python3 (PATH often starts with a
// pyenv or venv interpreter that has none of Debian's packages). When none
// has them and the test runs as root with apt-get (as CI does), it installs
// the Debian packages with apt-get and tries again; otherwise, or under
// -short, it skips the test naming the packages to install, and records
// the skip in <repo>/.cache/python-skips.log.
func Python(t testing.TB, modules ...string) string {
	t.Helper()
	e := pythonEnv{root: os.Geteuid() == 0, short: testing.Short()}
	if p, err := exec.LookPath("python3"); err == nil {
		e.candidates = append(e.candidates, p)
	}
	e.candidates = append(e.candidates, "/usr/bin/python3")
	if _, err := exec.LookPath("apt-get"); err == nil {
		e.aptGet = true
	}
	if root, err := repoRoot(); err == nil {
		e.cacheDir = filepath.Join(root, ".cache")
		_, _ = os.ReadFile(filepath.Join(e.cacheDir, PythonRunToken)) // read for go test's cache key only
	}
	return e.python(t, modules)
}

// pythonEnv is what Python decides with: the interpreters to try, whether
// apt-get may install, and where skips are recorded.
type pythonEnv struct {
	candidates []string
	root       bool // apt-get can install
	aptGet     bool // apt-get is on PATH
	short      bool // -short: never install
	cacheDir   string
}

func (e pythonEnv) python(t testing.TB, modules []string) string {
	t.Helper()
	pkgs, err := packagesFor(modules)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if py, _ := findPython(t.Context(), e.candidates, modules); py != "" {
		return py
	}
	reason := ""
	switch {
	case e.short:
		reason = "-short does not install packages"
	case !e.root:
		reason = "not running as root, so apt-get cannot install them"
	case !e.aptGet:
		reason = "apt-get is not on PATH (not a Debian system)"
	default:
		out, err := aptInstall(t, pkgs)
		if err != nil {
			t.Fatalf("testenv: apt-get install %s failed: %v\n%s", strings.Join(pkgs, " "), err, out)
		}
		py, why := findPython(t.Context(), e.candidates, modules)
		if py != "" {
			return py
		}
		t.Fatalf("testenv: apt-get installed %s, but no python3 imports %s: %s", strings.Join(pkgs, " "), strings.Join(modules, ", "), why)
	}
	msg := fmt.Sprintf("testenv: needs python3 with %s (Debian: apt-get install %s): %s", strings.Join(modules, ", "), strings.Join(pkgs, " "), reason)
	if e.cacheDir != "" {
		recordSkip(t, e.cacheDir, msg)
	}
	t.Skipf("%s", msg)
	return ""
}

// PythonPATH returns a PATH value whose first directory holds `python3`
// (and `python`) linked to Python(t, modules...), followed by the process's
// PATH: for commands that run `python3` by name, as the examples' specs do.
func PythonPATH(t testing.TB, modules ...string) string {
	t.Helper()
	py := Python(t, modules...)
	dir := t.TempDir()
	for _, n := range []string{"python3", "python"} {
		if err := os.Symlink(py, filepath.Join(dir, n)); err != nil {
			t.Fatalf("testenv: linking %s: %v", py, err)
		}
	}
	return dir + string(os.PathListSeparator) + gha.ProcessEnv("PATH") // internal/gha is the one reader of the process environment
}

func packagesFor(modules []string) ([]string, error) {
	if len(modules) == 0 {
		return nil, errors.New("Python needs at least one module to check")
	}
	var pkgs []string
	for _, m := range modules {
		p, ok := debianPackages[m]
		if !ok {
			known := make([]string, 0, len(debianPackages))
			for k := range debianPackages {
				known = append(known, k)
			}
			slices.Sort(known)
			return nil, fmt.Errorf("unknown Python module %q: known are %s (add its Debian package to debianPackages)", m, strings.Join(known, ", "))
		}
		if !slices.Contains(pkgs, p) {
			pkgs = append(pkgs, p)
		}
	}
	return pkgs, nil
}

// findPython returns the first of candidates that imports modules, or ""
// and why none did.
func findPython(ctx context.Context, candidates, modules []string) (string, string) {
	var why []string
	seen := map[string]bool{}
	for _, c := range candidates {
		real, err := filepath.EvalSymlinks(c)
		if err != nil || seen[real] {
			continue
		}
		seen[real] = true
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		out, err := exec.CommandContext(ctx, c, "-c", "import "+strings.Join(modules, ", ")).CombinedOutput()
		cancel()
		if err == nil {
			return c, ""
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		why = append(why, fmt.Sprintf("%s: %s", c, lines[len(lines)-1]))
	}
	if len(why) == 0 {
		return "", "no python3 found"
	}
	return "", strings.Join(why, "; ")
}

// aptInstall installs pkgs with apt-get, one install at a time across test
// binaries; it runs apt-get update first only when the package lists lack
// them (a fresh machine).
func aptInstall(t testing.TB, pkgs []string) ([]byte, error) {
	t.Helper()
	dir := filepath.Join(RepoRoot(t), ".cache")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockFile(filepath.Join(dir, ".apt.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	install := func() ([]byte, error) {
		args := append([]string{"-o", "DPkg::Lock::Timeout=600", "install", "-y", "--no-install-recommends"}, pkgs...)
		cmd := exec.CommandContext(t.Context(), "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return cmd.CombinedOutput()
	}
	start := time.Now()
	out, err := install()
	if err != nil && strings.Contains(string(out), "Unable to locate package") {
		upd, uerr := exec.CommandContext(t.Context(), "apt-get", "-o", "DPkg::Lock::Timeout=600", "update").CombinedOutput()
		if uerr != nil {
			return append(out, upd...), fmt.Errorf("apt-get update: %w", uerr)
		}
		out, err = install()
	}
	t.Logf("testenv: apt-get install %s (%s)", strings.Join(pkgs, " "), time.Since(start).Round(time.Second))
	return out, err
}

// recordSkip appends msg, with the test's name, to dir/PythonSkipLog. A
// failure to write it is logged, never fatal: the skip itself says what is
// missing.
func recordSkip(t testing.TB, dir, msg string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("testenv: not recording the skip: %v", err)
		return
	}
	f, err := os.OpenFile(filepath.Join(dir, PythonSkipLog), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Logf("testenv: not recording the skip: %v", err)
		return
	}
	defer f.Close()
	// One write per line: O_APPEND keeps lines from parallel test binaries whole.
	if _, err := f.WriteString(t.Name() + ": " + strings.ReplaceAll(msg, "\n", " ") + "\n"); err != nil {
		t.Logf("testenv: not recording the skip: %v", err)
	}
}
