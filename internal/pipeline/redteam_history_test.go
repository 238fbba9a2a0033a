package pipeline_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/mlship/mlship/internal/iostreams"
	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/pipeline"
	"github.com/mlship/mlship/internal/sign"
	"github.com/mlship/mlship/internal/testenv"
)

// TestRedteamHistoryPromotionSigner: with --promotion-key, history marks
// verified only the records the promotion signer made; a record signed
// with the candidates' key (which pull-request workflows hold) is shown,
// unverified.
func TestRedteamHistoryPromotionSigner(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Distribution registry")
	}
	t.Parallel()
	ctx := context.Background()
	repo := testenv.StartRegistry(t) + "/acme/iris"
	forged, genuine := pushRandom(t, repo), pushRandom(t, repo)
	artifact, artifactPub := keyPair(t)
	promo, promoPub := keyPair(t)
	for _, d := range []string{forged, genuine} {
		if _, err := sign.Sign(ctx, repo+"@"+d, artifact); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	record(t, artifact, repo, forged, "prod", "", 66, []string{"mallory"}, at)
	record(t, promo, repo, genuine, "prod", "", 12, []string{"bob"}, at.Add(time.Hour))
	dir := t.TempDir()
	mustWriteFile(t, filepath.Join(dir, "model.cue"), fmt.Sprintf("name: \"iris\"\nversion: \"1.0.0\"\nregistry: repository: %q\nenvironments: {prod: {}}\nsigning: {}\n", repo))
	ios, _, _ := iostreams.Test(map[string]string{"MLSHIP_CACHE_DIR": t.TempDir()})
	// No git history here: history follows the :prod tag to the digest.
	for _, tt := range []struct {
		digest string
		want   bool
	}{{forged, false}, {genuine, true}} {
		if _, err := oci.NewClient().Tag(ctx, repo+"@"+tt.digest, "prod"); err != nil {
			t.Fatal(err)
		}
		res, err := pipeline.History(ctx, pipeline.NewRun(ios), pipeline.HistoryRequest{SpecDir: dir, Environment: "prod", Repository: repo,
			Policy: pipeline.PolicyRequest{Keys: []string{artifactPub}, PromotionKeys: []string{promoPub}}})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range res.Entries {
			if e.Source != pipeline.SourceRecord || e.Digest != tt.digest {
				continue
			}
			n++
			if e.Verified == nil || *e.Verified != tt.want {
				t.Errorf("record PR %d on %s: verified %v, want %v", e.PullRequest, e.Digest, e.Verified, tt.want)
			}
		}
		if n != 1 {
			t.Errorf("%d records of %s shown, want 1: %+v", n, tt.digest, res)
		}
	}
}
