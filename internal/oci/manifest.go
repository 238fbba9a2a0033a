package oci

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	modelspec "github.com/modelpack/model-spec/specs-go/v1"
)

// maxManifestSize bounds manifests and configs read from registries.
const maxManifestSize = 4 << 20

// ParseManifest decodes and validates an OCI image manifest: schema version
// 2, valid sha256 digests and non-negative sizes everywhere. It does not
// require ModelPack media types (see IsModel).
func ParseManifest(raw []byte) (*Manifest, error) {
	if len(raw) > maxManifestSize {
		return nil, fmt.Errorf("manifest is %d bytes, more than the %d allowed", len(raw), maxManifestSize)
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("decoding manifest: %w", err)
	}
	if m.SchemaVersion != 2 {
		return nil, fmt.Errorf("manifest schemaVersion is %d, want 2", m.SchemaVersion)
	}
	switch m.MediaType {
	case "", ManifestMediaType:
	case IndexMediaType, string(types.DockerManifestList):
		return nil, fmt.Errorf("reference is an index (%s), not a model manifest", m.MediaType)
	default:
		return nil, fmt.Errorf("manifest media type %q is not an OCI image manifest", m.MediaType)
	}
	check := func(what string, d Descriptor) error {
		h, err := v1.NewHash(d.Digest)
		if err != nil || h.Algorithm != "sha256" {
			return fmt.Errorf("%s has an invalid digest %q", what, d.Digest)
		}
		if d.Size < 0 {
			return fmt.Errorf("%s has a negative size", what)
		}
		if d.MediaType == "" {
			return fmt.Errorf("%s has no media type", what)
		}
		return nil
	}
	if err := check("config", m.Config); err != nil {
		return nil, err
	}
	if m.Config.Size > maxManifestSize {
		return nil, fmt.Errorf("config is %d bytes, more than the %d allowed", m.Config.Size, maxManifestSize)
	}
	for i, l := range m.Layers {
		if err := check(fmt.Sprintf("layer %d", i), l); err != nil {
			return nil, err
		}
	}
	return &m, nil
}

// IsModel reports whether m is a ModelPack artifact (cncf or cnai types).
func (m *Manifest) IsModel() bool {
	return isModelArtifactType(m.ArtifactType) || isModelConfigType(m.Config.MediaType)
}

// LayerPath returns where a layer goes: its org.cncf.model.filepath
// annotation (or the older cnai one, or the OCI title), unvalidated.
func LayerPath(d Descriptor) string {
	for _, k := range []string{AnnotationFilepath, legacyFilepath, annotationTitle} {
		if p := d.Annotations[k]; p != "" {
			return p
		}
	}
	return ""
}

// Artifact is a resolved model artifact: its manifest and config.
type Artifact struct {
	Ref      string           `json:"ref"`
	Digest   string           `json:"digest"`
	Manifest *Manifest        `json:"manifest"`
	Config   *modelspec.Model `json:"config,omitempty"`
	Raw      []byte           `json:"-"`
}

// source is where Pull and Manifest read from.
type source interface {
	resolveRaw(ctx context.Context) (v1.Hash, []byte, error)
	blob(ctx context.Context, d v1.Hash) (io.ReadCloser, error)
	name() string
	digestRef(d v1.Hash) string
}

type registrySource struct {
	reg *registry
	ref name.Reference
}

func (s *registrySource) name() string { return s.ref.String() }

func (s *registrySource) digestRef(d v1.Hash) string {
	return s.ref.Context().Digest(d.String()).String()
}

// manifestAccept are the manifest media types a pull asks for.
var manifestAccept = strings.Join([]string{
	ManifestMediaType,
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
}, ", ")

