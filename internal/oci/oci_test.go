package oci

import (
	"archive/tar"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/mlship/mlship/internal/oci/digestcache"
	"github.com/mlship/mlship/internal/testenv"
)

func TestPushPullRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	host := testenv.InProcessRegistry(t)
	dir := writeModel(t, 3<<20+17)
	cache := digestcache.New("")

	res, err := Push(ctx, modelSource(dir), host+"/acme/tiny:1.2.3", WithCache(cache))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Digest, "sha256:") || res.Ref != host+"/acme/tiny@"+res.Digest || res.Tag != host+"/acme/tiny:1.2.3" {
		t.Fatalf("result = %+v", res)
	}

	a, err := Inspect(ctx, host+"/acme/tiny:1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	m := a.Manifest
	if m.ArtifactType != ArtifactType || m.Config.MediaType != ConfigMediaType {
		t.Errorf("artifactType %q config %q", m.ArtifactType, m.Config.MediaType)
	}
	wantTypes := []string{
		"application/vnd.cncf.model.weight.v1.raw",
		"application/vnd.cncf.model.weight.config.v1.raw",
		"application/vnd.cncf.model.weight.config.v1.tar+gzip",
		"application/vnd.cncf.model.doc.v1.raw",
	}
	if len(m.Layers) != len(wantTypes) {
		t.Fatalf("%d layers, want %d", len(m.Layers), len(wantTypes))
	}
	for i, l := range m.Layers {
		if l.MediaType != wantTypes[i] {
			t.Errorf("layer %d media type %q, want %q", i, l.MediaType, wantTypes[i])
		}
		if l.Annotations[AnnotationFilepath] == "" {
			t.Errorf("layer %d has no filepath annotation", i)
		}
	}
	if got, want := m.Layers[0].Digest, fileDigest(t, filepath.Join(dir, "model.safetensors")); got != want {
		t.Errorf("raw weight layer digest %s, want the file's %s", got, want)
	}
	if a.Config == nil || a.Config.ModelFS.Type != "layers" || len(a.Config.ModelFS.DiffIDs) != 4 {
		t.Fatalf("config = %+v", a.Config)
	}
	if string(a.Config.ModelFS.DiffIDs[2]) == m.Layers[2].Digest {
		t.Error("diffID of a gzip layer equals its compressed digest")
	}
	if m.Annotations[AnnotationVersion] != "1.2.3" || m.Annotations[AnnotationCreated] != "1970-01-01T00:00:00Z" {
		t.Errorf("annotations = %v", m.Annotations)
	}

	out := filepath.Join(t.TempDir(), "pulled")
	pr, err := Pull(ctx, host+"/acme/tiny:1.2.3", out)
	if err != nil {
		t.Fatal(err)
	}
	if pr.Digest != res.Digest {
		t.Errorf("pulled %s, pushed %s", pr.Digest, res.Digest)
	}
	sameTree(t, dir, out)

	// Re-push: every blob is in the cache and in the registry.
	res2, err := Push(ctx, modelSource(dir), host+"/acme/tiny:1.2.3", WithCache(cache))
	if err != nil {
		t.Fatal(err)
	}
	if res2.Digest != res.Digest || res2.Uploaded != 0 {
		t.Errorf("re-push: digest %s (was %s), uploaded %d bytes", res2.Digest, res.Digest, res2.Uploaded)
	}
}

func TestPushReproducible(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := writeModel(t, 4096)
	l1 := "oci:" + filepath.Join(t.TempDir(), "a")
	l2 := "oci:" + filepath.Join(t.TempDir(), "b")
	created := WithCreated(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	r1, err := Push(ctx, modelSource(dir), l1, created)
	if err != nil {
		t.Fatal(err)
	}
	// Newer mtimes and a different cache must not change anything.
	future := time.Now().Add(time.Hour)
	filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Chtimes(p, future, future) })
	r2, err := Push(ctx, modelSource(dir), l2, created, WithCache(digestcache.New("")))
	if err != nil {
		t.Fatal(err)
	}
	if r1.Digest != r2.Digest {
		t.Errorf("same inputs gave %s and %s", r1.Digest, r2.Digest)
	}
	r3, err := Push(ctx, modelSource(dir), l2+":other", WithCreated(time.Unix(1, 0)))
	if err != nil {
		t.Fatal(err)
	}
	if r3.Digest == r1.Digest {
		t.Error("a different creation time gave the same digest")
	}
}

