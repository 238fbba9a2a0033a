// Package e2e holds mlship's end-to-end tests: the examples' real workflow
// files run by nektos/act on the host (`-P ubuntu-latest=-self-hosted`),
// with `uses: mlship/mlship/...@v1` resolved to this checkout, against a real
// CNCF Distribution registry process and the GitHub REST emulator of
// internal/githubtest.
//
// The package has no code of its own: everything is in its tests, which are
// slow (minutes) and skipped under `go test -short`.
package e2e
