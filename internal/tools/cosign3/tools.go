//go:build tools

// Package tools pins github.com/sigstore/cosign/v3/cmd/cosign at v3.1.3 for the tests of mlship.
// It is never compiled into mlship: build.sh builds the command from this module.
package tools

import _ "github.com/sigstore/cosign/v3/cmd/cosign"
