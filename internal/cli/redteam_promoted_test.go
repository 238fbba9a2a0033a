package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/iostreams"
)

// TestRedteamPromotionSignerApart: the key that signs candidates is held
// by pull-request workflows (examples/iris's pr.yml signs with
// COSIGN_PRIVATE_KEY), so anyone who can push a branch can sign a
// promotion record with it and move :prod by hand. A deployer must be able
// to say that only the promotion signer's records count:
// --promotion-key K accepts the signature by --key as before, and a
// promotion record only if K signed it.
func TestRedteamPromotionSignerApart(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("keygen, push, sign and attest through the cli")
	}
	pf := newPromotionFixture(t)
	// promoted: signed by good, dev record by good (a PR workflow's forgery).
	// foreign: signed by good, dev record by other (the promotion key).
	for _, tt := range []struct {
		name, model string
		args        []string
		code        int
		want        string
	}{
		{"record by the candidates' key", "promoted", []string{"--promotion-key", pf.pub("other")}, 1, "no promotion record for dev"},
		{"record by the promotion key", "foreign", []string{"--promotion-key", pf.pub("other")}, 0, "attestation: promotion by key"},
		{"without --promotion-key, as before", "promoted", nil, 0, "attestation: promotion by key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"verify", pf.ref(tt.model), "--key", pf.pub("good"), "--promoted-to", "dev"}, tt.args...)
			code, stdout, stderr := mlship(t, pf.env, args...)
			if code != tt.code || !strings.Contains(stdout+stderr, tt.want) {
				t.Fatalf("%s: exit %d (want %d), want %q in:\n%s%s", strings.Join(args, " "), code, tt.code, tt.want, stdout, stderr)
			}
			if tt.code != 0 {
				target := filepath.Join(t.TempDir(), "m")
				pargs := append([]string{"pull", pf.ref(tt.model), target, "--verify", "--key", pf.pub("good"), "--promoted-to", "dev"}, tt.args...)
				if code, _, stderr := mlship(t, pf.env, pargs...); code != 1 || !strings.Contains(stderr, tt.want) {
					t.Errorf("pull: exit %d: %s", code, stderr)
				}
			}
		})
	}
	if code, _, stderr := mlship(t, pf.env, "verify", pf.ref("foreign"), "--key", pf.pub("good"), "--promotion-key", pf.pub("other")); code != 2 || !strings.Contains(stderr, "--promoted-to") {
		t.Errorf("--promotion-key without a promotion rule: exit %d: %s", code, stderr)
	}
}

// TestRedteamPromotionSignerFlags: the flags reach the policy request.
func TestRedteamPromotionSignerFlags(t *testing.T) {
	t.Parallel()
	ios, _, _ := iostreams.Test(nil)
	f := NewFactory(ios, "test")
	var pol PolicyFlags
	pol.Keys, pol.PromotedTo = []string{"k.pub"}, "prod"
	pol.PromotionKeys, pol.PromotionIdentity, pol.PromotionIssuer = []string{"p.pub", "q.pub"}, "https://github.com/acme/iris/.github/workflows/main.yml@refs/heads/main", "https://issuer"
	args := []string{"--key", "k.pub", "--promoted-to", "prod", "--promotion-key", "p.pub", "--promotion-key", "q.pub",
		"--promotion-identity", "https://github.com/acme/iris/.github/workflows/main.yml@refs/heads/main", "--promotion-oidc-issuer", "https://issuer"}
	runFlagCases(t, ios.ErrOut, []flagCase{
		{"verify --promotion-key", func(c func(any)) *cobra.Command {
			return NewCmdVerify(f, func(o *VerifyOptions) error { c(o.Policy); return nil })
		}, append([]string{"r@sha256:1"}, args...), pol, ""},
		{"pull --promotion-key", func(c func(any)) *cobra.Command {
			return NewCmdPull(f, func(o *PullOptions) error { c(o.Policy); return nil })
		}, append([]string{"r:prod", "dir", "--verify"}, args...), pol, ""},
	})
}
