package train

import (
	"context"
	"fmt"

	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/train/lineage"
)

// FindTrained looks in repository for an artifact trained from
// inputDigest: the manifest tagged input-<hex12> (lineage.InputTag) whose
// annotation dev.mlship.input-digest equals inputDigest in full. A tag
// whose annotation differs (a 48-bit prefix collision, or a tag moved by
// hand) does not count. repository is a registry repository
// (ghcr.io/acme/iris) or an OCI image layout (oci:PATH), where the index
// entries are searched instead (the client does that). It returns nil,
// nil when there is none.
func FindTrained(ctx context.Context, reg Registry, inputDigest string) (*lineage.Artifact, error) {
	tag, err := lineage.InputTag(inputDigest)
	if err != nil {
		return nil, err
	}
	var opts []oci.Option
	if reg.PlainHTTP {
		opts = append(opts, oci.WithPlainHTTP(true))
	}
	ref, digest, err := reg.Client.FindAnnotated(ctx, reg.Repository, tag, lineage.AnnotationInputDigest, inputDigest, opts...)
	if err != nil {
		return nil, fmt.Errorf("looking up %s:%s: %w", reg.Repository, tag, err)
	}
	if ref == "" {
		return nil, nil
	}
	return &lineage.Artifact{Ref: ref, Digest: digest}, nil
}

// Registry is where FindTrained looks.
type Registry struct {
	// Repository is a registry repository or oci:PATH (spec registry.repository).
	Repository string
	// PlainHTTP talks HTTP instead of HTTPS (spec registry.plainHTTP).
	PlainHTTP bool
	// Client speaks to the registry with the credentials push has (the
	// CLI's client: the Docker config, then the workflow token for
	// ghcr.io). Nil is a client with the defaults.
	Client *oci.Client
}
