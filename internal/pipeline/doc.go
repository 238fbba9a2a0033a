// Package pipeline holds mlship's use cases: validate, train, matrix, eval,
// drift, package/push, pull, sign, attest, verify, report and promote. Each
// takes a context, the run context (Run) and a typed request, and returns a
// typed result; internal/cli parses flags and prints, internal/demo calls
// the same functions.
package pipeline
