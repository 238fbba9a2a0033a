package testenv

import (
	"os"
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
	py, why := findPython(t.Context(), []string{"mlship_no_such_module"})
	if py != "" {
		t.Fatalf("findPython found %s for a module that does not exist", py)
	}
	if why != "no python3 found" && !strings.Contains(why, "mlship_no_such_module") {
		t.Errorf("why = %q, want the import error", why)
	}
	if why == "no python3 found" {
		t.Skip("no python3 on this machine")
	}
	if py, why := findPython(t.Context(), []string{"json"}); py == "" {
		t.Errorf("no python3 imports json: %s", why)
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
