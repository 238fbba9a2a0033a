package eval

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/spec"
)

// AnnotationMetrics is the manifest annotation holding a model's eval
// metrics as a JSON object ({"accuracy":0.93}); package/push may set it so
// that a baseline is readable without attestations.
const AnnotationMetrics = "dev.mlship.metrics"

// annotationRefName names a manifest in an OCI image layout's index.
const annotationRefName = "org.opencontainers.image.ref.name"

// RegistryBaseline reads the model tagged with the environment's name
// (<repository>:<env>) from the registry or OCI layout: its metrics come
// from its eval attestation (cosign's sha256-<hex>.att tag, in-toto
// statement with predicate type PredicateType), else from the
// dev.mlship.metrics manifest annotation. The attestation is read, not
// verified: a baseline only sets the bar, and promote verifies.
type RegistryBaseline struct {
	// Repository overrides the spec's registry.repository (host/repo or
	// oci:PATH).
	Repository string
	// PlainHTTP forces HTTP; loopback registries use it anyway.
	PlainHTTP bool
	// Options are passed to go-containerregistry (auth, transport). The
	// default authenticates like push and pull (oci.DefaultKeychain): the
	// Docker config, then GITHUB_TOKEN for ghcr.io inside Actions.
	Options []remote.Option
	// Getenv reads GITHUB_TOKEN; nil means no token.
	Getenv func(string) string
}

// Baseline fetches the environment's model.
func (r RegistryBaseline) Baseline(ctx context.Context, model *spec.Model, env string) (*Baseline, error) {
	repo := r.Repository
	if repo == "" && model != nil {
		repo = model.Registry.Repository
	}
	if repo == "" {
		return nil, notFound{"the spec names no registry.repository"}
	}
	if env == "" {
		return nil, notFound{"no baseline environment"}
	}
	var st store
	if path, ok := strings.CutPrefix(repo, "oci:"); ok {
		st = &layoutStore{path: path}
	} else {
		plain := r.PlainHTTP || (model != nil && model.Registry.PlainHTTP)
		rs, err := newRemoteStore(ctx, repo, plain, r.options(ctx))
		if err != nil {
			return nil, err
		}
		st = rs
	}
	ref := repo + ":" + env
	digest, raw, err := st.manifest(env)
	if errors.Is(err, errNotFound) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("reading baseline %s: %w", ref, err)
	}
	var m struct {
		Annotations map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("baseline %s: decoding manifest %s: %w", ref, digest, err)
	}
	base := &Baseline{Environment: env, Source: "registry", Ref: ref, Digest: digest, Version: m.Annotations["org.opencontainers.image.version"]}

	if res, err := attestedResult(st, digest); err != nil {
		return nil, fmt.Errorf("baseline %s: reading its eval attestation: %w", ref, err)
	} else if res != nil {
		base.Metrics = res.Metrics
		if base.Version == "" {
			base.Version = res.Model.Version
		}
		return base, nil
	}
	if a, ok := m.Annotations[AnnotationMetrics]; ok {
		metrics, err := ParseMetrics(strings.NewReader(a))
		if err != nil {
			return nil, fmt.Errorf("baseline %s: annotation %s: %w", ref, AnnotationMetrics, err)
		}
		base.Metrics = metrics
		return base, nil
	}
	return nil, notFound{fmt.Sprintf("%s (%s) has no eval attestation and no %s annotation", ref, digest, AnnotationMetrics)}
}

func (r RegistryBaseline) options(ctx context.Context) []remote.Option {
	getenv := r.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(oci.DefaultKeychain(getenv))}
	return append(opts, r.Options...)
}

// attestedResult finds an eval attestation of digest and returns its
// predicate, or nil when there is none.
func attestedResult(st store, digest string) (*Result, error) {
	tag := strings.Replace(digest, ":", "-", 1) + ".att"
	_, raw, err := st.manifest(tag)
	if errors.Is(err, errNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m v1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", tag, err)
	}
	for _, l := range m.Layers {
		if l.Size > 16<<20 {
			continue
		}
		b, err := st.blob(l.Digest)
		if err != nil {
			return nil, fmt.Errorf("%s layer %s: %w", tag, l.Digest, err)
		}
		if res := evalPredicate(b); res != nil {
			return res, nil
		}
	}
	return nil, nil
}

