//go:build tools

// Package tools pins github.com/distribution/distribution/v3/cmd/registry at v3.1.2 for the tests of mlship.
// It is never compiled into mlship: build.sh builds the command from this module.
package tools

import _ "github.com/distribution/distribution/v3/cmd/registry"
