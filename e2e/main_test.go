package e2e

import (
	"testing"

	"github.com/mlship/mlship/internal/spec/spectest"
)

// TestMain serves the CUE sandbox (see spectest.Main): these tests load specs.
func TestMain(m *testing.M) { spectest.Main(m) }
