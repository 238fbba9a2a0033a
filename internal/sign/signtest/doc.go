// Package signtest runs a keyless-signing stack on loopback for tests: an
// OIDC issuer that emulates the GitHub Actions token service and really
// signs JWTs (discovery document, JWKS, ACTIONS_ID_TOKEN_REQUEST_URL
// endpoint), a Fulcio-compatible CA (POST /api/v2/signingCert) that
// verifies those tokens and the proof of possession before issuing
// certificates, and a Rekor-compatible log (POST /api/v1/log/entries) that
// canonicalizes entries with Rekor's own type code and returns signed
// entry timestamps. The CA and log keys come from sigstore-go's
// pkg/testing/ca.
//
// What it stubs: no Merkle tree or inclusion proofs (entries carry a
// signed entry timestamp only, which is what cosign's offline bundle
// check verifies), no certificate-transparency log (certificates carry no
// SCT; verify with the SCT check off), no persistence, no rate limits.
package signtest