func TestLayoutRoundTripAndTags(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := writeModel(t, 1<<20)
	lay := filepath.Join(t.TempDir(), "layout")
	res, err := Push(ctx, modelSource(dir), "oci:"+lay+":1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(lay, "oci-layout")); err != nil {
		t.Fatalf("no oci-layout file: %v", err)
	}
	if _, err := Tag(ctx, "oci:"+lay+":1.2.3", "prod"); err != nil {
		t.Fatal(err)
	}
	d, err := Resolve(ctx, "oci:"+lay+":prod")
	if err != nil || d != res.Digest {
		t.Fatalf("Resolve(prod) = %s, %v; want %s", d, err, res.Digest)
	}
	tags, err := List(ctx, "oci:"+lay)
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) != 2 || tags[0].Tag != "1.2.3" || tags[1].Tag != "prod" || tags[1].Version != "1.2.3" || tags[1].Digest != res.Digest {
		t.Errorf("tags = %+v", tags)
	}
	out := filepath.Join(t.TempDir(), "m")
	if _, err := Pull(ctx, "oci:"+lay+"@"+res.Digest, out, WithRoles(RoleWeight)); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(out)
	if len(ents) != 1 || ents[0].Name() != "model.safetensors" {
		t.Errorf("filtered pull wrote %v", ents)
	}
}

func TestRegistryTagListResolve(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	host := testenv.InProcessRegistry(t)
	dir := writeModel(t, 1024)
	res, err := Push(ctx, modelSource(dir), host+"/acme/m:1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Tag(ctx, res.Ref, "staging")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Tag != host+"/acme/m:staging" {
		t.Errorf("tag result %+v", tr)
	}
	d, err := Resolve(ctx, host+"/acme/m:staging")
	if err != nil || d != res.Digest {
		t.Errorf("Resolve = %s, %v", d, err)
	}
	tags, err := List(ctx, host+"/acme/m")
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) != 2 || tags[1].Tag != "staging" || tags[1].Version != "1.2.3" || !tags[1].Model {
		t.Errorf("tags = %+v", tags)
	}
}

func TestPullVerifierRunsFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	host := testenv.InProcessRegistry(t)
	res, err := Push(ctx, modelSource(writeModel(t, 1024)), host+"/acme/v:1")
	if err != nil {
		t.Fatal(err)
	}
	var got name.Digest
	deny := errors.New("unsigned")
	out := filepath.Join(t.TempDir(), "m")
	_, err = Pull(ctx, host+"/acme/v:1", out, WithVerifier(func(_ context.Context, d name.Digest) error {
		got = d
		return deny
	}))
	if !errors.Is(err, deny) {
		t.Fatalf("err = %v, want the verifier's", err)
	}
	if got.DigestStr() != res.Digest {
		t.Errorf("verifier saw %v, want %s", got, res.Digest)
	}
	assertAbsent(t, out)
	if _, err := Pull(ctx, host+"/acme/v:1", out, WithVerifier(func(context.Context, name.Digest) error { return nil })); err != nil {
		t.Fatal(err)
	}
}

func TestPullRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	host := testenv.InProcessRegistry(t)
	tarMT := LayerMediaType(RoleCode, FormatTar)
	cases := []struct {
		name   string
		art    string
		layers []rawLayer
	}{
		{"absolute filepath", ArtifactType, []rawLayer{{LayerMediaType(RoleWeight, FormatRaw), "/etc/passwd", []byte("x")}}},
		{"dotdot filepath", ArtifactType, []rawLayer{{LayerMediaType(RoleWeight, FormatRaw), "a/../../x", []byte("x")}}},
		{"no filepath", ArtifactType, []rawLayer{{LayerMediaType(RoleWeight, FormatRaw), "", []byte("x")}}},
		{"unknown media type", ArtifactType, []rawLayer{{"application/x-evil", "x", []byte("x")}}},
		{"not a model", "application/vnd.example+json", nil},
		{"tar dotdot", ArtifactType, []rawLayer{{tarMT, "code", makeTar(t, []tarEntry{{name: "../escape", typ: tar.TypeReg, body: "x"}})}}},
		{"tar absolute", ArtifactType, []rawLayer{{tarMT, "code", makeTar(t, []tarEntry{{name: "/tmp/escape", typ: tar.TypeReg, body: "x"}})}}},
		{"symlink escaping", ArtifactType, []rawLayer{{tarMT, "code", makeTar(t, []tarEntry{{name: "code/l", link: "../../etc", typ: tar.TypeSymlink}})}}},
		{"symlink absolute", ArtifactType, []rawLayer{{tarMT, "code", makeTar(t, []tarEntry{{name: "code/l", link: "/etc/passwd", typ: tar.TypeSymlink}})}}},
		{"symlink dotdot inside", ArtifactType, []rawLayer{{tarMT, "code", makeTar(t, []tarEntry{{name: "code/l", link: "s/../../x", typ: tar.TypeSymlink}})}}},
		{"write through symlink", ArtifactType, []rawLayer{{tarMT, "code", makeTar(t, []tarEntry{{name: "code/l", link: ".", typ: tar.TypeSymlink}, {name: "code/l/f", typ: tar.TypeReg, body: "x"}})}}},
		{"hardlink escaping", ArtifactType, []rawLayer{{tarMT, "code", makeTar(t, []tarEntry{{name: "code/h", link: "../../etc/passwd", typ: tar.TypeLink}})}}},
		{"hardlink to nothing", ArtifactType, []rawLayer{{tarMT, "code", makeTar(t, []tarEntry{{name: "code/h", link: "code/missing", typ: tar.TypeLink}})}}},
		{"device", ArtifactType, []rawLayer{{tarMT, "code", makeTar(t, []tarEntry{{name: "code/dev", typ: tar.TypeChar}})}}},
		{"not a tar", ArtifactType, []rawLayer{{LayerMediaType(RoleCode, FormatTarGzip), "code", []byte("plain text")}}},
		{"duplicate path", ArtifactType, []rawLayer{{LayerMediaType(RoleDoc, FormatRaw), "a", []byte("1")}, {LayerMediaType(RoleDoc, FormatRaw), "a", []byte("2")}}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ref := pushRawArtifact(t, host, "evil/r"+string(rune('a'+i)), tc.art, append([]rawLayer{{LayerMediaType(RoleDoc, FormatRaw), "ok.md", []byte("fine")}}, tc.layers...))
			base := t.TempDir()
			out := filepath.Join(base, "new", "parents", "target")
			_, err := Pull(ctx, ref, out)
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("Pull = %v, want a refusal", err)
			}
			if ents, _ := os.ReadDir(base); len(ents) != 0 {
				t.Errorf("refused pull left %v in %s", ents, base)
			}
		})
	}
}

func TestPullDigestMismatchLeavesTargetAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := writeModel(t, 64<<10)
	lay := filepath.Join(t.TempDir(), "layout")
	res, err := Push(ctx, modelSource(dir), "oci:"+lay)
	if err != nil {
		t.Fatal(err)
	}
	// Tamper with the weights blob in place.
	d := res.Layers[0].Digest
	blob := filepath.Join(lay, "blobs", "sha256", strings.TrimPrefix(d, "sha256:"))
	b, _ := os.ReadFile(blob)
	b[100] ^= 0xff
	if err := os.WriteFile(blob, b, 0o644); err != nil {
		t.Fatal(err)
	}
	// The target exists (empty) beforehand: it must stay as it was.
	out := filepath.Join(t.TempDir(), "target")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = Pull(ctx, "oci:"+lay, out)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "does not match its digest") {
		t.Fatalf("Pull = %v", err)
	}
	ents, _ := os.ReadDir(out)
	if len(ents) != 0 {
		t.Errorf("target was written: %v", ents)
	}
	parent, _ := os.ReadDir(filepath.Dir(out))
	if len(parent) != 1 {
		t.Errorf("leftovers beside the target: %v", parent)
	}
}

