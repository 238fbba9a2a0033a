package cli

import (
	"reflect"
	"strings"
	"testing"

	"github.com/mlship/mlship/internal/iostreams"
)

// TestSigningFlags checks flag parsing alone (runF replaces the run).
func TestSigningFlags(t *testing.T) {
	t.Parallel()
	ios, _, _ := iostreams.Test(nil)
	f := NewFactory(ios, "test")
	t.Run("sign", func(t *testing.T) {
		t.Parallel()
		var got *SignOptions
		cmd := NewCmdSign(f, func(o *SignOptions) error { got = o; return nil })
		cmd.SetArgs([]string{"r/x:1", "--key", "env://K", "--tlog-upload", "--rekor-url", "http://rekor"})
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		if got.Ref != "r/x:1" || got.Signer.Key != "env://K" || !got.Signer.TLogUpload || got.Signer.RekorURL != "http://rekor" {
			t.Errorf("parsed %+v", got)
		}
	})
	t.Run("attest", func(t *testing.T) {
		t.Parallel()
		for _, tt := range []struct {
			args []string
			err  string
		}{
			{[]string{"r", "--key", "k", "--eval", "e.json"}, ""},
			{[]string{"r", "--key", "k", "--provenance", "--input", "a=sha256:1", "--input", "b=sha256:2"}, ""},
			{[]string{"r", "--key", "k", "--predicate", "p.json", "--predicate-type", "https://x/v1"}, ""},
			{[]string{"r", "--key", "k"}, "exactly one of"},
			{[]string{"r", "--key", "k", "--predicate", "p.json"}, "needs --predicate-type"},
			{[]string{"r", "--eval", "e.json", "--provenance"}, "exactly one of"},
		} {
			var got *AttestOptions
			cmd := NewCmdAttest(f, func(o *AttestOptions) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			err := cmd.Execute()
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("%v: err = %v, want %q", tt.args, err, tt.err)
				}
				continue
			}
			if err != nil || got == nil {
				t.Errorf("%v: %v", tt.args, err)
			}
		}
	})
	t.Run("verify", func(t *testing.T) {
		t.Parallel()
		var got *VerifyOptions
		cmd := NewCmdVerify(f, func(o *VerifyOptions) error { got = o; return nil })
		cmd.SetArgs([]string{"r@sha256:1", "--key", "a.pub", "--key", "env://B", "--attestation", "eval", "--attestation", "provenance", "--max-age", "720h", "--insecure-ignore-tlog"})
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Policy.Keys, []string{"a.pub", "env://B"}) || !reflect.DeepEqual(got.Policy.Attestations, []string{"eval", "provenance"}) || got.Policy.MaxAge.Hours() != 720 || !got.Policy.InsecureIgnoreTLog {
			t.Errorf("parsed %+v", got.Policy)
		}
	})
	t.Run("help has examples", func(t *testing.T) {
		t.Parallel()
		for _, ex := range []string{NewCmdKeygen(f, nil).Example, NewCmdSign(f, nil).Example, NewCmdAttest(f, nil).Example, NewCmdVerify(f, nil).Example} {
			if !strings.Contains(ex, "mlship ") {
				t.Errorf("example %q does not show mlship", ex)
			}
		}
	})
}
