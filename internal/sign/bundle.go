package sign

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ctypes "github.com/sigstore/cosign/v2/pkg/types"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
)

// Sigstore bundle format, as cosign 3 stores it in a registry: one OCI 1.1
// referrer manifest per bundle (artifactType and layer media type
// BundleMediaType, subject the signed manifest), listed by the referrers
// API or, where the registry has none, in the referrers tag schema index
// (tag sha256-<hex>).
const (
	// BundleMediaType is the Sigstore bundle v0.3 media type.
	BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// SignPredicateType is the predicate type cosign 3 gives the in-toto
	// statement of a plain signature (`cosign sign`): the subject is the
	// signed digest, the predicate empty.
	SignPredicateType = "https://sigstore.dev/cosign/sign/v1"
	// AnnotationBundlePredicateType and AnnotationBundleContent are the
	// referrer manifest annotations cosign 3 writes and filters on.
	AnnotationBundlePredicateType = "dev.sigstore.bundle.predicateType"
	AnnotationBundleContent       = "dev.sigstore.bundle.content"
	emptyMediaType                = "application/vnd.oci.empty.v1+json"

	// Bounds on what a registry can make Verify read.
	maxBundles     = 64
	maxBundleBytes = 1 << 20
)

// foundBundle is a parsed bundle and where it came from; its statement is
// NOT verified until verifyBundle says so.
type foundBundle struct {
	where   string
	b       *sgbundle.Bundle
	st      Statement
	payload []byte
	err     error // unreadable: why
	// legacy marks a layer of cosign's .sig/.att tags (converted); simple
	// is a legacy signature's simple-signing payload (the signed artifact).
	legacy bool
	simple []byte
}

// format is where fb was found: "legacy" or "bundle".
func (fb foundBundle) format() string {
	if fb.legacy {
		return string(FormatLegacy)
	}
	return string(FormatBundle)
}

// Format says which storage formats Sign and Attest write.
type Format string

const (
	// FormatBoth writes a Sigstore bundle referrer and cosign's legacy tag:
	// cosign 3 verifies the bundle, cosign 2 (which reads only the legacy
	// tags by default) the legacy signature. The default.
	FormatBoth Format = "both"
	// FormatBundle writes only the Sigstore bundle (cosign 3's default).
	FormatBundle Format = "bundle"
	// FormatLegacy writes only cosign's sha256-<hex>.sig/.att tags.
	FormatLegacy Format = "legacy"
)

// ParseFormat reads a --format value; "" is FormatBoth.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case "":
		return FormatBoth, nil
	case FormatBoth, FormatBundle, FormatLegacy:
		return f, nil
	}
	return "", fmt.Errorf("signature format %q: want bundle, legacy or both", s)
}

func (f Format) bundle() bool { return f == FormatBoth || f == FormatBundle }
func (f Format) legacy() bool { return f == FormatBoth || f == FormatLegacy || f == "" }

// parseBundle decodes a bundle and the in-toto statement in its DSSE
// envelope (shape only: verifyBundle checks the signature).
func parseBundle(where string, raw []byte) foundBundle {
	fb := foundBundle{where: where}
	var b sgbundle.Bundle
	if err := b.UnmarshalJSON(raw); err != nil {
		fb.err = fmt.Errorf("%s: not a Sigstore bundle: %w", where, err)
		return fb
	}
	fb.b = &b
	env := b.GetDsseEnvelope()
	if env == nil {
		fb.err = fmt.Errorf("%s: the bundle holds no DSSE envelope (a message signature over a blob, not an attestation)", where)
		return fb
	}
	st, err := parseStatement(env)
	if err != nil {
		fb.err = fmt.Errorf("%s: %w", where, err)
		return fb
	}
	fb.st, fb.payload = st, env.GetPayload()
	return fb
}

// parseStatement reads the in-toto statement a DSSE envelope carries
// (shape only: the signature is checked by verifyBundle).
func parseStatement(env *protodsse.Envelope) (Statement, error) {
	if pt := env.GetPayloadType(); pt != ctypes.IntotoPayloadType {
		return Statement{}, fmt.Errorf("the DSSE payload type is %q, not an in-toto statement (%s)", pt, ctypes.IntotoPayloadType)
	}
	var st Statement
	if err := json.Unmarshal(env.GetPayload(), &st); err != nil {
		return Statement{}, fmt.Errorf("the DSSE payload is not an in-toto statement: %w", err)
	}
	if st.Type != StatementType && st.Type != "https://in-toto.io/Statement/v0.1" {
		return Statement{}, fmt.Errorf("the DSSE payload has statement type %q, not %s", st.Type, StatementType)
	}
	return st, nil
}

