package promote

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/mlship/mlship/internal/oci"
)

// ErrNotFound is returned (wrapped) by a Registry when a manifest or tag
// does not exist: it is oci.ErrNotFound, so the client's answers need no
// translation.
var ErrNotFound = oci.ErrNotFound

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

// OCIRegistry is the Registry over the oci.Client (any OCI registry, or
// an oci:PATH layout). Loopback registries are spoken to in plain HTTP.
type OCIRegistry struct {
	// Client is the process's registry client; nil is one with the
	// defaults.
	Client *oci.Client
}

func (r OCIRegistry) Annotations(ctx context.Context, repo, digest string) (map[string]string, error) {
	_, raw, _, err := r.Client.Manifest(ctx, digestRef(repo, digest))
	if err != nil {
		return nil, err
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
	return r.Client.Resolve(ctx, repo+":"+tag)
}

func (r OCIRegistry) Tag(ctx context.Context, repo, digest, tag string) error {
	_, err := r.Client.Tag(ctx, digestRef(repo, digest), tag)
	return err
}

func digestRef(repo, digest string) string { return repo + "@" + digest }
