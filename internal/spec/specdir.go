package spec

import (
	"os"
	"slices"
	"strings"
)

// IsSpecFile reports whether name, a file's base name in a spec
// directory, is one Load reads: a *.cue file (not *_tool.cue, not hidden)
// or model.json / model.yaml / model.yml.
func IsSpecFile(name string) bool {
	if name == "" || strings.HasPrefix(name, ".") || strings.ContainsAny(name, `/\`) {
		return false
	}
	if slices.Contains(specFileNames, name) {
		return true
	}
	return strings.HasSuffix(name, ".cue") && !strings.HasSuffix(name, "_tool.cue")
}

// IsSpecDir reports whether dir is a spec directory: a directory holding
// at least one file IsSpecFile accepts, which is exactly when Load reads a
// spec from it. It is the one answer every command uses.
func IsSpecDir(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if !e.IsDir() && IsSpecFile(e.Name()) {
			return true
		}
	}
	return false
}
