//go:build tools

// Package tools pins github.com/rhysd/actionlint/cmd/actionlint at v1.7.12 for the tests of mlship.
// It is never compiled into mlship: build.sh builds the command from this module.
package tools

import _ "github.com/rhysd/actionlint/cmd/actionlint"
