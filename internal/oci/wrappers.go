package oci

import "context"

// The functions below are the Client's methods on a client built from
// opts alone, for callers that make one call.

// Push is NewClient(opts...).Push.
func Push(ctx context.Context, src Source, ref string, opts ...Option) (Result, error) {
	return NewClient(opts...).Push(ctx, src, ref)
}

// Pull is NewClient(opts...).Pull.
func Pull(ctx context.Context, ref, dir string, opts ...Option) (PullResult, error) {
	return NewClient(opts...).Pull(ctx, ref, dir)
}

// Inspect is NewClient(opts...).Inspect.
func Inspect(ctx context.Context, ref string, opts ...Option) (*Artifact, error) {
	return NewClient(opts...).Inspect(ctx, ref)
}

// Resolve is NewClient(opts...).Resolve.
func Resolve(ctx context.Context, ref string, opts ...Option) (string, error) {
	return NewClient(opts...).Resolve(ctx, ref)
}

// Tag is NewClient(opts...).Tag.
func Tag(ctx context.Context, ref, tag string, opts ...Option) (Result, error) {
	return NewClient(opts...).Tag(ctx, ref, tag)
}

// List is NewClient(opts...).ListTags.
func List(ctx context.Context, repo string, opts ...Option) ([]TagInfo, error) {
	return NewClient(opts...).ListTags(ctx, repo)
}
