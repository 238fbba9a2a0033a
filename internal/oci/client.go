package oci

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Client is the one door to registries and oci:PATH layouts: every
// method takes a registry reference (host/repo[:tag|@digest]) or a layout
// reference (oci:PATH[:tag|@digest]) and behaves the same for both. Build
// it once per process (NewClient) from the settings every call shares
// (plain HTTP, keychain, transport, user agent, jobs); the options a
// method takes add per-call settings (annotations, roles, a verifier...).
// A nil *Client is a client with the defaults.
type Client struct {
	base options
}

// NewClient returns a client with opts as its shared settings.
func NewClient(opts ...Option) *Client {
	return &Client{base: *makeOptions(opts)}
}

// opts returns the client's settings with extra applied on top; the
// client itself is not changed.
func (c *Client) opts(extra []Option) *options {
	if c == nil {
		return makeOptions(extra)
	}
	o := c.base
	o.annotations = maps.Clone(c.base.annotations)
	o.roles = maps.Clone(c.base.roles)
	for _, opt := range extra {
		opt(&o)
	}
	if o.jobs < 1 {
		o.jobs = 1
	}
	return &o
}

// PlainHTTP reports whether the client speaks plain HTTP to registries
// that are not on loopback.
func (c *Client) PlainHTTP() bool { return c.opts(nil).plainHTTP }

// NameOptions are the go-containerregistry reference options matching the
// client (name.Insecure with plain HTTP), for cosign's ociremote.
func (c *Client) NameOptions() []name.Option {
	if c.opts(nil).plainHTTP {
		return []name.Option{name.Insecure}
	}
	return nil
}

// RemoteOptions are the go-containerregistry remote options matching the
// client (credentials, transport with the plain-HTTP guard, user agent,
// jobs), for cosign's ociremote, which speaks to registries itself.
func (c *Client) RemoteOptions(ctx context.Context) []remote.Option {
	o := c.opts(nil)
	base := o.transport
	if base == nil {
		base = newBaseTransport(o.jobs)
	}
	ro := []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(schemeGuard{inner: base, allowHTTP: o.plainHTTP, loopback: true}),
		remote.WithUserAgent(userAgent(o)),
		remote.WithJobs(o.jobs),
	}
	if o.auth != nil {
		return append(ro, remote.WithAuth(o.auth))
	}
	kc := o.keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	return append(ro, remote.WithAuthFromKeychain(kc))
}

// Manifest returns the digest, bytes and media type of the manifest ref
// points at; the bytes are checked against the digest. A missing tag,
// manifest, repository or layout gives an error wrapping ErrNotFound.
func (c *Client) Manifest(ctx context.Context, ref string, opts ...Option) (digest string, raw []byte, mediaType string, err error) {
	src, _, err := openSource(ctx, ref, c.opts(opts))
	if err != nil {
		return "", nil, "", err
	}
	d, raw, err := src.resolveRaw(ctx)
	if err != nil {
		return "", nil, "", err
	}
	return d.String(), raw, manifestMediaType(raw), nil
}

// manifestMediaType reads the mediaType field of a manifest or index; an
// OCI manifest without one is an image manifest.
func manifestMediaType(raw []byte) string {
	var probe struct {
		MediaType string `json:"mediaType"`
	}
	if json.Unmarshal(raw, &probe) == nil && probe.MediaType != "" {
		return probe.MediaType
	}
	return ManifestMediaType
}

// Blob reads the blob digest of repo (host/repo or oci:PATH), at most
// limit bytes, and checks it against its digest. A missing blob gives an
// error wrapping ErrNotFound.
func (c *Client) Blob(ctx context.Context, repo, digest string, limit int64, opts ...Option) ([]byte, error) {
	d, err := v1.NewHash(digest)
	if err != nil {
		return nil, fmt.Errorf("blob digest %q: %w", digest, err)
	}
	src, _, err := openSource(ctx, repo+"@"+d.String(), c.opts(opts))
	if err != nil {
		return nil, err
	}
	rc, err := src.blob(ctx, d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading blob %s of %s: %w", d, repo, Redact(err))
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("blob %s of %s is larger than %d bytes", d, repo, limit)
	}
	if sha256Hash(b) != d {
		return nil, fmt.Errorf("blob %s of %s does not match its digest", d, repo)
	}
	return b, nil
}

