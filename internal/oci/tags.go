package oci

import "regexp"

// Kinds of tags that hold proof about a model rather than a model: what
// cosign attaches (sha256-<hex>.sig, .att, .sbom) and the OCI referrers
// tag schema's index (sha256-<hex>).
const (
	TagKindSignature   = "signature"
	TagKindAttestation = "attestation"
	TagKindSBOM        = "sbom"
	TagKindReferrers   = "referrers"
)

var supportTagRe = regexp.MustCompile(`^sha256-[0-9a-f]{64}(\.sig|\.att|\.sbom)?$`)

// TagKind says what a tag holds by its name: one of the TagKind
// constants for signature, attestation, SBOM and referrers tags, "" for
// anything else (a model's tag).
func TagKind(tag string) string {
	m := supportTagRe.FindStringSubmatch(tag)
	if m == nil {
		return ""
	}
	switch m[1] {
	case ".sig":
		return TagKindSignature
	case ".att":
		return TagKindAttestation
	case ".sbom":
		return TagKindSBOM
	}
	return TagKindReferrers
}
