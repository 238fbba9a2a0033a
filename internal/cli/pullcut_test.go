package cli

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlship/mlship/internal/oci/ocitest"
	"github.com/mlship/mlship/internal/testenv"
)

// TestPullCutConnection: a connection cut in the middle of a blob makes
// `mlship pull` — with and without --verify — fail, and leaves the target
// as it was: a truncated file is never a verified model.
func TestPullCutConnection(t *testing.T) {
	t.Parallel()
	host := testenv.InProcessRegistry(t)
	proxy := ocitest.StartCutProxy(t, host, 64<<10)
	dir := t.TempDir()
	env := map[string]string{"COSIGN_PASSWORD": "pw", "MLSHIP_CACHE_DIR": t.TempDir()}
	key := filepath.Join(dir, "keys", "cosign")
	if err := os.MkdirAll(filepath.Dir(key), 0o755); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := mlship(t, env, "keygen", "--output-key-prefix", key); code != 0 {
		t.Fatalf("keygen: %s", stderr)
	}
	model := filepath.Join(dir, "model")
	weights := make([]byte, 512<<10)
	if _, err := rand.Read(weights); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, model, map[string]string{"model.safetensors": string(weights), "config.json": "{}"})
	if code, _, stderr := mlship(t, env, "push", model, host+"/acme/iris:1"); code != 0 {
		t.Fatalf("push: %s", stderr)
	}
	if code, _, stderr := mlship(t, env, "sign", host+"/acme/iris:1", "--key", key+".key"); code != 0 {
		t.Fatalf("sign: %s", stderr)
	}
	verify := []string{"--verify", "--key", key + ".pub"}
	// Without the cut the same pull succeeds: what fails below is the cut.
	if code, _, stderr := mlship(t, env, append([]string{"pull", host + "/acme/iris:1", filepath.Join(t.TempDir(), "ok")}, verify...)...); code != 0 {
		t.Fatalf("pull --verify without a cut: %s", stderr)
	}

	tests := []struct {
		name  string
		extra []string
		force bool
	}{
		{"pull", nil, false},
		{"pull --verify", verify, false},
		{"pull --force over a model", []string{"--force"}, true},
		{"pull --verify --force over a model", append([]string{"--force"}, verify...), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			target := filepath.Join(t.TempDir(), "out", "iris")
			if tt.force {
				writeFiles(t, target, map[string]string{"model.safetensors": "old weights"})
			}
			before := proxy.Cuts()
			code, _, stderr := mlship(t, env, append([]string{"pull", proxy.Host + "/acme/iris:1", target}, tt.extra...)...)
			if code == 0 {
				t.Fatalf("%s through a cut connection exited 0", tt.name)
			}
			t.Logf("exit %d: %s", code, stderr)
			if proxy.Cuts() == before {
				t.Fatal("the proxy cut nothing: the test proves nothing")
			}
			if !tt.force {
				if _, err := os.Stat(filepath.Dir(target)); !os.IsNotExist(err) {
					t.Errorf("a failed pull left %s behind (%v)", filepath.Dir(target), err)
				}
				return
			}
			ents, _ := os.ReadDir(target)
			b, err := os.ReadFile(filepath.Join(target, "model.safetensors"))
			if len(ents) != 1 || err != nil || string(b) != "old weights" {
				t.Errorf("a failed pull changed the target: %d entries, model.safetensors %q (%v)", len(ents), b, err)
			}
		})
	}
}
