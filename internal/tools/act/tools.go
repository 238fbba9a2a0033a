//go:build tools

// Package tools pins github.com/nektos/act at v0.2.89 for the tests of mlship.
// It is never compiled into mlship: build.sh builds the command from this module.
package tools

import _ "github.com/nektos/act"
