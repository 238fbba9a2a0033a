package oci

import (
	"fmt"
	"strings"

	modelspec "github.com/modelpack/model-spec/specs-go/v1"
)

// Media types of the ModelPack artifact, written with the cncf prefix.
const (
	ArtifactType    = modelspec.ArtifactTypeModelManifest
	ConfigMediaType = modelspec.MediaTypeModelConfig
	// ManifestMediaType is the OCI image manifest media type.
	ManifestMediaType = "application/vnd.oci.image.manifest.v1+json"
	// IndexMediaType is the OCI image index media type.
	IndexMediaType = "application/vnd.oci.image.index.v1+json"

	// AnnotationFilepath is the layer annotation holding the file's path
	// relative to the model root.
	AnnotationFilepath = modelspec.AnnotationFilepath
	// annotationTitle is what oras and others set when no filepath is given.
	annotationTitle = "org.opencontainers.image.title"

	legacyArtifactType    = "application/vnd.cnai.model.manifest.v1+json"
	legacyConfigMediaType = "application/vnd.cnai.model.config.v1+json"
	legacyFilepath        = "org.cnai.model.filepath"
)

// Lineage annotation keys set on the manifest.
const (
	AnnotationSource     = "org.opencontainers.image.source"
	AnnotationRevision   = "org.opencontainers.image.revision"
	AnnotationCreated    = "org.opencontainers.image.created"
	AnnotationVersion    = "org.opencontainers.image.version"
	AnnotationTitle      = annotationTitle
	AnnotationSpecDigest = "dev.mlship.spec-digest"
	// AnnotationInputDigest is the digest of the training inputs.
	AnnotationInputDigest = "dev.mlship.input-digest"
	AnnotationRunURL      = "dev.mlship.run-url"
)

// Role is what a layer holds, as in the spec's package.files[].role.
type Role string

// The ModelPack roles.
const (
	RoleWeight       Role = "weight"
	RoleWeightConfig Role = "weight-config"
	RoleDoc          Role = "doc"
	RoleCode         Role = "code"
	RoleDataset      Role = "dataset"
)

// Roles lists every role, in the order layers are written.
var roles = []Role{RoleWeight, RoleWeightConfig, RoleCode, RoleDataset, RoleDoc}

// ParseRole validates a role name; "weight.config" and "config" are
// accepted for weight-config.
func ParseRole(s string) (Role, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "weight", "weights":
		return RoleWeight, nil
	case "weight-config", "weight.config", "config":
		return RoleWeightConfig, nil
	case "doc", "docs":
		return RoleDoc, nil
	case "code":
		return RoleCode, nil
	case "dataset", "data":
		return RoleDataset, nil
	}
	return "", fmt.Errorf("unknown role %q: use weight, weight-config, code, dataset or doc", s)
}

func (r Role) mediaName() string {
	if r == RoleWeightConfig {
		return "weight.config"
	}
	return string(r)
}

// Format is how a layer's bytes are laid out.
type Format string

// Layer formats of ModelPack.
const (
	FormatRaw     Format = "raw"
	FormatTar     Format = "tar"
	FormatTarGzip Format = "tar+gzip"
	FormatTarZstd Format = "tar+zstd"
)

// LayerMediaType returns the cncf media type for a role and format.
func LayerMediaType(r Role, f Format) string {
	return "application/vnd.cncf.model." + r.mediaName() + ".v1." + string(f)
}

// ParseLayerMediaType returns the role and format of a ModelPack layer
// media type (cncf or the older cnai prefix); ok is false for anything else.
func ParseLayerMediaType(mt string) (Role, Format, bool) {
	var rest string
	switch {
	case strings.HasPrefix(mt, "application/vnd.cncf.model."):
		rest = strings.TrimPrefix(mt, "application/vnd.cncf.model.")
	case strings.HasPrefix(mt, "application/vnd.cnai.model."):
		rest = strings.TrimPrefix(mt, "application/vnd.cnai.model.")
	default:
		return "", "", false
	}
	name, format, ok := strings.Cut(rest, ".v1.")
	if !ok {
		return "", "", false
	}
	var role Role
	switch name {
	case "weight":
		role = RoleWeight
	case "weight.config":
		role = RoleWeightConfig
	case "doc":
		role = RoleDoc
	case "code":
		role = RoleCode
	case "dataset":
		role = RoleDataset
	default:
		return "", "", false
	}
	switch Format(format) {
	case FormatRaw, FormatTar, FormatTarGzip, FormatTarZstd:
		return role, Format(format), true
	}
	return "", "", false
}

func isModelArtifactType(s string) bool {
	return s == ArtifactType || s == legacyArtifactType
}

func isModelConfigType(s string) bool {
	return s == ConfigMediaType || s == legacyConfigMediaType
}
