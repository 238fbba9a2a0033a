package oci

import (
	"context"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// A hint is a digest a layer is expected to have, from the manifest
// already at the destination tag (or WithHintFrom), or from WithHints (a
// run's outputs). Hints only save uploads: a hinted layer is still read
// and hashed, and is skipped only when its digest matches a blob the
// registry has. On a cold runner (no digest cache) an unchanged model
// therefore uploads nothing and reads each file once.
type hint struct {
	digest    v1.Hash
	mediaType string // "" for WithHints (raw files)
	size      int64  // -1 when unknown
}

// layerHints gathers the hints for a push to t: WithHints first, then
// the manifest at WithHintFrom, then the one at the destination tag, each
// filling only the paths the earlier ones left (every hint is proved by
// hashing before it saves an upload, so a stale one costs a read, never
// a wrong layer).
func layerHints(ctx context.Context, t target, reg *registry, o *options) map[string]hint {
	out := map[string]hint{}
	for p, d := range o.hints {
		if h, err := v1.NewHash(d); err == nil {
			out[p] = hint{digest: h, size: -1}
		}
	}
	var refs []name.Reference
	if o.hintFrom != "" {
		if r, err := name.ParseReference(o.hintFrom, nameOpts(o)...); err == nil && r.Context().RegistryStr() == reg.repo.RegistryStr() {
			refs = append(refs, r)
		}
	}
	if tag, ok := t.ref.(name.Tag); ok && !o.noTagHints && (len(refs) == 0 || refs[0].String() != tag.String()) {
		refs = append(refs, tag)
	}
	for _, ref := range refs {
		manifestHints(ctx, reg, ref, o, out)
	}
	return out
}

// manifestHints adds the layers of the manifest at ref to out, for the
// paths out has no hint for yet; a missing or unreadable manifest adds
// nothing.
func manifestHints(ctx context.Context, reg *registry, ref name.Reference, o *options, out map[string]hint) {
	src := &registrySource{reg: reg, ref: ref}
	if ref.Context().RepositoryStr() != reg.repo.RepositoryStr() {
		other, err := newRegistry(ctx, ref.Context(), o, false, nil)
		if err != nil {
			return
		}
		src.reg = other
	}
	_, raw, err := src.resolveRaw(ctx)
	if err != nil {
		return // no manifest there yet, or unreadable: no hints
	}
	m, err := ParseManifest(raw)
	if err != nil {
		return
	}
	for _, l := range m.Layers {
		p := LayerPath(l)
		d, err := v1.NewHash(l.Digest)
		if p == "" || err != nil {
			continue
		}
		if rel, err := cleanRel(p); err == nil {
			if _, have := out[rel]; !have {
				out[rel] = hint{digest: d, mediaType: l.MediaType, size: l.Size}
			}
		}
	}
}

// hintFor returns the hinted digest of p's layer, if any fits it.
func (o *options) hintFor(p *layerPlan) (v1.Hash, bool) {
	h, ok := o.layerHints[p.file.Path]
	if !ok {
		return v1.Hash{}, false
	}
	if h.mediaType == "" && p.format != FormatRaw {
		return v1.Hash{}, false
	}
	if h.mediaType != "" && h.mediaType != p.mediaType {
		return v1.Hash{}, false
	}
	if p.format == FormatRaw && h.size >= 0 && h.size != p.size {
		return v1.Hash{}, false
	}
	return h.digest, true
}

func nameOpts(o *options) []name.Option {
	if o.plainHTTP {
		return []name.Option{name.Insecure}
	}
	return nil
}
