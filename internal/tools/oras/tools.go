//go:build tools

// Package tools pins oras.land/oras/cmd/oras at v1.3.6 for the tests of mlship.
// It is never compiled into mlship: build.sh builds the command from this module.
package tools

import _ "oras.land/oras/cmd/oras"