// evalPredicate decodes a DSSE envelope holding an in-toto statement with
// the eval predicate; anything else gives nil.
func evalPredicate(b []byte) *Result {
	var env struct {
		PayloadType string `json:"payloadType"`
		Payload     string `json:"payload"`
	}
	if json.Unmarshal(b, &env) != nil || env.Payload == "" {
		return nil
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return nil
	}
	var st struct {
		PredicateType string          `json:"predicateType"`
		Predicate     json.RawMessage `json:"predicate"`
	}
	if json.Unmarshal(payload, &st) != nil || st.PredicateType != PredicateType {
		return nil
	}
	res, err := ParseResult(st.Predicate)
	if err != nil {
		return nil
	}
	return res
}

var errNotFound = errors.New("not found")

// notFound is a missing tag, repository or layout: no baseline, said
// plainly.
type notFound struct{ msg string }

func (e notFound) Error() string { return e.msg }

func (e notFound) Is(target error) bool { return target == ErrNoBaseline || target == errNotFound }

// store is the little a baseline needs from a registry or a layout.
type store interface {
	// manifest resolves a tag to its manifest digest and bytes; a missing
	// tag gives an error wrapping both errNotFound and ErrNoBaseline.
	manifest(tag string) (digest string, raw []byte, err error)
	blob(d v1.Hash) ([]byte, error)
}

type remoteStore struct {
	repo name.Repository
	opts []remote.Option
}

func newRemoteStore(_ context.Context, repo string, plain bool, opts []remote.Option) (*remoteStore, error) {
	var nopts []name.Option
	if plain || isLoopback(repo) {
		nopts = append(nopts, name.Insecure)
	}
	r, err := name.NewRepository(repo, nopts...)
	if err != nil {
		return nil, fmt.Errorf("registry repository %q: %w", repo, err)
	}
	return &remoteStore{repo: r, opts: opts}, nil
}

func (s *remoteStore) manifest(tag string) (string, []byte, error) {
	desc, err := remote.Get(s.repo.Tag(tag), s.opts...)
	if err != nil {
		var te *transport.Error
		if errors.As(err, &te) && (te.StatusCode == http.StatusNotFound || hasCode(te, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode)) {
			return "", nil, notFound{fmt.Sprintf("%s:%s does not exist", s.repo, tag)}
		}
		return "", nil, fmt.Errorf("%s:%s: %w (use --baseline FILE or --no-baseline to evaluate without the registry)", s.repo, tag, err)
	}
	return desc.Digest.String(), desc.Manifest, nil
}

func (s *remoteStore) blob(d v1.Hash) ([]byte, error) {
	l, err := remote.Layer(s.repo.Digest(d.String()), s.opts...)
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, 16<<20))
}

func hasCode(te *transport.Error, codes ...transport.ErrorCode) bool {
	for _, d := range te.Errors {
		for _, c := range codes {
			if d.Code == c {
				return true
			}
		}
	}
	return false
}

type layoutStore struct{ path string }

func (s *layoutStore) manifest(tag string) (string, []byte, error) {
	p, err := layout.FromPath(s.path)
	if err != nil {
		return "", nil, notFound{fmt.Sprintf("there is no OCI layout at %s", s.path)}
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return "", nil, fmt.Errorf("OCI layout %s: %w", s.path, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return "", nil, fmt.Errorf("OCI layout %s: %w", s.path, err)
	}
	for i := len(im.Manifests) - 1; i >= 0; i-- {
		d := im.Manifests[i]
		if d.Annotations[annotationRefName] != tag {
			continue
		}
		raw, err := p.Bytes(d.Digest)
		if err != nil {
			return "", nil, fmt.Errorf("OCI layout %s: manifest %s: %w", s.path, d.Digest, err)
		}
		return d.Digest.String(), raw, nil
	}
	return "", nil, notFound{fmt.Sprintf("oci:%s:%s does not exist", s.path, tag)}
}

func (s *layoutStore) blob(d v1.Hash) ([]byte, error) {
	return layout.Path(s.path).Bytes(d)
}

// isLoopback reports whether repo's registry host is on this machine;
// those are spoken to over plain HTTP, as Docker and crane do.
func isLoopback(repo string) bool {
	host, _, _ := strings.Cut(repo, "/")
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.Trim(h, "[]")
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
