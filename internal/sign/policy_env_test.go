package sign

import (
	"os"
	"path/filepath"
	"testing"
)

// TestTrustFromEnvReadsOnlyWhatItIsGiven: trust material comes from the
// run context passed in (getenv), never from the process environment; a
// nil getenv reads nothing.
func TestTrustFromEnvReadsOnlyWhatItIsGiven(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "missing-root.pem")
	t.Setenv("SIGSTORE_ROOT_FILE", bad)
	tr, err := TrustFromEnv(nil)
	if err != nil || tr != nil {
		t.Fatalf("TrustFromEnv(nil) = %v, %v: it read the process environment", tr, err)
	}
	if _, err := TrustFromEnv(func(k string) string {
		if k == "SIGSTORE_ROOT_FILE" {
			return bad
		}
		return ""
	}); err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Fatalf("err = %v, want the missing root file named", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}
