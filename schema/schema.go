// Package schema embeds the CUE schema of mlship model specs and of the
// environments file. The CUE source is the single source of truth: Go code
// reads defaults and constraints from it instead of repeating them.
package schema

import _ "embed"

// Source is the CUE schema (package schema) defining #Model and #Environments.
//
//go:embed model.cue
var Source string

// Filename is the name positions in schema errors refer to.
const Filename = "schema/model.cue"
