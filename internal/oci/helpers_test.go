package oci

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// writeModel creates a small model directory and returns it.
func writeModel(t *testing.T, weightSize int) string {
	t.Helper()
	dir := t.TempDir()
	w := make([]byte, weightSize)
	if _, err := rand.Read(w); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"model.safetensors":       w,
		"config.json":             []byte(`{"hidden_size": 4}`),
		"README.md":               []byte("# tiny\n"),
		"tokenizer/vocab.txt":     []byte("a\nb\nc\n"),
		"tokenizer/merges.txt":    []byte("a b\n"),
		"tokenizer/nested/x.json": []byte(`{}`),
	}
	for p, b := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func modelSource(dir string) Source {
	return Source{
		Dir: dir,
		Files: []File{
			{Path: "model.safetensors", Role: RoleWeight},
			{Path: "config.json", Role: RoleWeightConfig},
			{Path: "tokenizer", Role: RoleWeightConfig, Compress: "gzip"},
			{Path: "README.md", Role: RoleDoc},
		},
		Annotations: map[string]string{AnnotationVersion: "1.2.3"},
	}
}

func fileDigest(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// sameTree fails unless every regular file of want exists in got with the
// same bytes.
func sameTree(t *testing.T, want, got string, only ...string) {
	t.Helper()
	err := filepath.WalkDir(want, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(want, p)
		if len(only) > 0 && !hasPrefixAny(filepath.ToSlash(rel), only) {
			return nil
		}
		a, _ := os.ReadFile(p)
		b, err := os.ReadFile(filepath.Join(got, rel))
		if err != nil {
			t.Errorf("pulled tree lacks %s: %v", rel, err)
			return nil
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs after the round trip", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func hasPrefixAny(s string, ps []string) bool {
	for _, p := range ps {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// rawLayer is a layer for hand-built (possibly hostile) artifacts.
type rawLayer struct {
	mediaType string
	path      string
	data      []byte
}

// pushRawArtifact uploads layers and a manifest as given, bypassing every
// check Push makes, and returns the reference.
func pushRawArtifact(t *testing.T, host, repo string, artifactType string, layers []rawLayer) string {
	t.Helper()
	return pushAnnotatedArtifact(t, host, repo, artifactType, layers, nil)
}

// pushAnnotatedArtifact is pushRawArtifact with extra annotations on
// layer i from annotations[i].
func pushAnnotatedArtifact(t *testing.T, host, repo string, artifactType string, layers []rawLayer, annotations map[int]map[string]string) string {
	t.Helper()
	ctx := context.Background()
	r, err := name.NewRepository(host+"/"+repo, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	cfg := []byte(`{"descriptor":{"name":"x"},"modelfs":{"type":"layers","diffIds":[]},"config":{}}`)
	cfgMT := ConfigMediaType
	if artifactType != ArtifactType {
		cfgMT = "application/vnd.example.config+json"
	}
	cfgL := static.NewLayer(cfg, types.MediaType(cfgMT))
	if err := remote.WriteLayer(r, cfgL, remote.WithContext(ctx)); err != nil {
		t.Fatal(err)
	}
	m := Manifest{SchemaVersion: 2, MediaType: ManifestMediaType, ArtifactType: artifactType,
		Config: Descriptor{MediaType: cfgMT, Digest: sha256Hash(cfg).String(), Size: int64(len(cfg))}}
	for i, l := range layers {
		sl := static.NewLayer(l.data, types.MediaType(l.mediaType))
		if err := remote.WriteLayer(r, sl, remote.WithContext(ctx)); err != nil {
			t.Fatal(err)
		}
		d := Descriptor{MediaType: l.mediaType, Digest: sha256Hash(l.data).String(), Size: int64(len(l.data))}
		if l.path != "" || len(annotations[i]) > 0 {
			d.Annotations = map[string]string{}
			for k, v := range annotations[i] {
				d.Annotations[k] = v
			}
		}
		if l.path != "" {
			d.Annotations[AnnotationFilepath] = l.path
		}
		m.Layers = append(m.Layers, d)
	}
	raw, _ := json.Marshal(m)
	req, _ := http.NewRequest(http.MethodPut, fmt.Sprintf("http://%s/v2/%s/manifests/v1", host, repo), bytes.NewReader(raw))
	req.Header.Set("Content-Type", ManifestMediaType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("putting manifest: %s", resp.Status)
	}
	return host + "/" + repo + ":v1"
}

type tarEntry struct {
	name, link string
	typ        byte
	body       string
}

func makeTar(t testing.TB, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body))}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	return buf.Bytes()
}

// assertAbsent fails if dir exists or its parent holds leftovers.
func assertAbsent(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Lstat(dir); !os.IsNotExist(err) {
		t.Errorf("target %s was created (%v)", dir, err)
	}
	ents, _ := os.ReadDir(filepath.Dir(dir))
	for _, e := range ents {
		if strings.Contains(e.Name(), ".pull-") {
			t.Errorf("temporary directory %s left behind", e.Name())
		}
	}
}
