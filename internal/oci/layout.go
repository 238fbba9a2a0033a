package oci

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const annotationRefName = "org.opencontainers.image.ref.name"

// layoutSink writes into an OCI image layout directory.
type layoutSink struct {
	t   target
	p   layout.Path
	buf int
}

func openLayoutSink(t target) (*layoutSink, error) {
	p, err := layout.FromPath(t.layout)
	if err != nil {
		if _, serr := os.Stat(filepath.Join(t.layout, "index.json")); !errors.Is(serr, os.ErrNotExist) {
			return nil, fmt.Errorf("opening OCI layout %s: %w", t.layout, err)
		}
		if p, err = layout.Write(t.layout, empty.Index); err != nil {
			return nil, fmt.Errorf("creating OCI layout %s: %w", t.layout, err)
		}
	}
	return &layoutSink{t: t, p: p, buf: 1 << 20}, nil
}

func (s *layoutSink) monolithic() bool { return false }

func (s *layoutSink) blobPath(d v1.Hash) string {
	return filepath.Join(s.t.layout, "blobs", d.Algorithm, d.Hex)
}

func (s *layoutSink) has(_ context.Context, d v1.Hash) (bool, error) {
	_, err := os.Stat(s.blobPath(d))
	if err == nil {
		return true, nil
	}
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return false, fmt.Errorf("OCI layout %s: %w", s.t.layout, err)
}

// putStream writes body to a temporary file while hashing it, then
// renames it to its digest.
func (s *layoutSink) putStream(ctx context.Context, body io.Reader, _ int64, prog func(int64)) (v1.Hash, int64, error) {
	hp := newHashPipe(body, s.buf, 4, prog)
	defer hp.Close()
	d, err := s.write(ctx, hp, hp.digest)
	if err != nil {
		return v1.Hash{}, 0, err
	}
	return d, hp.size(), nil
}

func (s *layoutSink) write(ctx context.Context, body io.Reader, digest func() v1.Hash) (v1.Hash, error) {
	dir := filepath.Join(s.t.layout, "blobs", "sha256")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return v1.Hash{}, fmt.Errorf("OCI layout %s: %w", s.t.layout, err)
	}
	f, err := os.CreateTemp(dir, ".upload-*")
	if err != nil {
		return v1.Hash{}, fmt.Errorf("OCI layout %s: %w", s.t.layout, err)
	}
	defer os.Remove(f.Name())
	_, err = io.CopyBuffer(struct{ io.Writer }{f}, ctxReader{ctx, body}, make([]byte, s.buf))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return v1.Hash{}, fmt.Errorf("writing blob to OCI layout %s: %w", s.t.layout, err)
	}
	d := digest()
	if err := os.Rename(f.Name(), s.blobPath(d)); err != nil {
		return v1.Hash{}, fmt.Errorf("writing blob to OCI layout %s: %w", s.t.layout, err)
	}
	return d, nil
}

func (s *layoutSink) putKnown(ctx context.Context, d v1.Hash, _ int64, open func() (io.ReadCloser, error)) error {
	body, err := open()
	if err != nil {
		return err
	}
	defer body.Close()
	return s.putBytes(ctx, d, body)
}

func (s *layoutSink) putBytes(ctx context.Context, d v1.Hash, body io.Reader) error {
	h := sha256.New()
	got, err := s.write(ctx, io.TeeReader(body, h), func() v1.Hash {
		return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
	})
	if err != nil {
		return err
	}
	if got != d {
		os.Remove(s.blobPath(got))
		return fmt.Errorf("blob changed while being written: digest %s, expected %s", got, d)
	}
	return nil
}

