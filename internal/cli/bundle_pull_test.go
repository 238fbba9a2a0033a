package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/mlship/mlship/internal/testenv"
)

// TestBundlePullVerify: `pull --verify` accepts a model whose only
// signature is a Sigstore bundle (mlship --format bundle; without -short
// also cosign 3's own), through the referrers API or the tag schema, and
// refuses another key without writing anything.
func TestBundlePullVerify(t *testing.T) {
	t.Parallel()
	for regName, referrers := range map[string]bool{"tag schema": false, "referrers API": true} {
		t.Run(regName, func(t *testing.T) {
			t.Parallel()
			host := testenv.InProcessRegistry(t, registry.WithReferrersSupport(referrers))
			dir := t.TempDir()
			env := map[string]string{"COSIGN_PASSWORD": "pw", "MLSHIP_CACHE_DIR": t.TempDir()}
			for _, k := range []string{"good", "other"} {
				if code, _, stderr := mlship(t, env, "keygen", "--output-key-prefix", filepath.Join(dir, k)); code != 0 {
					t.Fatalf("keygen: exit %d: %s", code, stderr)
				}
			}
			model := filepath.Join(dir, "model")
			writeFiles(t, model, map[string]string{"model.safetensors": "weights", "config.json": "{}"})
			if code, _, stderr := mlship(t, env, "push", model, host+"/iris:mlship"); code != 0 {
				t.Fatalf("push: %s", stderr)
			}
			if code, _, stderr := mlship(t, env, "sign", host+"/iris:mlship", "--key", filepath.Join(dir, "good.key"), "--format", "bundle"); code != 0 {
				t.Fatalf("sign --format bundle: %s", stderr)
			}
			tags := []string{"mlship"}
			if !testing.Short() {
				writeFiles(t, model, map[string]string{"README.md": "signed by cosign 3"})
				if code, _, stderr := mlship(t, env, "push", model, host+"/iris:cosign3"); code != 0 {
					t.Fatalf("push: %s", stderr)
				}
				sc := filepath.Join(dir, "signing-config.json")
				if out, err := runCosign(t, "cosign3", "signing-config", "create", "--out", sc); err != nil {
					t.Fatalf("%v\n%s", err, out)
				}
				if out, err := runCosign(t, "cosign3", "sign", "--key", filepath.Join(dir, "good.key"), "--signing-config", sc, host+"/iris:cosign3"); err != nil {
					t.Fatalf("cosign3 sign: %v\n%s", err, out)
				}
				tags = append(tags, "cosign3")
			}
			for _, tag := range tags {
				target := filepath.Join(t.TempDir(), "out", "iris")
				if code, _, stderr := mlship(t, env, "pull", host+"/iris:"+tag, target, "--verify", "--key", filepath.Join(dir, "good.pub")); code != 0 {
					t.Fatalf("pull --verify of %s's bundle: %s", tag, stderr)
				}
				if b, err := os.ReadFile(filepath.Join(target, "model.safetensors")); err != nil || string(b) != "weights" {
					t.Errorf("pulled weights: %q %v", b, err)
				}
				target = filepath.Join(t.TempDir(), "out", "iris")
				code, _, stderr := mlship(t, env, "pull", host+"/iris:"+tag, target, "--verify", "--key", filepath.Join(dir, "other.pub"))
				if code == 0 || !strings.Contains(stderr, "not signed by key") {
					t.Fatalf("pull --verify with another key: exit %d: %s", code, stderr)
				}
				if _, err := os.Stat(filepath.Dir(target)); !os.IsNotExist(err) {
					t.Errorf("a refused pull left %s behind", filepath.Dir(target))
				}
			}
		})
	}
}
