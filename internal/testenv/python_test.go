package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestPackagesFor(t *testing.T) {
	t.Parallel()
	got, err := packagesFor([]string{"sklearn", "joblib", "sklearn", "torch"})
	if err != nil || strings.Join(got, " ") != "python3-sklearn python3-joblib python3-torch" {
		t.Errorf("packagesFor = %v, %v; want each Debian package once, in order", got, err)
	}
	if _, err := packagesFor([]string{"tensorflow"}); err == nil || !strings.Contains(err.Error(), `unknown Python module "tensorflow"`) || !strings.Contains(err.Error(), "sklearn") {
		t.Errorf("unknown module: %v, want it named with the known ones", err)
	}
	if _, err := packagesFor(nil); err == nil {
		t.Error("no module accepted")
	}
}

// TestFindPython: an interpreter that cannot import a module is passed
// over, with the reason; where a python3 has the standard library's json,
// it is found.
func TestFindPython(t *testing.T) {
	t.Parallel()
	candidates := []string{"/usr/bin/python3"}
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append([]string{p}, candidates...)
	}
	py, why := findPython(t.Context(), candidates, []string{"mlship_no_such_module"})
	if py != "" {
		t.Fatalf("findPython found %s for a module that does not exist", py)
	}
	if why != "no python3 found" && !strings.Contains(why, "mlship_no_such_module") {
		t.Errorf("why = %q, want the import error", why)
	}
	if why == "no python3 found" {
		t.Skip("no python3 on this machine")
	}
	if py, why := findPython(t.Context(), candidates, []string{"json"}); py == "" {
		t.Errorf("no python3 imports json: %s", why)
	}
}

// TestPythonSkips: where no interpreter has the packages and apt-get may
// not install them, the test is skipped naming the Debian packages and
// why, and the skip is recorded for make test's count; an interpreter
// that has them is returned. No apt-get runs here.
func TestPythonSkips(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "python-without")
	if err := os.WriteFile(missing, []byte("#!/bin/sh\necho \"ModuleNotFoundError: No module named 'sklearn'\" >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	present := filepath.Join(dir, "python-with")
	if err := os.WriteFile(present, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  pythonEnv
		want string // in the skip message; "" when present is returned
	}{
		{"not root", pythonEnv{candidates: []string{missing}, aptGet: true}, "not running as root"},
		{"no apt-get", pythonEnv{candidates: []string{missing}, root: true}, "apt-get is not on PATH"},
		{"short", pythonEnv{candidates: []string{missing}, root: true, aptGet: true, short: true}, "-short does not install"},
		{"second candidate has them", pythonEnv{candidates: []string{missing, present}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.env.cacheDir = t.TempDir()
			var got string
			f := capture(t, func(tb testing.TB) { got = tt.env.python(tb, []string{"sklearn", "joblib"}) })
			log, _ := os.ReadFile(filepath.Join(tt.env.cacheDir, PythonSkipLog))
			if tt.want == "" {
				if got != present || f.skipped != "" || f.fatal != "" || len(log) != 0 {
					t.Errorf("got %q (skipped %q, fatal %q, log %q), want %s", got, f.skipped, f.fatal, log, present)
				}
				return
			}
			for _, w := range []string{"python3 with sklearn, joblib", "apt-get install python3-sklearn python3-joblib", tt.want} {
				if !strings.Contains(f.skipped, w) {
					t.Errorf("skip message %q does not say %q (fatal %q)", f.skipped, w, f.fatal)
				}
			}
			if n := strings.Count(string(log), "\n"); n != 1 || !strings.Contains(string(log), tt.want) {
				t.Errorf("skip log %q: want one line saying %q", log, tt.want)
			}
		})
	}
}

// TestRecordSkip: each skip is one whole line naming the test, which make
// test counts.
func TestRecordSkip(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "cache")
	recordSkip(t, dir, "needs python3 with torch\n(Debian: python3-torch)")
	recordSkip(t, dir, "again")
	b, err := os.ReadFile(filepath.Join(dir, PythonSkipLog))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], t.Name()+": needs python3 with torch (Debian") {
		t.Errorf("skip log:\n%s\nwant two lines, each starting with the test's name", b)
	}
}
