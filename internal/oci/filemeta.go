package oci

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"

	modelspec "github.com/modelpack/model-spec/specs-go/v1"
)

// AnnotationFileMetadata is ModelPack's layer annotation holding a raw
// file's metadata (JSON of modelspec.FileMetadata), as modctl writes and
// reads it: mode, owner, size, mtime, type.
const AnnotationFileMetadata = modelspec.AnnotationFileMetadata

// fileMetadata is the annotation value for a raw layer of a regular file.
// Only what the model needs travels, normalised as in tar layers: the
// exec bit (0o755 or 0o644), owner 0, the epoch as mtime, so that the
// same files give the same digest on every machine.
func fileMetadata(rel string, mode fs.FileMode, size int64) (string, error) {
	perm := uint32(0o644)
	if mode&0o111 != 0 {
		perm = 0o755
	}
	b, err := json.Marshal(modelspec.FileMetadata{
		Name: path.Base(rel), Mode: perm, Size: size, ModTime: epoch,
		Typeflag: 0, // modctl writes 0 for a regular file
	})
	if err != nil {
		return "", fmt.Errorf("encoding the file metadata of %s: %w", rel, err)
	}
	return string(b), nil
}

// rawFileMode is the mode a raw layer's file is created with: the mode of
// its file metadata annotation made safe, or 0o644 without one. A
// malformed annotation is refused rather than ignored.
func rawFileMode(d Descriptor) (fs.FileMode, error) {
	raw, ok := d.Annotations[AnnotationFileMetadata]
	if !ok {
		return 0o644, nil
	}
	var fm modelspec.FileMetadata
	if err := json.Unmarshal([]byte(raw), &fm); err != nil {
		return 0, refusef("layer %s: the %s annotation is not valid file metadata: %v", d.Digest, AnnotationFileMetadata, err)
	}
	return safePerm(fm.Mode), nil
}

// safePerm keeps the permission bits only (never setuid, setgid or
// sticky), drops group and world write, and always leaves the owner able
// to read and write; the process umask applies on top when the file is
// created.
func safePerm(mode uint32) fs.FileMode {
	return fs.FileMode(mode)&0o755 | 0o600
}
