//go:build tools

// Package tools pins github.com/google/go-containerregistry/cmd/crane at v0.22.1 for the tests of mlship.
// It is never compiled into mlship: build.sh builds the command from this module.
package tools

import _ "github.com/google/go-containerregistry/cmd/crane"
