// Package testenv starts the real components that mlship's tests run against
// and finds the pinned tools they drive.
//
// Tool returns the path of a command pinned in internal/tools (the CNCF
// Distribution registry, cosign, act, oras, crane), building it on first use
// into <repo>/.cache/tools. StartRegistry runs a real Distribution registry
// on 127.0.0.1 with its storage in a temporary directory; InProcessRegistry
// is go-containerregistry's pkg/registry on httptest, for fast unit tests.
// Run, RunCmd and Command run a tool with its output captured into the test.
//
// Everything here is for tests: helpers take a testing.TB, fail the test
// with a message saying what to do, and clean up after it with t.Cleanup.
package testenv
