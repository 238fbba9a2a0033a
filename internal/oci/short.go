package oci

import "strings"

// ShortDigest abbreviates sha256:<64 hex> to sha256:<12 hex> for humans;
// anything else (another algorithm, a short or empty string) is returned
// unchanged. It is the one digest shortener every renderer uses.
func ShortDigest(d string) string {
	if hex, ok := strings.CutPrefix(d, "sha256:"); ok && len(hex) > 12 {
		return "sha256:" + hex[:12]
	}
	return d
}
