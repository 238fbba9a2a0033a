package oci

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"sync"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

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

// TagInfo is one tag of a repository.
type TagInfo struct {
	Tag     string `json:"tag"`
	Digest  string `json:"digest"`
	Version string `json:"version,omitempty"`
	Created string `json:"created,omitempty"`
	Model   bool   `json:"model"`
	// Kind is TagKind(Tag): "" for a model's tag, else signature,
	// attestation, sbom or referrers.
	Kind string `json:"kind,omitempty"`
}

// List returns the tags of a repository (host/repo or oci:PATH) with the
// digest each points at and the version annotation of its manifest, sorted
// by tag.
func (c *Client) ListTags(ctx context.Context, repo string, opts ...Option) ([]TagInfo, error) {
	o := c.opts(opts)
	if len(repo) > len(LayoutPrefix) && repo[:len(LayoutPrefix)] == LayoutPrefix {
		ls, err := openLayoutSource(target{layout: filepath.Clean(repo[len(LayoutPrefix):])})
		if err != nil {
			return nil, err
		}
		tags, err := ls.tags()
		if err != nil {
			return nil, err
		}
		var out []TagInfo
		for tag, d := range tags {
			if o.tagFilter != nil && !o.tagFilter(tag) {
				continue
			}
			ti := TagInfo{Tag: tag, Digest: d.String(), Kind: TagKind(tag)}
			if rc, err := ls.p.Blob(d); err == nil {
				raw, _ := readAllLimit(rc, maxManifestSize)
				rc.Close()
				fillTagInfo(&ti, raw)
			}
			out = append(out, ti)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Tag < out[j].Tag })
		return out, nil
	}
	r, err := parseRepo(repo, o)
	if err != nil {
		return nil, err
	}
	reg, err := newRegistry(ctx, r, o, false, nil)
	if err != nil {
		return nil, err
	}
	var tags []string
	err = reg.retry(ctx, func() error {
		tags, err = remote.List(r, reg.remoteOpts(ctx)...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listing tags of %s: %w", repo, err)
	}
	if o.tagFilter != nil {
		kept := tags[:0:0]
		for _, tag := range tags {
			if o.tagFilter(tag) {
				kept = append(kept, tag)
			}
		}
		tags = kept
	}
	out := make([]TagInfo, len(tags))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	errs := make([]error, len(tags))
	for i, tag := range tags {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			src := &registrySource{reg: reg, ref: r.Tag(tag)}
			d, raw, err := src.resolveRaw(ctx)
			if err != nil {
				errs[i] = err
				return
			}
			out[i] = TagInfo{Tag: tag, Digest: d.String(), Kind: TagKind(tag)}
			fillTagInfo(&out[i], raw)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Tag < out[j].Tag })
	return out, nil
}

func fillTagInfo(ti *TagInfo, raw []byte) {
	m, err := ParseManifest(raw)
	if err != nil {
		return
	}
	ti.Version = m.Annotations[AnnotationVersion]
	ti.Created = m.Annotations[AnnotationCreated]
	ti.Model = m.IsModel()
}
