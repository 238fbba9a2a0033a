// Package iris embeds the iris example (spec, data, environments file) so
// that `mlship demo` can run it on a machine holding nothing but the
// binary. The example itself runs as shown in its README.
package iris

import "embed"

// Files are the example's spec, data, README and environments file.
//
//go:embed model.cue README.md data/*.csv mlship/environments.cue
var Files embed.FS
