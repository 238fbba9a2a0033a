package promote

import (
	"os"
	"testing"

	"github.com/mlship/mlship/internal/spec"
)

// TestMain lets this test binary act as internal/spec's CUE sandbox: plan
// and apply load specs from git through spec's loader, whose default
// evaluator re-executes the running program for anything but plain data.
func TestMain(m *testing.M) {
	if code, ok := spec.ServeSandbox(os.Args[1:], os.Stdin, os.Stdout); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}
