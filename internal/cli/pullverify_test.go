package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlship/mlship/internal/testenv"
)

// TestPullVerify drives the deployer's command: pull --verify accepts what
// mlship signed with the matching key and refuses, writing nothing, what
// is unsigned or signed by another key.
func TestPullVerify(t *testing.T) {
	t.Parallel()
	host := testenv.InProcessRegistry(t)
	dir := t.TempDir()
	env := map[string]string{"COSIGN_PASSWORD": "pw", "MLSHIP_CACHE_DIR": t.TempDir()}
	for _, k := range []string{"good", "other"} {
		kd := filepath.Join(dir, k)
		if err := os.MkdirAll(kd, 0o755); err != nil {
			t.Fatal(err)
		}
		if code, _, stderr := mlship(t, env, "keygen", "--output-key-prefix", filepath.Join(kd, "cosign")); code != 0 {
			t.Fatalf("keygen: exit %d: %s", code, stderr)
		}
	}
	model := filepath.Join(dir, "model")
	writeFiles(t, model, map[string]string{"model.safetensors": "weights", "config.json": "{}"})
	push := func(tag string) string {
		code, stdout, stderr := mlship(t, env, "push", model, host+"/iris:"+tag, "--output", "json")
		if code != 0 {
			t.Fatalf("push: %s", stderr)
		}
		return stdout
	}
	push("signed")
	if code, _, stderr := mlship(t, env, "sign", host+"/iris:signed", "--key", filepath.Join(dir, "good", "cosign.key")); code != 0 {
		t.Fatalf("sign: %s", stderr)
	}
	writeFiles(t, model, map[string]string{"README.md": "unsigned variant"})
	push("unsigned")

	tests := []struct {
		name, tag, key string
		wantErr        string
	}{
		{"signed by the trusted key", "signed", "good", ""},
		{"signed by another key", "signed", "other", "signature"},
		{"unsigned", "unsigned", "good", "signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			target := filepath.Join(t.TempDir(), "out", "iris")
			code, _, stderr := mlship(t, env, "pull", host+"/iris:"+tt.tag, target, "--verify", "--key", filepath.Join(dir, tt.key, "cosign.pub"))
			if tt.wantErr == "" {
				if code != 0 {
					t.Fatalf("pull --verify refused a good artifact: %s", stderr)
				}
				if b, err := os.ReadFile(filepath.Join(target, "model.safetensors")); err != nil || string(b) != "weights" {
					t.Errorf("pulled weights: %q %v", b, err)
				}
				return
			}
			if code == 0 {
				t.Fatalf("pull --verify accepted a bad artifact")
			}
			if !strings.Contains(strings.ToLower(stderr), tt.wantErr) {
				t.Errorf("refusal does not say why (want %q): %s", tt.wantErr, stderr)
			}
			if _, err := os.Stat(filepath.Dir(target)); !os.IsNotExist(err) {
				t.Errorf("a refused pull left %s behind (%v)", filepath.Dir(target), err)
			}
		})
	}
	if code, _, stderr := mlship(t, env, "pull", host+"/iris:signed", filepath.Join(t.TempDir(), "x"), "--key", filepath.Join(dir, "good", "cosign.pub")); code != 2 || !strings.Contains(stderr, "--verify") {
		t.Errorf("--key without --verify: exit %d, %s", code, stderr)
	}
}
