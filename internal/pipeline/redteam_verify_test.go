package pipeline_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mlship/mlship/internal/iostreams"
	"github.com/mlship/mlship/internal/pipeline"
	"github.com/mlship/mlship/internal/sign"
)

// TestRedteamVerifySummaryEscapesRegistryText: a refusal or a registry
// error carries text the registry chose; in the job summary (Markdown
// with HTML) it must be text, not an image, a link or a heading.
func TestRedteamVerifySummaryEscapesRegistryText(t *testing.T) {
	t.Parallel()
	const evil = `<img src="https://evil.example/p.png"> [approve here](https://evil.example/login)`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"errors":[{"code":"DENIED","message":"` + strings.ReplaceAll(evil, `"`, `\"`) + `"}]}`))
	}))
	defer srv.Close()
	_, pub := keyPairFile(t)
	summary := filepath.Join(t.TempDir(), "summary.md")
	ios, _, _ := iostreams.Test(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary,
		"GITHUB_OUTPUT": filepath.Join(t.TempDir(), "out"), "MLSHIP_CACHE_DIR": t.TempDir()})
	host := strings.TrimPrefix(srv.URL, "http://")
	_, err := pipeline.Verify(context.Background(), pipeline.NewRun(ios), pipeline.VerifyRequest{Ref: host + "/acme/iris@sha256:" + strings.Repeat("a", 64), Policy: pipeline.PolicyRequest{Keys: []string{pub}}})
	if err == nil {
		t.Fatal("verified against a registry that refuses everything")
	}
	b, rerr := os.ReadFile(summary)
	if rerr != nil {
		t.Fatalf("no job summary: %v (error was %v)", rerr, err)
	}
	if !strings.Contains(err.Error(), "evil.example") {
		t.Skipf("the registry's message is not in the error (%v): nothing to escape", err)
	}
	if unescaped := regexp.MustCompile(`(^|[^\\])(<img|\]\(https://evil)`); unescaped.Match(b) {
		t.Errorf("job summary renders the registry's HTML/Markdown:\n%s", b)
	}
}

func keyPairFile(t *testing.T) (priv, pub string) {
	t.Helper()
	sk, pk, err := sign.GenerateKeyPair([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	priv, pub = filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	if err := os.WriteFile(priv, sk, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, pk, 0o644); err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

// TestRedteamPromotedToLookAlikes: --promoted-to takes an environment name
// as the schema spells one; "prod " or "Prod" or a Cyrillic "р" is refused
// before anything is read, never compared loosely with a record's.
func TestRedteamPromotedToLookAlikes(t *testing.T) {
	t.Parallel()
	_, pub := keyPairFile(t)
	ios, _, _ := iostreams.Test(map[string]string{"MLSHIP_CACHE_DIR": t.TempDir()})
	for _, env := range []string{"prod ", " prod", "Prod", "\u0440rod", "prod\u200b", "prod\n", "pro/d", strings.Repeat("p", 64)} {
		if _, err := pipeline.Policy(context.Background(), pipeline.NewRun(ios), pipeline.PolicyRequest{Keys: []string{pub}, PromotedTo: env}); err == nil || !strings.Contains(err.Error(), "not an environment name") {
			t.Errorf("--promoted-to %q: %v", env, err)
		}
	}
}
