package pipeline_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mlship/mlship/internal/iostreams"
	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/pipeline"
	"github.com/mlship/mlship/internal/sign"
	"github.com/mlship/mlship/internal/testenv"
)

// TestHistoryMarksEachRecordByItsOwnSignature: a forged record attached
// beside the genuine one on the same digest is shown unverified, and the
// genuine one stays verified (each record is matched to the statement
// that verified, not counted).
func TestHistoryMarksEachRecordByItsOwnSignature(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Distribution registry")
	}
	t.Parallel()
	ctx := context.Background()
	repo := testenv.StartRegistry(t) + "/acme/iris"
	d := pushRandom(t, repo)
	artifact, artifactPub := keyPair(t)
	mallory, _ := keyPair(t)
	if _, err := sign.Sign(ctx, repo+"@"+d, artifact); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	record(t, artifact, repo, d, "prod", "", 12, []string{"bob"}, at)
	record(t, mallory, repo, d, "prod", "", 66, []string{"mallory"}, at.Add(time.Hour))
	if _, err := oci.NewClient().Tag(ctx, repo+"@"+d, "prod"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mustWriteFile(t, filepath.Join(dir, "model.cue"), fmt.Sprintf("name: \"iris\"\nversion: \"1.0.0\"\nregistry: repository: %q\nenvironments: {prod: {}}\nsigning: {}\n", repo))
	ios, _, _ := iostreams.Test(map[string]string{"MLSHIP_CACHE_DIR": t.TempDir()})
	res, err := pipeline.History(ctx, pipeline.NewRun(ios), pipeline.HistoryRequest{SpecDir: dir, Environment: "prod", Repository: repo,
		Policy: pipeline.PolicyRequest{Keys: []string{artifactPub}}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]bool{12: true, 66: false}
	for _, e := range res.Entries {
		if e.Source != pipeline.SourceRecord {
			continue
		}
		w, ok := want[e.PullRequest]
		if !ok {
			t.Errorf("unexpected record %+v", e)
			continue
		}
		delete(want, e.PullRequest)
		if e.Verified == nil || *e.Verified != w {
			t.Errorf("record PR %d: verified %v, want %v", e.PullRequest, e.Verified, w)
		}
	}
	if len(want) > 0 {
		t.Errorf("records not shown: %v", want)
	}
}

// TestHistorySpecPromotionSigner: with signing.promotion in the spec,
// history marks verified only the promotion key's records; one signed
// with the candidates' key is shown unverified.
func TestHistorySpecPromotionSigner(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Distribution registry")
	}
	t.Parallel()
	ctx := context.Background()
	repo := testenv.StartRegistry(t) + "/acme/iris"
	d := pushRandom(t, repo)
	artifact, artifactPub := keyPair(t)
	promo, promoPub := keyPair(t)
	if _, err := sign.Sign(ctx, repo+"@"+d, artifact); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	record(t, promo, repo, d, "prod", "", 12, []string{"bob"}, at)
	record(t, artifact, repo, d, "prod", "", 66, []string{"mallory"}, at.Add(time.Hour))
	if _, err := oci.NewClient().Tag(ctx, repo+"@"+d, "prod"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for src, dst := range map[string]string{artifactPub: "cosign.pub", promoPub: "promotion.pub"} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		mustWriteFile(t, filepath.Join(dir, dst), string(b))
	}
	mustWriteFile(t, filepath.Join(dir, "model.cue"), fmt.Sprintf("name: \"iris\"\nversion: \"1.0.0\"\nregistry: repository: %q\nenvironments: {prod: {}}\nsigning: key: \"cosign.pub\"\nsigning: promotion: key: \"promotion.pub\"\n", repo))
	ios, _, _ := iostreams.Test(map[string]string{"MLSHIP_CACHE_DIR": t.TempDir()})
	res, err := pipeline.History(ctx, pipeline.NewRun(ios), pipeline.HistoryRequest{SpecDir: dir, Environment: "prod", Repository: repo})
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, e := range res.Entries {
		if e.Source != pipeline.SourceRecord {
			continue
		}
		seen++
		if want := e.PullRequest == 12; e.Verified == nil || *e.Verified != want {
			t.Errorf("record PR %d: verified %v, want %v (%s)", e.PullRequest, e.Verified, want, res.Verification)
		}
	}
	if seen != 2 {
		t.Errorf("%d records shown, want 2: %+v", seen, res)
	}
}
