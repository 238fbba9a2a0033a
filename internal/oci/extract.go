package oci

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/zstd"
)

// ErrRefused marks content that Pull will not write: unsafe paths, links
// escaping the target, unknown media types, digest mismatches.
var ErrRefused = errors.New("refused")

func refusef(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, a...))
}

// verifyingReader hashes what it reads and fails at EOF unless the size
// and digest match; a blob longer than its descriptor fails at once, and
// any other end of the stream (a cut connection) is an error naming how
// far it got. Consumers call complete when they are done, so that a blob
// is never taken as verified unless its end was reached and checked.
type verifyingReader struct {
	r        io.Reader
	h        hash.Hash
	want     v1.Hash
	size     int64
	n        int64
	prog     func(int64)
	err      error // sticky once the blob failed
	verified bool  // EOF was reached with the right size and digest
}

func newVerifyingReader(r io.Reader, want v1.Hash, size int64) *verifyingReader {
	return &verifyingReader{r: r, h: sha256.New(), want: want, size: size}
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if v.verified {
		return 0, io.EOF
	}
	if rem := v.size - v.n + 1; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := v.r.Read(p)
	if n > 0 {
		v.h.Write(p[:n])
		v.n += int64(n)
		if v.n > v.size {
			v.err = refusef("blob %s is larger than its %d bytes", v.want, v.size)
			return n, v.err
		}
		if v.prog != nil {
			v.prog(int64(n))
		}
	}
	switch {
	case err == io.EOF:
		if v.n != v.size {
			v.err = refusef("blob %s has %d bytes, expected %d", v.want, v.n, v.size)
			return n, v.err
		}
		if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want.Hex {
			v.err = refusef("blob %s does not match its digest (got sha256:%s)", v.want, got)
			return n, v.err
		}
		v.verified = true
	case err != nil:
		v.err = fmt.Errorf("blob %s ended after %d of %d bytes (not verified): %w", v.want, v.n, v.size, err)
		return n, v.err
	}
	return n, err
}

// complete returns nil only if the blob was read to its end and matched
// its size and digest: every path that finishes with a blob calls it.
func (v *verifyingReader) complete() error {
	if v.err != nil {
		return v.err
	}
	if !v.verified {
		return fmt.Errorf("blob %s was not read to its end (%d of %d bytes): not verified", v.want, v.n, v.size)
	}
	return nil
}

// drain reads the rest so that the digest is checked.
func (v *verifyingReader) drain() error {
	if _, err := io.Copy(io.Discard, v); err != nil {
		return err
	}
	return v.complete()
}

func readAllLimit(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("more than %d bytes", limit)
	}
	return b, nil
}

// extractor writes layers under a root directory (os.Root keeps every
// write inside it) and refuses anything that would escape it.
type extractor struct {
	root *os.Root
	dir  string
	buf  int
	ctx  context.Context
	// dirs are paths known to be real directories (created or checked
	// here): a directory cannot later become a symlink (Symlink fails on
	// an existing name), so they need no second Lstat. Layers extract in
	// parallel, hence the sync.Map.
	dirs sync.Map
}

// Tar path bounds: deeper or longer names are not model content, and
// would make every entry cost time in proportion to its depth.
const (
	maxPathDepth = 128
	maxPathLen   = 4096
)

// zstd bounds: a frame may declare a window of up to 3.75 TiB; the
// decoder holds the window in memory, so larger ones are refused (zstd's
// own levels 1-19 use at most 8 MiB, --ultra 22 and --long 27 at most
// 128 MiB... which mlship does not write).
const (
	maxZstdWindow = 32 << 20
	maxZstdMemory = 64 << 20
)

// maxExpansion bounds how many bytes a compressed tar layer may unpack to
// per byte of blob (gzip tops out near 1032:1); an uncompressed tar may
// not unpack to more than its own size. Sparse entries are refused: they
// would let a small layer fill the disk.
const maxExpansion = 1100

