package cli

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/testenv"
)

// TestLsHidesSupportTags: `mlship ls` lists models, not the tags cosign
// and the referrers tag schema keep signatures, attestations and SBOMs
// under; --all lists them with their kind.
func TestLsHidesSupportTags(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	host := testenv.InProcessRegistry(t)
	model := t.TempDir()
	writeFiles(t, model, map[string]string{"model.safetensors": "weights", "config.json": "{}"})
	env := map[string]string{"MLSHIP_CACHE_DIR": t.TempDir()}
	if code, _, stderr := mlship(t, env, "push", model, host+"/acme/iris:1.0.0"); code != 0 {
		t.Fatalf("push: %s", stderr)
	}
	d, err := oci.Resolve(ctx, host+"/acme/iris:1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	support := "sha256-" + strings.TrimPrefix(d, "sha256:")
	for _, tag := range []string{support + ".sig", support + ".att", support + ".sbom", support, "prod"} {
		if _, err := oci.Tag(ctx, host+"/acme/iris:1.0.0", tag); err != nil {
			t.Fatal(err)
		}
	}
	tags := func(args ...string) []oci.TagInfo {
		t.Helper()
		code, stdout, stderr := mlship(t, env, append([]string{"ls", host + "/acme/iris", "--output", "json"}, args...)...)
		if code != 0 {
			t.Fatalf("ls %v: exit %d: %s", args, code, stderr)
		}
		var out struct {
			Tags []oci.TagInfo `json:"tags"`
		}
		if err := json.Unmarshal([]byte(stdout), &out); err != nil {
			t.Fatalf("ls JSON %q: %v", stdout, err)
		}
		return out.Tags
	}
	names := func(ts []oci.TagInfo) string {
		var n []string
		for _, ti := range ts {
			n = append(n, ti.Tag)
		}
		sort.Strings(n)
		return strings.Join(n, ",")
	}
	if got := names(tags()); got != "1.0.0,prod" {
		t.Errorf("ls lists %s, want only the model tags 1.0.0,prod", got)
	}
	all := tags("--all")
	if got, want := names(all), strings.Join([]string{"1.0.0", "prod", support, support + ".att", support + ".sbom", support + ".sig"}, ","); got != want {
		t.Errorf("ls --all lists %s, want %s", got, want)
	}
	kinds := map[string]string{}
	for _, ti := range all {
		kinds[ti.Tag] = ti.Kind
	}
	if kinds[support+".sig"] != oci.TagKindSignature || kinds[support+".att"] != oci.TagKindAttestation || kinds[support] != oci.TagKindReferrers || kinds["prod"] != "" {
		t.Errorf("ls --all kinds = %v", kinds)
	}

	code, stdout, stderr := mlship(t, env, "ls", host+"/acme/iris")
	if code != 0 || strings.Contains(stdout, support) || !strings.Contains(stdout, "prod") || !strings.Contains(stderr, "--all") {
		t.Errorf("ls (table): exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, stdout, _ = mlship(t, env, "ls", host+"/acme/iris", "--all")
	if code != 0 || !strings.Contains(stdout, support+".sig") || !strings.Contains(stdout, "signature") {
		t.Errorf("ls --all (table): exit %d\n%s", code, stdout)
	}
}
