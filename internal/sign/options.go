package sign

import (
	"context"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"

	"github.com/mlship/mlship/internal/oci"
)

// Option configures Sign, Attest and Verify.
type Option func(*options)

type options struct {
	client  *oci.Client
	remote  []remote.Option
	name    []name.Option
	now     func() time.Time
	replace bool
	extra   [][]byte
	format  Format
}

func makeOptions(opts []Option) *options {
	o := &options{now: time.Now, format: FormatBoth}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// WithClient speaks to registries through c: its credentials, transport,
// plain-HTTP setting and user agent (c.RemoteOptions, c.NameOptions).
// Without it the defaults of a nil *oci.Client apply (the Docker config).
func WithClient(c *oci.Client) Option {
	return func(o *options) {
		o.client = c
		o.name = append(o.name, c.NameOptions()...)
	}
}

// WithRemoteOptions adds go-containerregistry remote options (auth,
// transport, user agent) used for every registry call.
func WithRemoteOptions(opts ...remote.Option) Option {
	return func(o *options) { o.remote = append(o.remote, opts...) }
}

// WithNameOptions adds reference parsing options (name.Insecure for a
// plain-HTTP registry that is not on loopback).
func WithNameOptions(opts ...name.Option) Option {
	return func(o *options) { o.name = append(o.name, opts...) }
}

// WithClock replaces time.Now (signature timestamps and max-age checks).
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// WithReplace makes Sign and Attest replace earlier signatures by the
// same signer (or attestations of the same predicate type) instead of
// appending, so re-runs stay idempotent in size.
func WithReplace(replace bool) Option {
	return func(o *options) { o.replace = replace }
}

// WithExtraBundles makes Verify (signatures and attestation rules) also
// consider these Sigstore bundles (JSON) as if they were attached to the
// artifact in the registry, e.g. bundles read from GitHub's attestations
// API. They are verified exactly like the registry's: a bundle about
// another digest or by another signer is refused.
func WithExtraBundles(b ...[]byte) Option {
	return func(o *options) { o.extra = append(o.extra, b...) }
}

// WithFormat chooses what Sign and Attest write: FormatBoth (the
// default), FormatBundle or FormatLegacy. Verify reads all of them.
func WithFormat(f Format) Option {
	return func(o *options) {
		if f != "" {
			o.format = f
		}
	}
}

// remoteOpts are the client's remote options, then WithRemoteOptions'.
func (o *options) remoteOpts(ctx context.Context) []remote.Option {
	return append(o.client.RemoteOptions(ctx), o.remote...)
}

func (o *options) ociOpts() []ociremote.Option {
	return []ociremote.Option{ociremote.WithRemoteOptions(o.remoteOpts(context.Background())...), ociremote.WithNameOptions(o.name...)}
}