// writeRaw writes one raw layer's verified stream to rel with mode perm.
func (x *extractor) writeRaw(rel string, vr *verifyingReader, perm fs.FileMode) error {
	if err := x.noSymlinkParent(rel); err != nil {
		return err
	}
	if d := path.Dir(rel); d != "." {
		if err := x.root.MkdirAll(d, 0o755); err != nil {
			return refusef("cannot create directory %s: %v", d, err)
		}
	}
	f, err := x.root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return refusef("cannot create %s: %v", rel, err)
	}
	// Network reads and verification overlap with the file writes.
	ra := newReadAhead(vr, x.buf, 4)
	_, err = ra.WriteTo(f)
	ra.Close()
	ra.wait()
	if err == nil {
		err = vr.complete()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if errors.Is(err, ErrRefused) {
			return err
		}
		return fmt.Errorf("writing %s: %w", rel, err)
	}
	return nil
}

// extractTar unpacks a tar stream (compressed per format) of a blob of
// blobSize bytes.
func (x *extractor) extractTar(r io.Reader, format Format, blobSize int64) error {
	budget := blobSize
	if format != FormatTar {
		budget = blobSize*maxExpansion + 1<<20
	}
	switch format {
	case FormatTarGzip:
		gz, err := gzip.NewReader(r)
		if err != nil {
			return refusef("layer is not gzip: %v", err)
		}
		defer gz.Close()
		r = gz
	case FormatTarZstd:
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(maxZstdWindow), zstd.WithDecoderMaxMemory(maxZstdMemory))
		if err != nil {
			return refusef("layer is not zstd: %v", err)
		}
		defer zr.Close()
		r = zr
	}
	tr := tar.NewReader(r)
	for {
		if x.ctx != nil && x.ctx.Err() != nil {
			return x.ctx.Err()
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if errors.Is(err, ErrRefused) {
				return err
			}
			if errors.Is(err, zstd.ErrWindowSizeExceeded) || errors.Is(err, zstd.ErrDecoderSizeExceeded) {
				return refusef("zstd layer needs more than %d MiB of window (%v)", maxZstdWindow>>20, err)
			}
			return refusef("reading tar: %v", err)
		}
		if len(hdr.Name) > maxPathLen || strings.Count(hdr.Name, "/") > maxPathDepth || len(hdr.Linkname) > maxPathLen {
			return refusef("tar entry %.80q... is deeper or longer than model paths may be (%d elements, %d bytes)", hdr.Name, maxPathDepth, maxPathLen)
		}
		if hdr.Typeflag == tar.TypeGNUSparse || hasSparseRecord(hdr) {
			return refusef("tar entry %s is a sparse file", hdr.Name)
		}
		if hdr.Size < 0 || hdr.Size > budget {
			return refusef("tar entry %s unpacks to more bytes (%d) than the layer allows", hdr.Name, hdr.Size)
		}
		budget -= hdr.Size
		if err := x.entry(tr, hdr); err != nil {
			return err
		}
	}
}