func (s *layoutSink) putManifest(ctx context.Context, raw []byte, d v1.Hash) error {
	if err := s.putBytes(ctx, d, bytes.NewReader(raw)); err != nil {
		return err
	}
	if s.t.layoutDig != "" && s.t.layoutDig != d.String() {
		return fmt.Errorf("pushing to oci:%s@%s: the packaged manifest has digest %s; push by tag instead", s.t.layout, s.t.layoutDig, d)
	}
	desc := v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: d, Size: int64(len(raw)), ArtifactType: ArtifactType}
	if s.t.layoutTag != "" {
		desc.Annotations = map[string]string{annotationRefName: s.t.layoutTag}
		if err := s.p.RemoveDescriptors(match.Annotation(annotationRefName, s.t.layoutTag)); err != nil {
			return fmt.Errorf("updating OCI layout %s: %w", s.t.layout, err)
		}
	} else if idx, err := s.index(); err == nil {
		for _, m := range idx.Manifests {
			if m.Digest == d {
				return nil
			}
		}
	}
	if err := s.p.AppendDescriptor(desc); err != nil {
		return fmt.Errorf("updating OCI layout %s: %w", s.t.layout, err)
	}
	return nil
}

func (s *layoutSink) index() (*v1.IndexManifest, error) {
	ii, err := s.p.ImageIndex()
	if err != nil {
		return nil, err
	}
	return ii.IndexManifest()
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// layoutSource reads artifacts from an OCI layout.
type layoutSource struct {
	t target
	p layout.Path
}

func openLayoutSource(t target) (*layoutSource, error) {
	p, err := layout.FromPath(t.layout)
	if err != nil {
		err = fmt.Errorf("opening OCI layout %s: %w", t.layout, err)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, notFoundf(err)
		}
		return nil, err
	}
	return &layoutSource{t: t, p: p}, nil
}

// indexManifest reads the layout's index.json.
func (s *layoutSource) indexManifest() (*v1.IndexManifest, error) {
	ii, err := s.p.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %s: %w", s.t.layout, err)
	}
	idx, err := ii.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %s: %w", s.t.layout, err)
	}
	return idx, nil
}

// manifestAnnotation reads annotation key of the manifest d ("" when it
// cannot be read).
func (s *layoutSource) manifestAnnotation(d v1.Hash, key string) string {
	rc, err := s.p.Blob(d)
	if err != nil {
		return ""
	}
	defer rc.Close()
	raw, err := readAllLimit(rc, maxManifestSize)
	if err != nil {
		return ""
	}
	return annotation(raw, key)
}

// resolve finds the manifest named by the target's tag or digest.
func (s *layoutSource) resolve() (v1.Hash, []byte, error) {
	idx, err := s.indexManifest()
	if err != nil {
		return v1.Hash{}, nil, err
	}
	var d v1.Hash
	found := false
	for _, m := range idx.Manifests {
		if (s.t.layoutDig != "" && m.Digest.String() == s.t.layoutDig) || (s.t.layoutTag != "" && m.Annotations[annotationRefName] == s.t.layoutTag) {
			d, found = m.Digest, true
		}
	}
	if !found && s.t.layoutDig != "" {
		if h, err := v1.NewHash(s.t.layoutDig); err == nil {
			if _, err := os.Stat(filepath.Join(s.t.layout, "blobs", h.Algorithm, h.Hex)); err == nil {
				d, found = h, true
			}
		}
	}
	if !found {
		return v1.Hash{}, nil, notFoundf(fmt.Errorf("%s: not found in the layout's index.json", s.t))
	}
	rc, err := s.p.Blob(d)
	if err != nil {
		return v1.Hash{}, nil, fmt.Errorf("%s: %w", s.t, err)
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, maxManifestSize+1))
	if err != nil {
		return v1.Hash{}, nil, fmt.Errorf("%s: %w", s.t, err)
	}
	if sha256Hash(raw) != d {
		return v1.Hash{}, nil, fmt.Errorf("%s: manifest does not match its digest %s", s.t, d)
	}
	return d, raw, nil
}

func (s *layoutSource) getBlob(_ context.Context, d v1.Hash) (io.ReadCloser, error) {
	rc, err := s.p.Blob(d)
	if err != nil {
		err = fmt.Errorf("%s: blob %s: %w", s.t, d, err)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, notFoundf(err)
		}
		return nil, err
	}
	return rc, nil
}

// tags lists the tags of a layout with their digests.
func (s *layoutSource) tags() (map[string]v1.Hash, error) {
	idx, err := s.indexManifest()
	if err != nil {
		return nil, err
	}
	out := map[string]v1.Hash{}
	for _, m := range idx.Manifests {
		if tag := m.Annotations[annotationRefName]; tag != "" {
			out[tag] = m.Digest
		}
	}
	return out, nil
}
