//go:build tools

// Package tools pins github.com/sigstore/cosign/v2/cmd/cosign at v2.6.5 for the tests of mlship.
// It is never compiled into mlship: build.sh builds the command from this module.
package tools

import _ "github.com/sigstore/cosign/v2/cmd/cosign"
