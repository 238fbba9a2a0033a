package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/mlship/mlship/internal/testenv"
)

// runCosign runs the real cosign ("cosign" v2.6.5, "cosign3" v3.1.3) with
// an isolated home and the key password.
func runCosign(t *testing.T, tool string, args ...string) (string, error) {
	t.Helper()
	cmd := testenv.Command(t, "", testenv.Tool(t, tool), args...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "TUF_ROOT="+filepath.Join(home, "tuf"), "COSIGN_PASSWORD=pw", "COSIGN_YES=true")
	stdout, stderr, err := testenv.TryCmd(t, cmd)
	return stdout + stderr, err
}

// TestBundleCosignCommands is the command contract with today's cosign:
// `mlship verify REF --key K --attestation TYPE_URI` accepts what `cosign
// attest` v3 wrote (a bundle referrer), and what `mlship sign`/`attest`
// write by default is accepted by `cosign verify`/`verify-attestation`
// v3 with its defaults (v2.6.5 too, given the trusted root it would
// otherwise fetch from the public TUF repository).
func TestBundleCosignCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("runs cosign v2 and v3 and the Distribution registry")
	}
	t.Parallel()
	for regName, host := range map[string]string{
		"distribution":  testenv.StartRegistry(t),
		"referrers API": testenv.InProcessRegistry(t, registry.WithReferrersSupport(true)),
	} {
		t.Run(regName, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			env := map[string]string{"COSIGN_PASSWORD": "pw"}
			for _, p := range []string{"cosign", "other"} {
				if code, _, errOut := mlship(t, env, "keygen", "--output-key-prefix", filepath.Join(dir, p)); code != 0 {
					t.Fatalf("keygen: exit %d: %s", code, errOut)
				}
			}
			key, pub, otherPub := filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub"), filepath.Join(dir, "other.pub")
			const typ = "https://example.com/model-card/v1"
			card := writeFile(t, filepath.Join(dir, "card.json"), `{"intendedUse":"iris species","owner":"acme"}`)
			sc := filepath.Join(dir, "signing-config.json")
			if out, err := runCosign(t, "cosign3", "signing-config", "create", "--out", sc); err != nil {
				t.Fatalf("cosign signing-config create: %v\n%s", err, out)
			}

			// cosign 3 signs and attests with its defaults; mlship verifies.
			d := pushImage(t, host+"/acme/iris:cosign3")
			for _, args := range [][]string{
				{"sign", "--key", key, "--signing-config", sc, d.String()},
				{"attest", "--key", key, "--signing-config", sc, "--type", typ, "--predicate", card, d.String()},
			} {
				if out, err := runCosign(t, "cosign3", args...); err != nil {
					t.Fatalf("cosign3 %v: %v\n%s", args, err, out)
				}
			}
			for _, tt := range []struct {
				name string
				args []string
				code int
				want string
			}{
				{"attestation by URI", []string{"verify", d.String(), "--key", pub, "--attestation", typ}, 0, "attestation: " + typ + " by key " + pub},
				{"another key", []string{"verify", d.String(), "--key", otherPub, "--attestation", typ}, 1, "not signed by key " + otherPub},
				{"missing type", []string{"verify", d.String(), "--key", pub, "--attestation", "https://example.com/none/v1"}, 1, "no https://example.com/none/v1 attestation"},
			} {
				code, out, errOut := mlship(t, env, tt.args...)
				if code != tt.code || !strings.Contains(out+errOut, tt.want) {
					t.Errorf("%s: exit %d, want %d with %q:\n%s%s", tt.name, code, tt.code, tt.want, out, errOut)
				}
			}

			// mlship signs and attests with its defaults; cosign verifies.
			m := pushImage(t, host+"/acme/iris:mlship")
			for _, args := range [][]string{{"sign", m.String(), "--key", key}, {"attest", m.String(), "--key", key, "--predicate-type", typ, "--predicate", card}} {
				if code, _, errOut := mlship(t, env, args...); code != 0 {
					t.Fatalf("mlship %v: exit %d: %s", args, code, errOut)
				}
			}
			root := filepath.Join(dir, "trusted_root.json")
			writeFile(t, root, `{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`)
			for _, c := range []struct{ tool, root string }{{"cosign3", ""}, {"cosign", root}} {
				extra := []string{"--insecure-ignore-tlog"}
				if c.root != "" {
					extra = append(extra, "--trusted-root", c.root)
				}
				for _, cmd := range [][]string{{"verify"}, {"verify-attestation", "--type", typ}} {
					for _, k := range []string{pub, otherPub} {
						args := append(append(append(cmd, "--key", k), extra...), m.String())
						out, err := runCosign(t, c.tool, args...)
						if ok := err == nil; ok != (k == pub) {
							t.Errorf("%s %v: accepted=%v, want %v\n%s", c.tool, args, ok, k == pub, out)
						}
					}
				}
			}
		})
	}
}