func (x *extractor) entry(tr io.Reader, hdr *tar.Header) error {
	name := strings.TrimSuffix(hdr.Name, "/")
	name = strings.TrimPrefix(name, "./")
	if name == "" || name == "." {
		if hdr.Typeflag == tar.TypeDir {
			return nil
		}
		return refusef("tar entry %q has no name", hdr.Name)
	}
	rel, err := cleanRel(name)
	if err != nil {
		return refusef("tar entry: %v", err)
	}
	if err := x.noSymlinkParent(rel); err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := x.root.MkdirAll(rel, 0o755); err != nil {
			return refusef("cannot create directory %s: %v", rel, err)
		}
		return nil
	case tar.TypeReg, 0: // 0 is the pre-POSIX (V7) regular-file flag, still written by old tools
		mode := fs.FileMode(0o644)
		if hdr.Mode&0o111 != 0 {
			mode = 0o755
		}
		if d := path.Dir(rel); d != "." {
			if err := x.root.MkdirAll(d, 0o755); err != nil {
				return refusef("cannot create directory %s: %v", d, err)
			}
		}
		f, err := x.root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if err != nil {
			return refusef("cannot create %s: %v", rel, err)
		}
		_, err = io.CopyBuffer(struct{ io.Writer }{f}, struct{ io.Reader }{tr}, make([]byte, x.buf))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			if errors.Is(err, ErrRefused) {
				return err
			}
			return fmt.Errorf("writing %s: %w", rel, err)
		}
		return nil
	case tar.TypeSymlink:
		if err := checkLinkTarget(rel, hdr.Linkname); err != nil {
			return err
		}
		if d := path.Dir(rel); d != "." {
			if err := x.root.MkdirAll(d, 0o755); err != nil {
				return refusef("cannot create directory %s: %v", d, err)
			}
		}
		if err := x.root.Symlink(hdr.Linkname, rel); err != nil {
			return refusef("cannot create symlink %s: %v", rel, err)
		}
		return nil
	case tar.TypeLink:
		target, err := cleanRel(strings.TrimPrefix(hdr.Linkname, "./"))
		if err != nil {
			return refusef("hardlink %s: %v", rel, err)
		}
		if err := x.noSymlinkParent(target); err != nil {
			return err
		}
		fi, err := x.root.Lstat(target)
		if err != nil || !fi.Mode().IsRegular() {
			return refusef("hardlink %s points at %s, which is not a file extracted before it", rel, hdr.Linkname)
		}
		if d := path.Dir(rel); d != "." {
			if err := x.root.MkdirAll(d, 0o755); err != nil {
				return refusef("cannot create directory %s: %v", d, err)
			}
		}
		if err := x.root.Link(target, rel); err != nil {
			return refusef("cannot create hardlink %s: %v", rel, err)
		}
		return nil
	case tar.TypeXGlobalHeader, tar.TypeXHeader:
		return nil
	}
	return refusef("tar entry %s has unsupported type %q (devices, fifos are not model content)", rel, hdr.Typeflag)
}

// checkLinkTarget refuses symlink targets that are absolute or leave the
// root. ".." may only lead the target, so that its lexical meaning is its
// real meaning (no "dir/.." through a symlinked dir).
func checkLinkTarget(rel, target string) error {
	if target == "" || strings.ContainsRune(target, 0) || strings.Contains(target, `\`) {
		return refusef("symlink %s has an invalid target %q", rel, target)
	}
	if path.IsAbs(target) || filepath.IsAbs(target) {
		return refusef("symlink %s points at an absolute path %s", rel, target)
	}
	leading := true
	for _, el := range strings.Split(target, "/") {
		if el == ".." {
			if !leading {
				return refusef("symlink %s has '..' inside its target %s", rel, target)
			}
			continue
		}
		if el != "." && el != "" {
			leading = false
		}
	}
	res := path.Clean(path.Join(path.Dir(rel), target))
	if res == ".." || strings.HasPrefix(res, "../") {
		return refusef("symlink %s points outside the target directory (%s)", rel, target)
	}
	return nil
}

// noSymlinkParent refuses entries that would be written through a
// symlink: their meaning would depend on the link, not on their name.
func (x *extractor) noSymlinkParent(rel string) error {
	for i := 0; i < len(rel); i++ {
		if rel[i] != '/' {
			continue
		}
		p := rel[:i]
		if _, ok := x.dirs.Load(p); ok {
			continue
		}
		fi, err := x.root.Lstat(p)
		if err != nil {
			return nil // not there yet: created as a directory
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return refusef("%s would be written through the symlink %s", rel, p)
		}
		if fi.IsDir() {
			x.dirs.Store(p, true)
		}
	}
	return nil
}

// checkTree re-checks every symlink under dir once all layers are in, as
// a guard against layers racing each other.
func checkTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		t, err := os.Readlink(p)
		if err != nil {
			return err
		}
		return checkLinkTarget(filepath.ToSlash(rel), filepath.ToSlash(t))
	})
}

func hasSparseRecord(h *tar.Header) bool {
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}
