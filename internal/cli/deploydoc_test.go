package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mlship/mlship/internal/testenv"
)

// TestDeployDocInitContainer runs the init-container command of
// docs/deploy.md, as written there, against a registry holding a signed
// model, and checks the Kubernetes manifest passes the same arguments.
func TestDeployDocInitContainer(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/deploy.md")
	if err != nil {
		t.Fatal(err)
	}
	cmdLine := regexp.MustCompile(`(?m)^mlship (pull \S+ \S+ --verify --key \S+)$`).FindSubmatch(doc)
	if cmdLine == nil {
		t.Fatal("docs/deploy.md has no `mlship pull REF DIR --verify --key PUB` line")
	}
	args := strings.Fields(string(cmdLine[1]))
	// The manifest's init container must run the very same command.
	var yamlArgs []string
	if m := regexp.MustCompile(`(?s)args:\n((?:\s+- [^\n]+\n)+)`).FindSubmatch(doc); m != nil {
		for _, l := range strings.Split(strings.TrimSpace(string(m[1])), "\n") {
			yamlArgs = append(yamlArgs, strings.TrimPrefix(strings.TrimSpace(l), "- "))
		}
	}
	if strings.Join(yamlArgs, " ") != strings.Join(args, " ") {
		t.Errorf("init container args %q differ from the documented command %q", yamlArgs, args)
	}

	host := testenv.InProcessRegistry(t)
	dir := t.TempDir()
	env := map[string]string{"COSIGN_PASSWORD": "pw", "MLSHIP_CACHE_DIR": t.TempDir()}
	if code, _, stderr := mlship(t, env, "keygen", "--output-key-prefix", filepath.Join(dir, "cosign")); code != 0 {
		t.Fatalf("keygen: %s", stderr)
	}
	model := filepath.Join(dir, "model")
	writeFiles(t, model, map[string]string{"model.safetensors": "weights", "config.json": "{}"})
	ref := host + "/acme/iris:prod"
	if code, _, stderr := mlship(t, env, "push", model, ref); code != 0 {
		t.Fatalf("push: %s", stderr)
	}
	if code, _, stderr := mlship(t, env, "sign", ref, "--key", filepath.Join(dir, "cosign.key")); code != 0 {
		t.Fatalf("sign: %s", stderr)
	}
	target := filepath.Join(dir, "models", "iris")
	replace := strings.NewReplacer("ghcr.io/acme/iris:prod", ref, "/models/iris", target, "/etc/mlship/cosign.pub", filepath.Join(dir, "cosign.pub"))
	for i := range args {
		args[i] = replace.Replace(args[i])
	}
	if code, _, stderr := mlship(t, env, args...); code != 0 {
		t.Fatalf("the documented command failed: mlship %s: %s", strings.Join(args, " "), stderr)
	}
	if b, err := os.ReadFile(filepath.Join(target, "model.safetensors")); err != nil || string(b) != "weights" {
		t.Errorf("model not in place: %q %v", b, err)
	}
}