// FindAnnotated returns the digest reference and digest of the manifest
// of repo tagged tag whose annotation key equals value in full; in an
// oci:PATH layout every index entry is searched too (layouts written by
// other tools need not carry the tag). It returns "", "", nil when there
// is none.
func (c *Client) FindAnnotated(ctx context.Context, repo, tag, key, value string, opts ...Option) (ref, digest string, err error) {
	o := c.opts(opts)
	t, err := parseTarget(repo+":"+tag, o)
	if err != nil {
		return "", "", err
	}
	if t.isLayout() {
		return findInLayout(t, key, value)
	}
	d, raw, _, err := c.Manifest(ctx, repo+":"+tag, opts...)
	if IsNotFound(err) {
		return "", "", nil
	}
	if err != nil {
		return "", "", err
	}
	if annotation(raw, key) != value {
		return "", "", nil
	}
	return t.ref.Context().Digest(d).String(), d, nil
}

func annotation(raw []byte, key string) string {
	var m struct {
		Annotations map[string]string `json:"annotations"`
	}
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	return m.Annotations[key]
}

func findInLayout(t target, key, value string) (string, string, error) {
	ls, err := openLayoutSource(t)
	if IsNotFound(err) {
		return "", "", nil
	}
	if err != nil {
		return "", "", err
	}
	idx, err := ls.indexManifest()
	if err != nil {
		return "", "", err
	}
	for _, d := range idx.Manifests {
		if d.Annotations[key] == value || ls.manifestAnnotation(d.Digest, key) == value {
			return LayoutPrefix + t.layout + "@" + d.Digest.String(), d.Digest.String(), nil
		}
	}
	return "", "", nil
}

func userAgent(o *options) string {
	if o.userAgent == "" {
		return "mlship"
	}
	return o.userAgent
}

// Resolve returns the manifest digest ref points at.
func (c *Client) Resolve(ctx context.Context, ref string, opts ...Option) (string, error) {
	o := c.opts(opts)
	t, err := parseTarget(ref, o)
	if err != nil {
		return "", err
	}
	if t.isLayout() {
		ls, err := openLayoutSource(t)
		if err != nil {
			return "", err
		}
		d, _, err := ls.resolve()
		return d.String(), err
	}
	if dg, ok := t.ref.(name.Digest); ok {
		return dg.DigestStr(), nil
	}
	reg, err := newRegistry(ctx, t.ref.Context(), o, false, nil)
	if err != nil {
		return "", err
	}
	var desc *v1.Descriptor
	err = reg.retry(ctx, func() error {
		desc, err = remote.Head(t.ref, reg.remoteOpts(ctx)...)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("resolving %s: %w", ref, err)
	}
	return desc.Digest.String(), nil
}

// Tag points tag (a bare tag, in ref's repository) at what ref resolves to
// and returns the new tag's reference and digest.
func (c *Client) Tag(ctx context.Context, ref, tag string, opts ...Option) (Result, error) {
	o := c.opts(opts)
	t, err := parseTarget(ref, o)
	if err != nil {
		return Result{}, err
	}
	if !validTag(tag) {
		return Result{}, fmt.Errorf("invalid tag %q: use letters, digits, '_', '.', '-' (at most 128)", tag)
	}
	if t.isLayout() {
		ls, err := openLayoutSource(t)
		if err != nil {
			return Result{}, err
		}
		d, raw, err := ls.resolve()
		if err != nil {
			return Result{}, err
		}
		sink := &layoutSink{t: target{layout: t.layout, layoutTag: tag}, p: ls.p, buf: 1 << 20}
		if err := sink.putManifest(ctx, raw, d); err != nil {
			return Result{}, err
		}
		return Result{Digest: d.String(), Ref: LayoutPrefix + t.layout + "@" + d.String(), Tag: LayoutPrefix + t.layout + ":" + tag}, nil
	}
	reg, err := newRegistry(ctx, t.ref.Context(), o, true, nil)
	if err != nil {
		return Result{}, err
	}
	src := &registrySource{reg: reg, ref: t.ref}
	d, raw, err := src.resolveRaw(ctx)
	if err != nil {
		return Result{}, err
	}
	nt := t.ref.Context().Tag(tag)
	if err := reg.putManifest(ctx, nt, raw, manifestMediaType(raw)); err != nil {
		return Result{}, err
	}
	return Result{Digest: d.String(), Ref: t.ref.Context().Digest(d.String()).String(), Tag: nt.String()}, nil
}

// With returns a client with the settings of c and opts on top (e.g. plain
// HTTP that a spec asks for); c is not changed.
func (c *Client) With(opts ...Option) *Client {
	return &Client{base: *c.opts(opts)}
}
