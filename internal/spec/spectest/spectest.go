// Package spectest holds what tests of packages that load specs need: a
// TestMain that lets the test binary serve the CUE sandbox.
package spectest

import (
	"os"
	"testing"

	"github.com/mlship/mlship/internal/spec"
)

// Main is a TestMain for packages that load CUE specs: the spec loader may
// re-execute the running program (here, the test binary) to evaluate CUE
// within its time and memory bounds, so the binary must serve that role
// before it runs the tests.
func Main(m *testing.M) {
	if code, ok := spec.ServeSandbox(os.Args[1:], os.Stdin, os.Stdout); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}
