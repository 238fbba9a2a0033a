package sign

import (
	"strings"
	"testing"
)

// TestReadKeyRefReadsOnlyTheGivenEnvironment: env://VAR is read through
// the getenv it is given (the run context), never the process's own
// environment behind the caller's back.
func TestReadKeyRefReadsOnlyTheGivenEnvironment(t *testing.T) {
	t.Setenv("MLSHIP_TEST_KEY_REF", "from the process")
	if b, err := ReadKeyRef("env://MLSHIP_TEST_KEY_REF", nil); err == nil {
		t.Fatalf("nil getenv read the process environment: %q", b)
	} else if !strings.Contains(err.Error(), "MLSHIP_TEST_KEY_REF") {
		t.Errorf("error does not name the variable: %v", err)
	}
	b, err := ReadKeyRef("env://K", func(k string) string { return map[string]string{"K": "pem"}[k] })
	if err != nil || string(b) != "pem" {
		t.Errorf("given getenv: %q %v", b, err)
	}
}
