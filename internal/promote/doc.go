// Package promote owns promotion through environments, GitOps style: the
// desired state (which digest each environment runs) lives in the
// environments file in git; a plan compares two commits of that file and
// checks, per changed environment, named rules (digest-exists, signature,
// attestations, order, approvals); apply re-checks the plan for a commit on
// main, moves the environment tags in the registry with a compare-and-swap
// and records GitHub deployments; propose opens the next promotion pull
// request; Status compares git, the registry and GitHub.
//
// It reads git through the git CLI, the registry through internal/oci,
// signatures through internal/sign and GitHub through internal/ghapi, each
// behind a small interface so that tests and other callers can swap them.
package promote
