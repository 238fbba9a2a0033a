package oci

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlship/mlship/internal/oci/digestcache"
	"github.com/mlship/mlship/internal/testenv"
)

// TestHintsMergeHintFromAndTag: a cold push (empty digest cache) to a
// tag that holds one file, hinted WithHintFrom by a manifest that holds
// the other, uploads nothing: each source of hints fills the paths the
// other lacks. A file whose bytes differ from both hints is uploaded in
// full.
func TestHintsMergeHintFromAndTag(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the Distribution registry")
	}
	t.Parallel()
	ctx := context.Background()
	host := testenv.StartRegistry(t)
	repo := host + "/acme/hints"
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.safetensors", "weights a, long enough to count")
	write("b.json", `{"config": "b"}`)
	only := func(p string, r Role) Source { return Source{Dir: dir, Files: []File{{Path: p, Role: r}}} }
	both := Source{Dir: dir, Files: []File{{Path: "a.safetensors", Role: RoleWeight}, {Path: "b.json", Role: RoleWeightConfig}}}
	cold := func() Option { return WithCache(digestcache.New(filepath.Join(t.TempDir(), "d.json"))) }
	if _, err := Push(ctx, only("a.safetensors", RoleWeight), repo+":has-a", cold()); err != nil {
		t.Fatal(err)
	}
	if _, err := Push(ctx, only("b.json", RoleWeightConfig), repo+":has-b", cold()); err != nil {
		t.Fatal(err)
	}
	res, err := Push(ctx, both, repo+":has-b", cold(), WithHintFrom(repo+":has-a"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Uploaded != 0 {
		t.Errorf("cold push hinted by both manifests uploaded %d bytes: want 0", res.Uploaded)
	}
	changed := "weights a, changed after the hint was made"
	write("a.safetensors", changed)
	res, err = Push(ctx, both, repo+":has-b", cold(), WithHintFrom(repo+":has-a"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Uploaded != int64(len(changed)) {
		t.Errorf("a file that differs from its hint: uploaded %d bytes, want its %d", res.Uploaded, len(changed))
	}
}
