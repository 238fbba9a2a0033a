package lineage_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlship/mlship/internal/train/lineage"
)

func TestCanonicalAndDigest(t *testing.T) {
	t.Parallel()
	a := lineage.Inputs{Train: "t", Datasets: map[string]string{"b": "2", "a": "1"}, Code: "c", Hyperparameters: map[string]any{"lr": 0.1, "epochs": int64(200)}, Seed: 7}
	b := lineage.Inputs{Seed: 7, Code: "c", Train: "t", Hyperparameters: map[string]any{"epochs": 200.0, "lr": 0.1}, Datasets: map[string]string{"a": "1", "b": "2"}}
	da, err := a.Digest()
	if err != nil {
		t.Fatal(err)
	}
	db, _ := b.Digest()
	if da != db {
		t.Errorf("equal inputs, digests %s %s", da, db)
	}
	c, _ := lineage.Canonical(a)
	want := `{"code":"c","datasets":{"a":"1","b":"2"},"hyperparameters":{"epochs":200,"lr":0.1},"seed":7,"train":"t"}`
	if string(c) != want {
		t.Errorf("canonical\n%s\nwant\n%s", c, want)
	}
	b.Seed = 8
	if d, _ := b.Digest(); d == da {
		t.Error("another seed, same digest")
	}
}

func TestInputTag(t *testing.T) {
	t.Parallel()
	tag, err := lineage.InputTag("sha256:" + strings.Repeat("0123456789abcdef", 4))
	if err != nil || tag != "input-0123456789ab" {
		t.Errorf("%q %v", tag, err)
	}
	for _, bad := range []string{"", "sha256:abc", "sha512:" + strings.Repeat("a", 64), strings.Repeat("a", 64)} {
		if _, err := lineage.InputTag(bad); err == nil {
			t.Errorf("InputTag(%q) accepted", bad)
		}
	}
}

func TestRecordRoundTrip(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "out", "run.json")
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	r := &lineage.Record{SchemaVersion: lineage.SchemaVersion, InputDigest: "sha256:x", Status: "succeeded", Start: now, End: now.Add(time.Minute),
		Metrics: &lineage.Metrics{Final: map[string]float64{"accuracy": 0.9}}}
	if err := r.Write(path); err != nil {
		t.Fatal(err)
	}
	got, err := lineage.Read(path)
	if err != nil || got.InputDigest != "sha256:x" || got.Metrics.Final["accuracy"] != 0.9 || !got.End.Equal(now.Add(time.Minute)) {
		t.Errorf("%+v %v", got, err)
	}
	os.WriteFile(path, []byte(`{"schemaVersion":"other"}`), 0o644)
	if _, err := lineage.Read(path); err == nil || !strings.Contains(err.Error(), "schemaVersion") {
		t.Errorf("foreign record: %v", err)
	}
}

func TestTreeAndPathDigest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.txt"), "a")
	write(t, filepath.Join(dir, "sub", "b.txt"), "b")
	d1, err := lineage.PathDigest(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Same content elsewhere: same digest (paths are relative).
	dir2 := t.TempDir()
	write(t, filepath.Join(dir2, "sub", "b.txt"), "b")
	write(t, filepath.Join(dir2, "a.txt"), "a")
	if d2, _ := lineage.PathDigest(dir2); d2 != d1 {
		t.Error("same tree, other digest")
	}
	os.Rename(filepath.Join(dir2, "a.txt"), filepath.Join(dir2, "c.txt"))
	if d3, _ := lineage.PathDigest(dir2); d3 == d1 {
		t.Error("renaming a file kept the digest")
	}
	f, _ := lineage.FileDigest(filepath.Join(dir, "a.txt"))
	if f != "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb" {
		t.Errorf("sha256 of a: %s", f)
	}
}

func TestSourceFilesInGit(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	dir := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.email=t@example.com", "-c", "user.name=t"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	write(t, filepath.Join(dir, ".gitignore"), "/model/\n*.log\n")
	write(t, filepath.Join(dir, "train.py"), "print(1)\n")
	write(t, filepath.Join(dir, "model", "w.bin"), "w")
	write(t, filepath.Join(dir, "train.log"), "log")
	git("add", ".")
	git("commit", "-q", "-m", "init")
	write(t, filepath.Join(dir, "new.py"), "new\n")
	ctx := context.Background()
	files, err := lineage.SourceFiles(ctx, dir, func(rel string) bool { return rel == ".gitignore" })
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(files, ","); got != "train.py,new.py" && got != "new.py,train.py" {
		t.Errorf("source files %s, want tracked + untracked, not ignored", got)
	}
	g := lineage.GitState(ctx, dir)
	if g == nil || len(g.Commit) != 40 || !g.Dirty {
		t.Errorf("git state %+v", g)
	}
	os.Remove(filepath.Join(dir, "new.py"))
	if g := lineage.GitState(ctx, dir); g.Dirty {
		t.Error("clean tree reported dirty")
	}
	if lineage.GitState(ctx, t.TempDir()) != nil {
		t.Error("git state outside a repository")
	}
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
