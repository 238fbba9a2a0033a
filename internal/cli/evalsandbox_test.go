package cli

import (
	"os"
	"testing"
)

// TestMain lets this test binary serve the CUE sandbox: commands run
// in-process here, so the spec loader re-executes the test binary.
func TestMain(m *testing.M) {
	if code, ok := ServeSandbox(os.Args[1:], os.Stdin, os.Stdout); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}
