package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestServesCUESandbox: the real binary serves the sandbox its spec loader
// re-executes; without it every spec that is not plain data would fail.
func TestServesCUESandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the mlship binary")
	}
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "mlship")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	// multi-file uses a reference, so it is evaluated in the sandbox first.
	out, err := exec.Command(bin, "validate", "../../internal/spec/testdata/valid/multi-file").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok   ../../internal/spec/testdata/valid/multi-file (iris 3.0.0)") {
		t.Errorf("validate through the sandbox: %v\n%s", err, out)
	}
}
