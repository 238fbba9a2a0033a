package oci

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/zstd"

	"github.com/mlship/mlship/internal/oci/digestcache"
)

// layerPlan is one layer to push: where its bytes come from and, once
// known, its digests.
type layerPlan struct {
	file      File
	abs       string
	isDir     bool
	format    Format
	mediaType string
	// size is the file size for raw layers, the sum of file sizes for tar.
	size     int64
	cacheKey string
	stat     digestcache.Stat
	// meta is the file metadata annotation of a raw layer.
	meta string

	digest v1.Hash
	diffID v1.Hash
	blob   int64 // blob size in bytes
}

func planLayers(src Source) ([]*layerPlan, error) {
	if src.Dir == "" {
		return nil, fmt.Errorf("source has no directory")
	}
	if len(src.Files) == 0 {
		return nil, fmt.Errorf("source %s has no files to package", src.Dir)
	}
	root, err := filepath.EvalSymlinks(src.Dir)
	if err != nil {
		return nil, fmt.Errorf("model root %s: %w", src.Dir, err)
	}
	seen := map[string]bool{}
	plans := make([]*layerPlan, 0, len(src.Files))
	for _, f := range src.Files {
		rel, err := cleanRel(f.Path)
		if err != nil {
			return nil, fmt.Errorf("packaging %s: %w", src.Dir, err)
		}
		if seen[rel] {
			return nil, fmt.Errorf("packaging %s: %s is listed twice", src.Dir, rel)
		}
		seen[rel] = true
		if _, err := ParseRole(string(f.Role)); err != nil {
			return nil, fmt.Errorf("packaging %s: %w", rel, err)
		}
		p := &layerPlan{file: f, abs: filepath.Join(src.Dir, filepath.FromSlash(rel))}
		p.file.Path = rel
		fi, err := os.Stat(p.abs)
		if err != nil {
			return nil, fmt.Errorf("packaging %s: %w (did training write it?)", rel, err)
		}
		if err := insideRoot(root, p.abs, rel); err != nil {
			return nil, err
		}
		p.isDir = fi.IsDir()
		if !p.isDir && !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("packaging %s: not a regular file or directory", rel)
		}
		switch f.Compress {
		case "", "none":
			p.format = FormatRaw
			if p.isDir {
				p.format = FormatTar
			}
		case "gzip":
			p.format = FormatTarGzip
		case "zstd":
			p.format = FormatTarZstd
		default:
			return nil, fmt.Errorf("packaging %s: unknown compression %q: use none, gzip or zstd", rel, f.Compress)
		}
		p.mediaType = LayerMediaType(f.Role, p.format)
		if p.format == FormatRaw {
			p.size = fi.Size()
			p.stat = digestcache.StatOf(fi)
			p.cacheKey = "file:" + p.abs
			if p.meta, err = fileMetadata(rel, fi.Mode(), p.size); err != nil {
				return nil, err
			}
		} else {
			key, size, files, err := treeFingerprint(p.abs, rel, fi)
			if err != nil {
				return nil, fmt.Errorf("packaging %s: %w", rel, err)
			}
			if files == 0 {
				return nil, fmt.Errorf("packaging %s: the directory has no regular files: an empty directory is not model content (did training write it? remove it from package.files otherwise)", rel)
			}
			p.size = size
			p.stat = digestcache.Stat{Size: size}
			p.cacheKey = "tar:" + string(p.format) + ":" + p.abs + ":" + key
		}
		plans = append(plans, p)
	}
	return plans, nil
}

// insideRoot refuses a packaged path that is, or lies under, a symlink
// resolving outside the model root: push would otherwise publish whatever
// the link points at (a home directory, /etc) under a model's name.
func insideRoot(root, abs, rel string) error {
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return fmt.Errorf("packaging %s: resolving symlinks: %w", rel, err)
	}
	r, err := filepath.Rel(root, real)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) || filepath.IsAbs(r) {
		return fmt.Errorf("packaging %s: it resolves to %s, outside the model root %s: packaged files must stay inside it (copy the file in instead of linking to it)", rel, real, root)
	}
	return nil
}

// treeFingerprint hashes what stat says about every entry of a layer's
// tree, so a tar layer's digest can be cached without reading file data.
// It returns the fingerprint, the bytes and the number of regular files.
func treeFingerprint(abs, rel string, fi fs.FileInfo) (string, int64, int, error) {
	h := sha256.New()
	var total int64
	files := 0
	add := func(name string, fi fs.FileInfo) {
		st := digestcache.StatOf(fi)
		fmt.Fprintf(h, "%s\x00%o\x00%d\x00%d\x00%d\x00%d\x00%d\n", name, fi.Mode(), st.Size, st.ModTime, st.Ctime, st.Inode, st.Dev)
		if fi.Mode().IsRegular() {
			total += fi.Size()
			files++
		}
	}
	if !fi.IsDir() {
		add(rel, fi)
		return hex.EncodeToString(h.Sum(nil)), total, files, nil
	}
	err := filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		r, _ := filepath.Rel(abs, p)
		add(filepath.ToSlash(r), info)
		if info.Mode()&fs.ModeSymlink != 0 {
			t, _ := os.Readlink(p)
			fmt.Fprintf(h, "->%s\n", t)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)), total, files, err
}

// content is a layer's byte stream with a way to learn its diffID (the
// digest of the uncompressed tar) once the stream has been read to EOF.
type content struct {
	io.ReadCloser
	diffID func() v1.Hash // nil: the diffID is the blob digest
}

