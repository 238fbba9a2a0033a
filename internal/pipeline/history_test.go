package pipeline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/mlship/mlship/internal/attest"
	"github.com/mlship/mlship/internal/ghapi"
	"github.com/mlship/mlship/internal/githubtest"
	"github.com/mlship/mlship/internal/iostreams"
	"github.com/mlship/mlship/internal/pipeline"
	"github.com/mlship/mlship/internal/sign"
	"github.com/mlship/mlship/internal/testenv"
)

func pushRandom(t *testing.T, repo string) string {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := img.Digest()
	ref, err := name.NewDigest(repo + "@" + h.String())
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	return h.String()
}

func record(t *testing.T, s *sign.Signer, repo, digest, env, prev string, pr int, approvers []string, at time.Time) {
	t.Helper()
	p := attest.Promotion{Environment: env, Repository: repo, Tag: env, Git: attest.PromotionGit{Repository: "acme/iris", MergeCommit: strings.Repeat("c", 40)},
		PullRequest: &attest.PromotionPR{Number: pr, URL: fmt.Sprintf("https://github.com/acme/iris/pull/%d", pr)}, Approvers: approvers,
		Rules: []attest.PromotionRule{{Name: "signature", Outcome: "pass"}, {Name: "approvals", Outcome: "pass", Detail: "1 of 1"}}, PreviousDigest: prev, PromotedAt: at}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Attest(context.Background(), repo+"@"+digest, s, attest.PromotionType, b); err != nil {
		t.Fatal(err)
	}
}

