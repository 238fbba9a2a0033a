// Package sign owns cosign-compatible signatures and in-toto attestations
// for model artifacts, keyed (a cosign key pair) or keyless (GitHub Actions
// OIDC token → Fulcio certificate → Rekor entry), and the verification
// Policy that verify, pull --verify and promote share.
//
// Signatures and attestations are stored in cosign's tag scheme
// (sha256-<hex>.sig / .att in the artifact's repository), which every
// registry supports (GHCR has no referrers API) and the cosign CLI reads.
// Everything signs the manifest DIGEST; tags are resolved first.
package sign
