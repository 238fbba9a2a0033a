package oci

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlship/mlship/internal/oci/digestcache"
	"github.com/mlship/mlship/internal/testenv"
)

// These tests run against the CNCF Distribution registry and the real
// oras, crane and skopeo clients.

func run(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestDistributionPushPullMount(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the Distribution registry")
	}
	t.Parallel()
	ctx := context.Background()
	host := testenv.StartRegistry(t)
	dir := writeModel(t, 5<<20+3)
	cache := digestcache.New(filepath.Join(t.TempDir(), "d.json"))

	res, err := Push(ctx, modelSource(dir), host+"/acme/tiny:1.2.3", WithCache(cache))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "pulled")
	if _, err := Pull(ctx, res.Ref, out); err != nil {
		t.Fatal(err)
	}
	sameTree(t, dir, out)

	// Same bytes to another repository: mounted, not uploaded.
	res2, err := Push(ctx, modelSource(dir), host+"/other/tiny:1.2.3", WithCache(cache))
	if err != nil {
		t.Fatal(err)
	}
	if res2.Digest != res.Digest || res2.Uploaded != 0 {
		t.Errorf("push to a second repository: digest %s (want %s), uploaded %d bytes (want 0: mounted)", res2.Digest, res.Digest, res2.Uploaded)
	}
	// The GHCR-style monolithic path without a cache.
	res3, err := Push(ctx, modelSource(dir), host+"/mono/tiny:1", WithMonolithic(true))
	if err != nil {
		t.Fatal(err)
	}
	if res3.Digest != res.Digest {
		t.Errorf("monolithic push gave %s, streamed %s", res3.Digest, res.Digest)
	}
	tags, err := List(ctx, host+"/acme/tiny")
	if err != nil || len(tags) != 1 || tags[0].Version != "1.2.3" {
		t.Errorf("List = %+v, %v", tags, err)
	}
}

func TestInteropClientsReadMlship(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs oras, crane and the Distribution registry")
	}
	t.Parallel()
	ctx := context.Background()
	host := testenv.StartRegistry(t)
	dir := writeModel(t, 1<<20)
	src := modelSource(dir)
	src.Files = []File{{Path: "model.safetensors", Role: RoleWeight}, {Path: "config.json", Role: RoleWeightConfig}, {Path: "README.md", Role: RoleDoc}}
	res, err := Push(ctx, src, host+"/acme/interop:v1")
	if err != nil {
		t.Fatal(err)
	}

	crane := testenv.Tool(t, "crane")
	raw := run(t, "", crane, "manifest", "--insecure", host+"/acme/interop:v1")
	if got := sha256Hash([]byte(raw)).String(); got != res.Digest {
		t.Errorf("crane manifest digest %s, want %s", got, res.Digest)
	}
	var m Manifest
	if err := json.Unmarshal([]byte(raw), &m); err != nil || m.ArtifactType != ArtifactType {
		t.Errorf("crane read artifactType %q (%v)", m.ArtifactType, err)
	}
	if d := strings.TrimSpace(run(t, "", crane, "digest", "--insecure", host+"/acme/interop:v1")); d != res.Digest {
		t.Errorf("crane digest = %s", d)
	}

	oras := testenv.Tool(t, "oras")
	out := t.TempDir()
	run(t, out, oras, "pull", "--plain-http", host+"/acme/interop:v1")
	// oras writes layers named by their title annotation, which every
	// layer carries (CRI-O's image volumes name files by it too).
	for _, l := range res.Layers {
		if l.Annotations[AnnotationTitle] != l.Annotations[AnnotationFilepath] {
			t.Errorf("layer %s: title %q", l.Annotations[AnnotationFilepath], l.Annotations[AnnotationTitle])
		}
		if got := fileDigest(t, filepath.Join(out, l.Annotations[AnnotationFilepath])); got != l.Digest {
			t.Errorf("oras pull wrote %s with digest %s, want %s", l.Annotations[AnnotationFilepath], got, l.Digest)
		}
	}
	for _, l := range res.Layers {
		p := filepath.Join(out, "blob")
		run(t, out, oras, "blob", "fetch", "--plain-http", "--output", p, host+"/acme/interop@"+l.Digest)
		if got := fileDigest(t, p); got != l.Digest {
			t.Errorf("oras blob fetch %s: got %s", l.Annotations[AnnotationFilepath], got)
		}
		os.Remove(p)
	}

	if skopeo, err := exec.LookPath("skopeo"); err == nil {
		js := run(t, "", skopeo, "inspect", "--raw", "--tls-verify=false", "docker://"+host+"/acme/interop:v1")
		if sha256Hash([]byte(js)).String() != res.Digest {
			t.Errorf("skopeo inspect --raw returned another manifest")
		}
	} else {
		t.Log("skopeo not installed: crane and oras only")
	}
}

func TestMlshipPullsOrasPush(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs oras and the Distribution registry")
	}
	t.Parallel()
	ctx := context.Background()
	host := testenv.StartRegistry(t)
	oras := testenv.Tool(t, "oras")
	dir := writeModel(t, 256<<10)
	cfg := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(cfg, []byte(`{"descriptor":{"name":"tiny"},"modelfs":{"type":"layers","diffIds":[]},"config":{}}`), 0o644)
	ann := filepath.Join(t.TempDir(), "ann.json")
	os.WriteFile(ann, []byte(`{
  "model.safetensors": {"org.cncf.model.filepath": "model.safetensors"},
  "config.json": {"org.cncf.model.filepath": "config.json"},
  "$manifest": {"org.opencontainers.image.version": "9.9.9"}
}`), 0o644)
	run(t, dir, oras, "push", "--plain-http",
		"--artifact-type", ArtifactType,
		"--config", cfg+":"+ConfigMediaType,
		"--annotation-file", ann,
		host+"/oras/tiny:v1",
		"model.safetensors:"+LayerMediaType(RoleWeight, FormatRaw),
		"config.json:"+LayerMediaType(RoleWeightConfig, FormatRaw),
		// The older cnai media type, with only oras's title annotation.
		"README.md:application/vnd.cnai.model.doc.v1.raw",
	)
	out := filepath.Join(t.TempDir(), "m")
	res, err := Pull(ctx, host+"/oras/tiny:v1", out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Annotations[AnnotationVersion] != "9.9.9" || len(res.Files) != 3 {
		t.Errorf("pull result %+v", res)
	}
	sameTree(t, dir, out, "model.safetensors", "config.json", "README.md")
}