// TestHistoryNamesEverySource: the promotions of prod come from the
// environments file's git history on main (not a branch's), the signed
// promotion records (followed back through previousDigest, and only
// prod's), and the GitHub deployments of prod; each entry names its
// source, and a source that cannot be read says why.
func TestHistoryNamesEverySource(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Distribution registry")
	}
	t.Parallel()
	ctx := context.Background()
	host := testenv.StartRegistry(t)
	repo := host + "/acme/iris"
	v1, v2, v3 := pushRandom(t, repo), pushRandom(t, repo), pushRandom(t, repo)
	s, pub := keyPair(t)
	for _, d := range []string{v1, v2} {
		if _, err := sign.Sign(ctx, repo+"@"+d, s); err != nil {
			t.Fatal(err)
		}
	}
	t1 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	record(t, s, repo, v1, "prod", "", 10, []string{"alice"}, t1)
	record(t, s, repo, v2, "prod", v1, 12, []string{"bob"}, t1.Add(24*time.Hour))
	record(t, s, repo, v2, "staging", v1, 11, []string{"carol"}, t1.Add(12*time.Hour))

	dir := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=Ann", "-c", "user.email=ann@example.com"}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	mustWriteFile(t, filepath.Join(dir, "model.cue"), fmt.Sprintf("name: \"iris\"\nversion: \"1.0.0\"\nregistry: repository: %q\nenvironments: {staging: {}, prod: {after: \"staging\"}}\nsigning: {}\n", repo))
	envs := func(prod string) {
		t.Helper()
		b := fmt.Sprintf(`{"environments": {"prod": {"digest": %q, "version": "1.0.0", "promotedBy": "alice"}}}`, prod)
		mustWriteFile(t, filepath.Join(dir, "mlship", "environments.json"), b)
	}
	git("init", "-q", "-b", "main")
	envs(v1)
	git("add", "-A")
	git("commit", "-q", "-m", "promote v1")
	envs(v2)
	git("commit", "-q", "-am", "promote v2")
	// A branch that never merged: its digest is not history.
	git("checkout", "-q", "-b", "attempt")
	envs(v3)
	git("commit", "-q", "-am", "promote v3 (unmerged)")
	git("checkout", "-q", "main")

	gh := githubtest.New(t)
	env := map[string]string{"GITHUB_TOKEN": gh.Token, "GITHUB_API_URL": strings.TrimSuffix(gh.URL, "/"), "GITHUB_REPOSITORY": "acme/iris", "MLSHIP_CACHE_DIR": t.TempDir()}
	ios, _, _ := iostreams.Test(env)
	r := pipeline.NewRun(ios)
	c, err := r.GitHubClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateDeployment(ctx, "acme", "iris", ghapi.DeploymentRequest{Ref: strings.Repeat("c", 40), Environment: "prod", Payload: map[string]string{"digest": v2, "version": "1.0.0", "previous": v1}}); err != nil {
		t.Fatal(err)
	}

	res, err := pipeline.History(ctx, r, pipeline.HistoryRequest{SpecDir: dir, Environment: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, src := range res.Sources {
		if !src.Read {
			t.Errorf("source %s not read: %s", src.Name, src.Detail)
		}
		count[src.Name] = src.Entries
	}
	if count[pipeline.SourceGit] != 2 || count[pipeline.SourceRecord] != 2 || count[pipeline.SourceDeployment] != 1 {
		t.Errorf("entries per source %v, want git 2, promotion-record 2, deployment 1", count)
	}
	for _, e := range res.Entries {
		if e.Digest == v3 {
			t.Errorf("the unmerged branch's digest is in the history: %+v", e)
		}
		if e.Source == pipeline.SourceRecord {
			switch e.Digest {
			case v2:
				if e.PullRequest != 12 || strings.Join(e.Approvers, ",") != "bob" || e.Previous != v1 || len(e.Rules) != 2 {
					t.Errorf("record of v2: %+v (the staging record must not stand in)", e)
				}
			case v1:
				if e.PullRequest != 10 {
					t.Errorf("record of v1: %+v", e)
				}
			}
		}
		if e.Time == "" {
			t.Errorf("entry without a time: %+v", e)
		}
	}
	for i := 1; i < len(res.Entries); i++ {
		if res.Entries[i].Time > res.Entries[i-1].Time {
			t.Errorf("entries not newest first at %d", i)
		}
	}
	var text strings.Builder
	if err := res.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"git: 2 entries", "promotion-record: 2 entries", "deployment: 1 entries", "#12", "bob"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("history text lacks %q:\n%s", want, text.String())
		}
	}

	// Without GitHub, the deployments source says why; the others still answer.
	ios2, _, _ := iostreams.Test(map[string]string{"MLSHIP_CACHE_DIR": t.TempDir()})
	res, err = pipeline.History(ctx, pipeline.NewRun(ios2), pipeline.HistoryRequest{SpecDir: dir, Environment: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range res.Sources {
		if src.Name == pipeline.SourceDeployment && (src.Read || src.Detail == "") {
			t.Errorf("deployments without a token: %+v", src)
		}
	}
	if res.Verification == "" {
		t.Error("no policy, yet no word that the records are not verified")
	}
	for _, e := range res.Entries {
		if e.Verified != nil {
			t.Errorf("verified set without a policy: %+v", e)
		}
	}

	// With the key, records verify; a record someone else attaches to v2
	// is shown unverified, and v2's genuine record stays verified (each
	// record is matched to the statement that verified).
	evil, _ := keyPair(t)
	record(t, evil, repo, v2, "prod", v1, 99, []string{"mallory"}, t1.Add(48*time.Hour))
	res, err = pipeline.History(ctx, r, pipeline.HistoryRequest{SpecDir: dir, Environment: "prod", Policy: pipeline.PolicyRequest{Keys: []string{pub}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Policy == "" {
		t.Error("no policy named")
	}
	recs := 0
	for _, e := range res.Entries {
		if e.Source != pipeline.SourceRecord {
			continue
		}
		recs++
		if want := e.PullRequest != 99; e.Verified == nil || *e.Verified != want {
			t.Errorf("record PR %d on %s: verified %v, want %v", e.PullRequest, e.Digest, e.Verified, want)
		}
	}
	if recs != 3 {
		t.Errorf("%d records, want 3 (the attacker's is shown, unverified)", recs)
	}
	if _, err := pipeline.History(ctx, r, pipeline.HistoryRequest{SpecDir: dir, Environment: "qa"}); err == nil || !pipeline.IsUsage(err) {
		t.Errorf("unknown environment: %v", err)
	}
}

func mustWriteFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
