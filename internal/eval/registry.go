package eval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/mlship/mlship/internal/attest"
	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/spec"
)

// AnnotationMetrics is the manifest annotation holding a model's eval
// metrics as a JSON object ({"accuracy":0.93}); package/push may set it so
// that a baseline is readable without attestations.
const AnnotationMetrics = "dev.mlship.metrics"

// RegistryBaseline reads the model tagged with the environment's name
// (<repository>:<env>) from the registry or OCI layout: its metrics come
// from its eval attestation (cosign's sha256-<hex>.att tag, else a
// Sigstore bundle referrer; in-toto statement with predicate type
// PredicateType), else from the
// dev.mlship.metrics manifest annotation. The attestation is read, not
// verified: a baseline only sets the bar, and promote verifies.
type RegistryBaseline struct {
	// Repository overrides the spec's registry.repository (host/repo or
	// oci:PATH).
	Repository string
	// Client speaks to the registry; it authenticates like push and pull
	// (the CLI's client). Nil is a client with the defaults (the Docker
	// config, no workflow token).
	Client *oci.Client
	// PlainHTTP forces HTTP for this lookup (as the spec's
	// registry.plainHTTP does); loopback registries use it anyway.
	PlainHTTP bool
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
	st := &registryStore{c: r.Client, repo: repo, plain: r.PlainHTTP || (model != nil && model.Registry.PlainHTTP)}
	ref := repo + ":" + env
	digest, raw, err := st.manifest(ctx, env)
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

	res, err := attestedResult(ctx, st, digest)
	if err == nil && res == nil {
		res, err = bundledResult(ctx, st, digest)
	}
	if err != nil {
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

// attestedResult finds an eval attestation of digest and returns its
// predicate, or nil when there is none.
func attestedResult(ctx context.Context, st *registryStore, digest string) (*Result, error) {
	tag := strings.Replace(digest, ":", "-", 1) + ".att"
	_, raw, err := st.manifest(ctx, tag)
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
		b, err := st.blob(ctx, l.Digest)
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
	st, err := attest.DecodeEnvelope(b)
	if err != nil || st.PredicateType != attest.EvalType {
		return nil
	}
	res, err := attest.ParseEvalResult(st.Predicate)
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

// registryStore is the little a baseline needs from a registry or a
// layout, through the client (which tells "not there" from failures).
type registryStore struct {
	c     *oci.Client
	repo  string
	plain bool
}

// manifest resolves a tag to its manifest digest and bytes; a missing tag
// gives an error wrapping both errNotFound and ErrNoBaseline.
func (s *registryStore) manifest(ctx context.Context, tag string) (string, []byte, error) {
	ref := s.repo + ":" + tag
	d, raw, _, err := s.c.Manifest(ctx, ref, oci.WithPlainHTTP(s.plain || s.c.PlainHTTP()))
	if errors.Is(err, oci.ErrNotFound) {
		return "", nil, notFound{fmt.Sprintf("%s does not exist", ref)}
	}
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w (use --baseline FILE or --no-baseline to evaluate without the registry)", ref, err)
	}
	return d, raw, nil
}

func (s *registryStore) blob(ctx context.Context, d v1.Hash) ([]byte, error) {
	return s.c.Blob(ctx, s.repo, d.String(), 16<<20, oci.WithPlainHTTP(s.plain || s.c.PlainHTTP()))
}