func TestPullRefusesNonEmptyTarget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	lay := "oci:" + filepath.Join(t.TempDir(), "layout")
	if _, err := Push(ctx, modelSource(writeModel(t, 10)), lay); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	keep := filepath.Join(out, "keep")
	os.WriteFile(keep, []byte("mine"), 0o644)
	if _, err := Pull(ctx, lay, out); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("Pull into a non-empty dir = %v", err)
	}
	if b, _ := os.ReadFile(keep); string(b) != "mine" {
		t.Error("existing file was touched")
	}
	if _, err := Pull(ctx, lay, out, WithForce(true)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(keep); !os.IsNotExist(err) {
		t.Error("--force kept the old contents")
	}
}

func TestPushErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := writeModel(t, 10)
	cases := []struct {
		name string
		src  Source
		ref  string
		want string
	}{
		{"missing file", Source{Dir: dir, Files: []File{{Path: "nope.bin", Role: RoleWeight}}}, "oci:" + t.TempDir(), "nope.bin"},
		{"escaping path", Source{Dir: dir, Files: []File{{Path: "../x", Role: RoleWeight}}}, "oci:" + t.TempDir(), "leaves its root"},
		{"bad role", Source{Dir: dir, Files: []File{{Path: "README.md", Role: "weights-ish"}}}, "oci:" + t.TempDir(), "unknown role"},
		{"bad compression", Source{Dir: dir, Files: []File{{Path: "README.md", Role: RoleDoc, Compress: "lz4"}}}, "oci:" + t.TempDir(), "unknown compression"},
		{"no host", modelSource(dir), "acme/tiny:1", "no registry host"},
		{"duplicate", Source{Dir: dir, Files: []File{{Path: "README.md", Role: RoleDoc}, {Path: "./README.md", Role: RoleDoc}}}, "oci:" + t.TempDir(), "listed twice"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Push(ctx, tc.src, tc.ref)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Push = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestSourceFromDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, f := range []string{"model.safetensors", "config.json", "tokenizer.json", "generation_config.json", "README.md", "LICENSE", "infer.py", ".hidden", "extra.npz", "data/train.csv"} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
		os.WriteFile(filepath.Join(dir, f), []byte(f), 0o644)
	}
	src, err := SourceFromDir(dir, []RoleRule{{Pattern: "*.npz", Role: RoleDataset}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Role{}
	for _, f := range src.Files {
		got[f.Path] = f.Role
	}
	want := map[string]Role{
		"model.safetensors": RoleWeight, "config.json": RoleWeightConfig, "tokenizer.json": RoleWeightConfig,
		"generation_config.json": RoleWeightConfig, "README.md": RoleDoc, "LICENSE": RoleDoc, "infer.py": RoleCode,
		"extra.npz": RoleDataset, "data/train.csv": RoleDataset,
	}
	if len(got) != len(want) {
		t.Errorf("files = %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: role %q, want %q", k, got[k], v)
		}
	}
	os.WriteFile(filepath.Join(dir, "mystery.xyz"), nil, 0o644)
	if _, err := SourceFromDir(dir, nil); err == nil || !strings.Contains(err.Error(), "mystery.xyz") || !strings.Contains(err.Error(), "--role") {
		t.Errorf("unknown file error = %v", err)
	}
}

func TestParseTargets(t *testing.T) {
	t.Parallel()
	o := makeOptions(nil)
	cases := []struct {
		in, want string
		layout   bool
		wantErr  bool
	}{
		{in: "ghcr.io/acme/iris:1.0.0", want: "ghcr.io/acme/iris:1.0.0"},
		{in: "localhost:5000/iris", want: "localhost:5000/iris:latest"},
		{in: "oci:/tmp/x", want: "oci:/tmp/x:latest", layout: true},
		{in: "oci:/tmp/x:v1", want: "oci:/tmp/x:v1", layout: true},
		{in: "oci:rel/dir@sha256:" + strings.Repeat("a", 64), want: "oci:rel/dir@sha256:" + strings.Repeat("a", 64), layout: true},
		{in: "oci:", wantErr: true},
		{in: "iris:1", wantErr: true},
		{in: "ghcr.io/Acme/iris", wantErr: true},
	}
	for _, tc := range cases {
		got, err := parseTarget(tc.in, o)
		if (err != nil) != tc.wantErr {
			t.Errorf("parseTarget(%q) err = %v", tc.in, err)
			continue
		}
		if err == nil && (got.String() != tc.want || got.isLayout() != tc.layout) {
			t.Errorf("parseTarget(%q) = %q (layout %v), want %q", tc.in, got, got.isLayout(), tc.want)
		}
	}
	for host, want := range map[string]bool{"localhost:5000": true, "127.0.0.1:1": true, "127.5.6.7": true, "[::1]:5000": true, "10.0.0.1:5000": false, "ghcr.io": false, "localhost.evil.com": false} {
		if IsLoopback(host) != want {
			t.Errorf("IsLoopback(%q) = %v", host, !want)
		}
	}
	// Private addresses get HTTPS unless plain HTTP is asked for.
	ref, _ := parseRef("10.1.2.3:5000/m:1", o)
	if ref.Context().Scheme() != "http" {
		t.Skip("go-containerregistry changed its RFC 1918 rule")
	}
	g := schemeGuard{inner: roundTripFunc(func(r *http.Request) (*http.Response, error) { return nil, errors.New(r.URL.Scheme) })}
	req, _ := http.NewRequest(http.MethodGet, "http://10.1.2.3:5000/v2/", nil)
	if _, err := g.RoundTrip(req); err == nil || err.Error() != "https" {
		t.Errorf("guard sent %v", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestMediaTypes(t *testing.T) {
	t.Parallel()
	for _, r := range roles {
		for _, f := range []Format{FormatRaw, FormatTar, FormatTarGzip, FormatTarZstd} {
			mt := LayerMediaType(r, f)
			gr, gf, ok := ParseLayerMediaType(mt)
			if !ok || gr != r || gf != f {
				t.Errorf("round trip of %s = %s %s %v", mt, gr, gf, ok)
			}
			legacy := strings.Replace(mt, ".cncf.", ".cnai.", 1)
			if gr, _, ok := ParseLayerMediaType(legacy); !ok || gr != r {
				t.Errorf("legacy %s not read", legacy)
			}
		}
	}
	if LayerMediaType(RoleWeightConfig, FormatRaw) != "application/vnd.cncf.model.weight.config.v1.raw" {
		t.Error("weight-config media type")
	}
	for _, bad := range []string{"application/vnd.cncf.model.weight.v1.tar+lz4", "application/octet-stream", "application/vnd.cncf.model.evil.v1.raw"} {
		if _, _, ok := ParseLayerMediaType(bad); ok {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestGitHubKeychain(t *testing.T) {
	t.Parallel()
	kc := GitHubKeychain(GitHubToken{Token: "tok", Actor: "octo", InActions: true})
	ghcr, _ := name.NewRepository("ghcr.io/acme/m")
	other, _ := name.NewRepository("docker.io/acme/m")
	a, err := kc.Resolve(ghcr)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := a.Authorization()
	if cfg.Username != "octo" || cfg.Password != "tok" {
		t.Errorf("ghcr.io auth = %+v", cfg)
	}
	if a, _ := kc.Resolve(other); a != authn.Anonymous {
		t.Errorf("workflow token offered to %s", other)
	}
	outside := GitHubKeychain(GitHubToken{Token: "tok"})
	if a, _ := outside.Resolve(ghcr); a != authn.Anonymous {
		t.Error("workflow token used outside Actions")
	}
}

func TestCreatedTime(t *testing.T) {
	t.Parallel()
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "SOURCE_DATE_EPOCH" {
				return v
			}
			return ""
		}
	}
	commit := time.Unix(1600000000, 0)
	for _, tc := range []struct {
		epoch string
		want  int64
		err   bool
	}{{"1700000000", 1700000000, false}, {"", 1600000000, false}, {"soon", 0, true}} {
		got, err := CreatedTime(env(tc.epoch), commit)
		if (err != nil) != tc.err || (!tc.err && got.Unix() != tc.want) {
			t.Errorf("CreatedTime(%q) = %v, %v", tc.epoch, got, err)
		}
	}
	if got, _ := CreatedTime(env(""), time.Time{}); got.Unix() != 0 {
		t.Errorf("fallback = %v, want the epoch", got)
	}
}