// findBundles lists the Sigstore bundles attached to d: the referrers API
// where the registry has one, else the referrers tag schema (go-
// containerregistry's remote.Referrers probes and falls back at run
// time), plus the WithExtraBundles ones. A referrer whose manifest does
// not name d as its subject is skipped: a tag-schema index anyone can
// push to cannot move a bundle from one artifact to another.
func (o *options) findBundles(ctx context.Context, d name.Digest) ([]foundBundle, error) {
	var out []foundBundle
	for i, raw := range o.extra {
		out = append(out, parseBundle(fmt.Sprintf("extra bundle %d", i+1), raw))
	}
	ropts := o.remoteOpts(ctx)
	idx, err := remote.Referrers(d, ropts...)
	if err != nil {
		return out, fmt.Errorf("listing the referrers of %s: %w", d, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return out, fmt.Errorf("reading the referrers of %s: %w", d, err)
	}
	n := 0
	for _, desc := range im.Manifests {
		// Registries differ in what they list as artifactType (the
		// manifest's, or its config's media type, which cosign 3 leaves
		// empty), so, as cosign does, skip only what is surely no bundle.
		switch desc.ArtifactType {
		case BundleMediaType, emptyMediaType, "":
		default:
			continue
		}
		if n++; n > maxBundles {
			break
		}
		fbs, err := o.fetchBundles(ctx, d, desc)
		if err != nil {
			out = append(out, foundBundle{where: "referrer " + desc.Digest.String(), err: err})
			continue
		}
		out = append(out, fbs...)
	}
	return out, nil
}

func (o *options) fetchBundles(ctx context.Context, d name.Digest, desc v1.Descriptor) ([]foundBundle, error) {
	ropts := o.remoteOpts(ctx)
	where := "referrer " + desc.Digest.String()
	mref := d.Context().Digest(desc.Digest.String())
	got, err := remote.Get(mref, ropts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	mf, err := v1.ParseManifest(bytes.NewReader(got.Manifest))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if mf.Subject == nil || mf.Subject.Digest.String() != d.DigestStr() {
		return nil, fmt.Errorf("%s: its subject is not %s", where, d.DigestStr())
	}
	var out []foundBundle
	for _, l := range mf.Layers {
		if string(l.MediaType) != BundleMediaType {
			continue
		}
		if l.Size > maxBundleBytes {
			out = append(out, foundBundle{where: where, err: fmt.Errorf("%s: bundle of %d bytes exceeds %d", where, l.Size, maxBundleBytes)})
			continue
		}
		layer, err := remote.Layer(d.Context().Digest(l.Digest.String()), ropts...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		rc, err := layer.Compressed()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		raw, err := io.ReadAll(io.LimitReader(rc, maxBundleBytes+1))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: reading bundle %s: %w", where, l.Digest, err)
		}
		if len(raw) > maxBundleBytes {
			return nil, fmt.Errorf("%s: bundle exceeds %d bytes", where, maxBundleBytes)
		}
		out = append(out, parseBundle(where, raw))
	}
	return out, nil
}

// referrerManifest is what pushBundle writes (as cosign 3 does).
type referrerManifest struct{ raw []byte }

func (r referrerManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r referrerManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// pushBundle stores bundle as an OCI 1.1 referrer of d: empty config,
// one layer (the bundle), artifactType and annotations as cosign 3
// writes them. remote.Put updates the referrers tag schema index when
// the registry has no referrers API.
func (o *options) pushBundle(ctx context.Context, d name.Digest, bundleJSON []byte, predicateType string) (string, error) {
	ropts := o.remoteOpts(ctx)
	subj, err := remote.Head(d, ropts...)
	if err != nil {
		return "", fmt.Errorf("reading the manifest descriptor of %s: %w", d, err)
	}
	var descs []v1.Descriptor
	for _, l := range []struct {
		b  []byte
		mt types.MediaType
	}{{[]byte("{}"), emptyMediaType}, {bundleJSON, BundleMediaType}} {
		layer := static.NewLayer(l.b, l.mt)
		if err := remote.WriteLayer(d.Context(), layer, ropts...); err != nil {
			return "", fmt.Errorf("uploading the bundle of %s to %s: %w", d, d.Context(), err)
		}
		h, _, _ := v1.SHA256(bytes.NewReader(l.b))
		descs = append(descs, v1.Descriptor{MediaType: l.mt, Digest: h, Size: int64(len(l.b))})
	}
	ed, bd := descs[0], descs[1]
	mf := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  BundleMediaType,
		Config:        ed,
		Layers:        []v1.Descriptor{bd},
		Subject:       &v1.Descriptor{MediaType: subj.MediaType, Digest: subj.Digest, Size: subj.Size},
		Annotations: map[string]string{
			"org.opencontainers.image.created": o.now().UTC().Format(time.RFC3339),
			AnnotationBundleContent:            "dsse-envelope",
			AnnotationBundlePredicateType:      predicateType,
		},
	}
	raw, err := json.Marshal(mf)
	if err != nil {
		return "", err
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return "", err
	}
	ref := d.Context().Digest(h.String())
	if err := remote.Put(ref, referrerManifest{raw: raw}, ropts...); err != nil {
		return "", fmt.Errorf("writing the bundle referrer of %s to %s: %w", d, d.Context(), err)
	}
	return ref.String(), nil
}
