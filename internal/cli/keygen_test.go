package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestKeygenRefusesTrackedKey: inside a git work tree, keygen writes a
// private key only where git ignores it (or with --force); the refusal says
// how to fix it and writes nothing. Outside a repository it writes as ever.
func TestKeygenRefusesTrackedKey(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	env := map[string]string{"COSIGN_PASSWORD": "test"}
	tests := []struct {
		name      string
		git       bool
		gitignore string
		prefix    string // relative to the temp dir
		force     bool
		wantErr   []string // empty: written
	}{
		{"tracked in a repository", true, "", "cosign", false, []string{"refusing to write the private key", "cosign.key", ".gitignore", "outside the repository", "env://", "--force"}},
		{"tracked in a subdirectory", true, "", "keys/release", false, []string{"keys/release.key", ".gitignore"}},
		{"negated ignore", true, "*.key\n!cosign.key\n", "cosign", false, []string{"refusing to write the private key"}},
		{"ignored by .gitignore", true, "cosign.key\n", "cosign", false, nil},
		{"ignored by a pattern", true, "*.key\n", "keys/release", false, nil},
		{"forced", true, "", "cosign", true, nil},
		{"outside a repository", false, "", "cosign", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if tt.git {
				gitIsolated(t, dir, "init", "-q")
			}
			if tt.gitignore != "" {
				writeFile(t, filepath.Join(dir, ".gitignore"), tt.gitignore)
			}
			prefix := filepath.Join(dir, filepath.FromSlash(tt.prefix))
			args := []string{"keygen", "--output-key-prefix", prefix}
			if tt.force {
				args = append(args, "--force")
			}
			code, _, stderr := mlship(t, env, args...)
			_, keyErr := os.Stat(prefix + ".key")
			if len(tt.wantErr) == 0 {
				if code != 0 || keyErr != nil {
					t.Fatalf("keygen: exit %d (%v): %s", code, keyErr, stderr)
				}
				return
			}
			if code == 0 {
				t.Fatalf("keygen wrote a private key git would track: exit 0")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(stderr, w) {
					t.Errorf("the refusal does not say %q:\n%s", w, stderr)
				}
			}
			if keyErr == nil {
				t.Errorf("a refused keygen left %s.key behind", prefix)
			}
			if _, err := os.Stat(prefix + ".pub"); err == nil {
				t.Errorf("a refused keygen left %s.pub behind", prefix)
			}
		})
	}
}
