package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/mlship/mlship/internal/train/lineage"
)

// FindTrained looks in repository for an artifact trained from
// inputDigest: the manifest tagged input-<hex12> (lineage.InputTag) whose
// annotation dev.mlship.input-digest equals inputDigest in full. A tag
// whose annotation differs (a 48-bit prefix collision, or a tag moved by
// hand) does not count. repository is a registry repository
// (ghcr.io/acme/iris) or an OCI image layout (oci:PATH), where the index
// entries are searched instead. It returns nil, nil when there is none.
func FindTrained(ctx context.Context, reg Registry, inputDigest string) (*lineage.Artifact, error) {
	repository := reg.Repository
	tag, err := lineage.InputTag(inputDigest)
	if err != nil {
		return nil, err
	}
	if path, ok := strings.CutPrefix(repository, "oci:"); ok {
		return findInLayout(path, inputDigest)
	}
	var nopts []name.Option
	if reg.PlainHTTP {
		nopts = append(nopts, name.Insecure)
	}
	ref, err := name.NewTag(repository+":"+tag, nopts...)
	if err != nil {
		return nil, fmt.Errorf("registry repository %q: %w", repository, err)
	}
	ropts := append([]remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}, reg.Options...)
	desc, err := remote.Get(ref, ropts...)
	if err != nil {
		var terr *transport.Error
		if errors.As(err, &terr) && (terr.StatusCode == http.StatusNotFound || hasCode(terr, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode)) {
			return nil, nil
		}
		return nil, fmt.Errorf("looking up %s in registry %s: %w", ref, ref.RegistryStr(), err)
	}
	if inputAnnotation(desc.Manifest) != inputDigest {
		return nil, nil
	}
	return &lineage.Artifact{Ref: ref.Context().Digest(desc.Digest.String()).String(), Digest: desc.Digest.String()}, nil
}

// Registry is where FindTrained looks.
type Registry struct {
	// Repository is a registry repository or oci:PATH (spec registry.repository).
	Repository string
	// PlainHTTP talks HTTP instead of HTTPS (spec registry.plainHTTP).
	PlainHTTP bool
	// Options are extra go-containerregistry remote options (auth, transport).
	Options []remote.Option
}

func hasCode(e *transport.Error, codes ...transport.ErrorCode) bool {
	for _, d := range e.Errors {
		for _, c := range codes {
			if d.Code == c {
				return true
			}
		}
	}
	return false
}

// inputAnnotation reads dev.mlship.input-digest from a raw manifest or index.
func inputAnnotation(raw []byte) string {
	var m struct {
		Annotations map[string]string `json:"annotations"`
	}
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	return m.Annotations[lineage.AnnotationInputDigest]
}

func findInLayout(path, inputDigest string) (*lineage.Artifact, error) {
	if _, err := os.Stat(filepath.Join(path, "index.json")); os.IsNotExist(err) {
		return nil, nil
	}
	p, err := layout.FromPath(path)
	if err != nil {
		return nil, fmt.Errorf("opening OCI layout %s: %w", path, err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %s: %w", path, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %s: %w", path, err)
	}
	for _, d := range im.Manifests {
		if d.Annotations[lineage.AnnotationInputDigest] == inputDigest || manifestHasInput(p, d, inputDigest) {
			return &lineage.Artifact{Ref: "oci:" + path + "@" + d.Digest.String(), Digest: d.Digest.String()}, nil
		}
	}
	return nil, nil
}

func manifestHasInput(p layout.Path, d v1.Descriptor, inputDigest string) bool {
	raw, err := p.Bytes(d.Digest)
	if err != nil {
		return false
	}
	return inputAnnotation(raw) == inputDigest
}
