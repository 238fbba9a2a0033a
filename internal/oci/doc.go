// Package oci packages models as CNCF ModelPack OCI artifacts (model-spec
// v0.0.7) and moves them between a directory, OCI registries and OCI image
// layouts (oci:PATH).
//
// Push reads each file once: it hashes while it streams the bytes to the
// registry with the chunked upload protocol, uploads layers in parallel,
// skips blobs the registry already has (HEAD, or a cross-repository mount)
// and remembers file digests in a cache keyed on path, size, mtime and inode
// so that re-pushing an unchanged model costs a few HEAD requests. Pull
// verifies every digest while streaming, refuses unsafe paths and unknown
// media types, and renames the result into place only when all of it
// verified. Behaviour is tuned with functional options (options.go).
package oci