// open starts the layer's byte stream. Tar layers are produced on the fly
// by a goroutine; nothing is staged on disk.
func (p *layerPlan) open(bufSize int) (*content, error) {
	if p.format == FormatRaw {
		f, err := os.Open(p.abs)
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w", p.file.Path, err)
		}
		return &content{ReadCloser: &exactFile{f: f, name: p.file.Path, want: p.size}}, nil
	}
	pr, pw := io.Pipe()
	var diff hash.Hash
	var diffSum v1.Hash
	doneCh := make(chan struct{})
	go func() {
		defer close(doneCh)
		var w io.Writer = pw
		var closer io.Closer
		switch p.format {
		case FormatTarGzip:
			gz, _ := gzip.NewWriterLevel(pw, gzip.DefaultCompression)
			w, closer = gz, gz
		case FormatTarZstd:
			zw, err := zstd.NewWriter(pw, zstd.WithEncoderConcurrency(1))
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			w, closer = zw, zw
		}
		if closer != nil {
			diff = sha256.New()
			w = io.MultiWriter(w, diff)
		}
		err := writeTar(w, p.abs, p.file.Path, p.isDir, bufSize)
		if err == nil && closer != nil {
			err = closer.Close()
		}
		if diff != nil {
			diffSum = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(diff.Sum(nil))}
		}
		pw.CloseWithError(err)
	}()
	c := &content{ReadCloser: &pipeCloser{PipeReader: pr, done: doneCh}}
	if p.format != FormatTar {
		c.diffID = func() v1.Hash { <-doneCh; return diffSum }
	}
	return c, nil
}

type pipeCloser struct {
	*io.PipeReader
	done chan struct{}
}

func (p *pipeCloser) Close() error {
	err := p.PipeReader.Close()
	<-p.done
	return err
}

// epoch is the timestamp of every tar entry: layers must not depend on
// when files were written.
var epoch = time.Unix(0, 0).UTC()

// writeTar writes a reproducible tar of abs (a file or a directory) with
// entry names under rel: sorted, zero times, uid/gid 0, normalised modes.
func writeTar(w io.Writer, abs, rel string, isDir bool, bufSize int) error {
	tw := tar.NewWriter(w)
	buf := make([]byte, bufSize)
	addFile := func(p, name string, fi fs.FileInfo) error {
		hdr := &tar.Header{Name: name, ModTime: epoch, Format: tar.FormatPAX, Uname: "", Gname: ""}
		switch {
		case fi.IsDir():
			hdr.Typeflag, hdr.Mode, hdr.Name = tar.TypeDir, 0o755, name+"/"
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if c := path.Clean(path.Join(path.Dir(name), filepath.ToSlash(target))); path.IsAbs(target) || c == ".." || strings.HasPrefix(c, "../") {
				return fmt.Errorf("symlink %s points outside the model (%s)", name, target)
			}
			hdr.Typeflag, hdr.Mode, hdr.Linkname = tar.TypeSymlink, 0o777, filepath.ToSlash(target)
		case fi.Mode().IsRegular():
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, 0o644, fi.Size()
			if fi.Mode()&0o111 != 0 {
				hdr.Mode = 0o755
			}
		default:
			return nil // sockets, devices: not model content
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("writing tar entry %s: %w", name, err)
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		n, err := io.CopyBuffer(tw, io.LimitReader(f, hdr.Size), buf)
		if err != nil {
			return fmt.Errorf("packing %s: %w", name, err)
		}
		if n != hdr.Size {
			return fmt.Errorf("packing %s: file changed size while being read", name)
		}
		return nil
	}
	if !isDir {
		fi, err := os.Stat(abs)
		if err != nil {
			return err
		}
		if err := addFile(abs, rel, fi); err != nil {
			return err
		}
		return tw.Close()
	}
	err := filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r, err := filepath.Rel(abs, p)
		if err != nil {
			return err
		}
		name := rel
		if r != "." {
			name = path.Join(rel, filepath.ToSlash(r))
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		return addFile(p, name, fi)
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// hashingReader hashes what is read through it and counts the bytes.
type hashingReader struct {
	r    io.Reader
	h    hash.Hash
	n    int64
	prog func(int64)
}

func newHashingReader(r io.Reader, prog func(int64)) *hashingReader {
	return &hashingReader{r: r, h: sha256.New(), prog: prog}
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if n > 0 {
		h.h.Write(p[:n])
		h.n += int64(n)
		if h.prog != nil {
			h.prog(int64(n))
		}
	}
	return n, err
}

func (h *hashingReader) digest() v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.h.Sum(nil))}
}

// exactFile reads a raw layer's file and fails unless it has exactly the
// size planned: a file that shrinks or grows while it is pushed (training
// still writing) must fail the push, on every path that reads it
// (streamed, hashed first, or sent from the cache), before any blob is
// committed under a digest the manifest would name.
type exactFile struct {
	f    *os.File
	name string
	want int64
	n    int64
}

func (e *exactFile) Read(p []byte) (int, error) {
	n, err := e.f.Read(p)
	e.n += int64(n)
	if e.n > e.want {
		return n, fmt.Errorf("%s grew while being read (more than the %d bytes it had): push it again once it is written", e.name, e.want)
	}
	if err == io.EOF && e.n != e.want {
		return n, fmt.Errorf("%s changed size while being read (%d bytes, expected %d): push it again once it is written", e.name, e.n, e.want)
	}
	return n, err
}

func (e *exactFile) Close() error { return e.f.Close() }
