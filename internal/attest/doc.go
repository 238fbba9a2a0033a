// Package attest owns the contracts of mlship's attestations: the predicate
// type URIs and their cosign short names, the in-toto statement and the one
// decoder of DSSE envelopes, the eval predicate (the Result mlship eval
// writes, which attestations carry and promote reads) and the SLSA
// provenance predicate built from run-context values. It signs nothing and
// reads no environment: internal/sign signs and verifies, internal/gha
// reads the run context.
package attest