// resolveRaw fetches the manifest ref names. Its size is checked before
// it is read (a Content-Length above the limit is refused unread, and the
// body is never read past the limit), and its bytes against the digest.
func (s *registrySource) resolveRaw(ctx context.Context) (v1.Hash, []byte, error) {
	var raw []byte
	var want string
	err := s.reg.retry(ctx, func() error {
		resp, err := s.reg.do(ctx, http.MethodGet, s.reg.url("manifests/"+s.ref.Identifier()), nil, 0, map[string]string{"Accept": manifestAccept})
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return regError(resp, "fetching manifest "+s.ref.String())
		}
		if resp.ContentLength > maxManifestSize {
			return refusef("manifest %s is too large (%d bytes, at most %d)", s.ref, resp.ContentLength, maxManifestSize)
		}
		raw, err = readAllLimit(resp.Body, maxManifestSize)
		if err != nil {
			if retriable(err) {
				return err
			}
			return refusef("manifest %s is too large (%v)", s.ref, err)
		}
		want = resp.Header.Get("Docker-Content-Digest")
		return nil
	})
	if err != nil {
		return v1.Hash{}, nil, fmt.Errorf("fetching manifest %s: %w", s.ref, err)
	}
	got := sha256Hash(raw)
	if dg, ok := s.ref.(name.Digest); ok {
		want = dg.DigestStr()
	}
	if want != "" && want != got.String() {
		return v1.Hash{}, nil, refusef("manifest %s does not match its digest %s", s.ref, want)
	}
	return got, raw, nil
}

func (s *registrySource) blob(ctx context.Context, d v1.Hash) (io.ReadCloser, error) {
	return s.reg.getBlob(ctx, d)
}

type layoutSrc struct{ *layoutSource }

func (s layoutSrc) name() string { return s.t.String() }
func (s layoutSrc) digestRef(d v1.Hash) string {
	return LayoutPrefix + s.t.layout + "@" + d.String()
}
func (s layoutSrc) resolveRaw(context.Context) (v1.Hash, []byte, error) { return s.resolve() }
func (s layoutSrc) blob(ctx context.Context, d v1.Hash) (io.ReadCloser, error) {
	return s.getBlob(ctx, d)
}

func openSource(ctx context.Context, ref string, o *options) (source, target, error) {
	t, err := parseTarget(ref, o)
	if err != nil {
		return nil, t, err
	}
	if t.isLayout() {
		ls, err := openLayoutSource(t)
		if err != nil {
			return nil, t, err
		}
		return layoutSrc{ls}, t, nil
	}
	reg, err := newRegistry(ctx, t.ref.Context(), o, false, nil)
	if err != nil {
		return nil, t, err
	}
	return &registrySource{reg: reg, ref: t.ref}, t, nil
}

// fetchConfig reads and verifies the config blob.
func fetchConfig(ctx context.Context, src source, m *Manifest) (*modelspec.Model, error) {
	d, _ := v1.NewHash(m.Config.Digest)
	rc, err := src.blob(ctx, d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	vr := newVerifyingReader(rc, d, m.Config.Size)
	b, err := readAllLimit(vr, maxManifestSize)
	if err == nil {
		err = vr.complete()
	}
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", d, err)
	}
	if !isModelConfigType(m.Config.MediaType) {
		return nil, nil
	}
	var cfg modelspec.Model
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("decoding model config %s: %w", d, err)
	}
	return &cfg, nil
}

// Inspect resolves ref and returns its manifest and (for ModelPack
// artifacts) its config.
func (c *Client) Inspect(ctx context.Context, ref string, opts ...Option) (*Artifact, error) {
	o := c.opts(opts)
	src, _, err := openSource(ctx, ref, o)
	if err != nil {
		return nil, err
	}
	d, raw, err := src.resolveRaw(ctx)
	if err != nil {
		return nil, err
	}
	m, err := ParseManifest(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	a := &Artifact{Ref: src.digestRef(d), Digest: d.String(), Manifest: m, Raw: raw}
	if a.Config, err = fetchConfig(ctx, src, m); err != nil {
		return nil, err
	}
	return a, nil
}
