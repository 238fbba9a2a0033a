package promote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/mlship/mlship/internal/oci"
)

// ErrNotFound is returned by a Registry when a manifest or tag does not
// exist.
var ErrNotFound = errors.New("not found")

// Registry is what promotion needs from the model registry.
type Registry interface {
	// Annotations fetches the manifest of repo@digest and returns its
	// annotations; ErrNotFound (wrapped) when the registry does not have it.
	Annotations(ctx context.Context, repo, digest string) (map[string]string, error)
	// Resolve returns the digest repo:tag points at; ErrNotFound (wrapped)
	// when the tag does not exist.
	Resolve(ctx context.Context, repo, tag string) (string, error)
	// Tag points repo:tag at repo@digest.
	Tag(ctx context.Context, repo, digest, tag string) error
}

// OCIRegistry is the Registry over internal/oci (any OCI registry, or an
// oci:PATH layout). Loopback registries are spoken to in plain HTTP.
type OCIRegistry struct {
	Options []oci.Option
}

func (r OCIRegistry) Annotations(ctx context.Context, repo, digest string) (map[string]string, error) {
	_, raw, err := oci.FetchManifest(ctx, digestRef(repo, digest), r.Options...)
	if err != nil {
		return nil, notFound(err)
	}
	// Any manifest can be promoted; only its annotations are read.
	var m struct {
		Annotations map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("decoding the manifest %s: %w", digestRef(repo, digest), err)
	}
	return m.Annotations, nil
}

func (r OCIRegistry) Resolve(ctx context.Context, repo, tag string) (string, error) {
	d, err := oci.Resolve(ctx, repo+":"+tag, r.Options...)
	if err != nil {
		return "", notFound(err)
	}
	return d, nil
}

func (r OCIRegistry) Tag(ctx context.Context, repo, digest, tag string) error {
	_, err := oci.Tag(ctx, digestRef(repo, digest), tag, r.Options...)
	return err
}

func digestRef(repo, digest string) string { return repo + "@" + digest }

// notFound marks registry answers that mean "no such manifest or tag".
func notFound(err error) error {
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	s := err.Error()
	if strings.Contains(s, "MANIFEST_UNKNOWN") || strings.Contains(s, "NAME_UNKNOWN") || strings.Contains(s, "404 Not Found") || strings.Contains(s, "not found in layout") {
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	return err
}
