package e2e

import (
	"os"
	"testing"

	"github.com/mlship/mlship/internal/spec"
)

// TestMain lets this test binary serve the CUE sandbox: mlship init loads
// the spec it renders, and the spec loader may re-execute the running
// program to evaluate CUE within bounds.
func TestMain(m *testing.M) {
	if code, ok := spec.ServeSandbox(os.Args[1:], os.Stdin, os.Stdout); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}
