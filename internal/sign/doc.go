// Package sign owns cosign-compatible signatures and in-toto attestations
// for model artifacts, keyed (a cosign key pair) or keyless (GitHub Actions
// OIDC token → Fulcio certificate → Rekor entry), and the verification
// Policy that verify, pull --verify and promote share.
//
// Signatures and attestations are written in cosign 3's format, a
// Sigstore bundle (v0.3) pushed as an OCI 1.1 referrer of the digest
// (referrers API, or the referrers tag schema where the registry has none,
// as GHCR), and in cosign 2's legacy tags (sha256-<hex>.sig / .att), as
// WithFormat says; Verify and Statements read both. Bundles are built with
// sigstore-go, and both formats are verified by it (a legacy layer is
// converted to a v0.1 bundle first). Everything signs the manifest DIGEST; tags
// are resolved first.
package sign
