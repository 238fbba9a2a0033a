// Package spec loads mlship model specs (CUE, JSON or YAML), unifies them
// with the embedded schema, runs the semantic checks CUE cannot express and
// returns a typed view. Every problem is reported with file:line:col in the
// user's files, so it can become a GitHub annotation on the right line.
package spec
