package pipeline_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlship/mlship/internal/iostreams"
	"github.com/mlship/mlship/internal/pipeline"
	"github.com/mlship/mlship/internal/sign"
	"github.com/mlship/mlship/internal/testenv"
)

// TestVerifySpecPromotionSigner: a spec with signing.promotion accepts
// promotion records only from that signer, with --spec --env (the
// environment lists "promotion") and with --promoted-to: a record signed
// with the candidates' key (pull-request workflows hold it) is refused.
// --key replaces only the artifact's signer.
func TestVerifySpecPromotionSigner(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Distribution registry")
	}
	t.Parallel()
	ctx := context.Background()
	repo := testenv.StartRegistry(t) + "/acme/iris"
	forged, genuine := pushRandom(t, repo), pushRandom(t, repo)
	artifact, artifactPub := keyPair(t)
	promo, promoPub := keyPair(t)
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	for _, d := range []string{forged, genuine} {
		if _, err := sign.Sign(ctx, repo+"@"+d, artifact); err != nil {
			t.Fatal(err)
		}
	}
	record(t, artifact, repo, forged, "prod", "", 66, []string{"mallory"}, at)
	record(t, promo, repo, genuine, "prod", "", 12, []string{"bob"}, at)
	dir := t.TempDir()
	for src, dst := range map[string]string{artifactPub: "cosign.pub", promoPub: "promotion.pub"} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		mustWriteFile(t, filepath.Join(dir, dst), string(b))
	}
	mustWriteFile(t, filepath.Join(dir, "model.cue"), fmt.Sprintf(`name: "iris"
version: "1.0.0"
registry: repository: %q
environments: {dev: {}, prod: {after: "dev", attestations: ["promotion"]}}
signing: key: "cosign.pub"
signing: promotion: key: "promotion.pub"
`, repo))
	ios, _, _ := iostreams.Test(map[string]string{"MLSHIP_CACHE_DIR": t.TempDir()})
	r := pipeline.NewRun(ios)
	for _, tt := range []struct {
		name string
		pol  pipeline.PolicyRequest
	}{
		{"--spec --env prod", pipeline.PolicyRequest{SpecDir: dir, Env: "prod"}},
		{"--spec --promoted-to prod", pipeline.PolicyRequest{SpecDir: dir, PromotedTo: "prod"}},
		{"--spec --env prod --key", pipeline.PolicyRequest{SpecDir: dir, Env: "prod", Keys: []string{artifactPub}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := pipeline.Verify(ctx, r, pipeline.VerifyRequest{Ref: repo + "@" + forged, Policy: tt.pol}); err == nil || !strings.Contains(err.Error(), "promotion.pub") {
				t.Errorf("a record signed with the candidates' key: %v, want refused naming promotion.pub", err)
			}
			v, err := pipeline.Verify(ctx, r, pipeline.VerifyRequest{Ref: repo + "@" + genuine, Policy: tt.pol})
			if err != nil {
				t.Fatalf("the promotion key's record: %v", err)
			}
			if len(v.Attestations) != 1 || v.Attestations[0].Signer != "key promotion.pub" {
				t.Errorf("attestations = %+v", v.Attestations)
			}
		})
	}
}
