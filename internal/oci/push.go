package oci

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/go-digest"

	modelspec "github.com/modelpack/model-spec/specs-go/v1"

	"github.com/mlship/mlship/internal/oci/digestcache"
)

// Result describes a pushed artifact.
type Result struct {
	// Digest is the manifest digest (sha256:...).
	Digest string `json:"digest"`
	// Ref pins the artifact by digest (host/repo@sha256:... or oci:PATH@sha256:...).
	Ref string `json:"ref"`
	// Tag is the reference as given, with its tag (empty when pushed by digest).
	Tag string `json:"tag,omitempty"`
	// Size is the sum of the layer and config sizes.
	Size int64 `json:"size"`
	// Uploaded is how many bytes were actually sent (the rest existed).
	Uploaded int64 `json:"uploaded"`
	// Layers are the pushed layers, in manifest order.
	Layers []Descriptor `json:"layers"`
}

// Descriptor is an OCI content descriptor.
type Descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Manifest is an OCI image manifest as ModelPack uses it.
type Manifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType,omitempty"`
	ArtifactType  string            `json:"artifactType,omitempty"`
	Config        Descriptor        `json:"config"`
	Layers        []Descriptor      `json:"layers"`
	Subject       *Descriptor       `json:"subject,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// sink is where Push writes: a registry or an OCI layout.
type sink interface {
	// has reports whether the blob is already there, mounting it from
	// another repository when it can.
	has(ctx context.Context, d v1.Hash) (bool, error)
	// putStream stores body, whose digest digest() returns once body has
	// been read to EOF.
	putStream(ctx context.Context, body io.Reader, size int64, digest func() v1.Hash) (v1.Hash, error)
	// putKnown stores a blob of known digest.
	putKnown(ctx context.Context, d v1.Hash, body io.Reader, size int64) error
	putManifest(ctx context.Context, raw []byte, d v1.Hash) error
	// monolithic says the sink needs the digest before the bytes.
	monolithic() bool
}

// CreatedTime picks the reproducible creation time of an artifact:
// SOURCE_DATE_EPOCH if set, else commitTime if non-zero, else the Unix
// epoch.
func CreatedTime(getenv func(string) string, commitTime time.Time) (time.Time, error) {
	if getenv != nil {
		if s := getenv("SOURCE_DATE_EPOCH"); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a Unix time in seconds", s)
			}
			return time.Unix(n, 0).UTC(), nil
		}
	}
	if !commitTime.IsZero() {
		return commitTime.UTC(), nil
	}
	return time.Unix(0, 0).UTC(), nil
}

// Push packages src and pushes it to ref: a registry reference
// (host/repo[:tag|@digest]) or an OCI layout (oci:PATH[:tag]). Files are
// read once; layers go in parallel; blobs already present are skipped.
func (c *Client) Push(ctx context.Context, src Source, ref string, opts ...Option) (Result, error) {
	o := c.opts(opts)
	t, err := parseTarget(ref, o)
	if err != nil {
		return Result{}, err
	}
	plans, err := planLayers(src)
	if err != nil {
		return Result{}, err
	}
	var s sink
	if t.isLayout() {
		ls, err := openLayoutSink(t)
		if err != nil {
			return Result{}, err
		}
		s = ls
	} else {
		var from []string
		for _, p := range plans {
			if e, ok := o.cache.Lookup(p.cacheKey, p.stat); ok {
				from = append(from, o.cache.Locations(e.Digest)...)
			}
		}
		reg, err := newRegistry(ctx, t.ref.Context(), o, true, from)
		if err != nil {
			return Result{}, err
		}
		mono := t.ref.Context().RegistryStr() == "ghcr.io"
		if o.monolithic != nil {
			mono = *o.monolithic
		}
		s = &registrySink{reg: reg, ref: t.ref, cache: o.cache, mono: mono}
	}

	var total int64
	for _, p := range plans {
		total += p.size
	}
	o.progress.Start("pushing "+t.String(), total)
	uploaded, err := pushLayers(ctx, s, plans, o)
	o.progress.Done()
	if err != nil {
		return Result{}, err
	}
	// A cache that cannot be written only costs a re-hash next time.
	_ = o.cache.Save()

	created := time.Unix(0, 0).UTC()
	if o.created != nil {
		created = *o.created
	}
	cfg, err := buildConfig(src, plans, created)
	if err != nil {
		return Result{}, err
	}
	cfgDigest := sha256Hash(cfg)
	if ok, err := s.has(ctx, cfgDigest); err != nil {
		return Result{}, err
	} else if !ok {
		if err := s.putKnown(ctx, cfgDigest, strings.NewReader(string(cfg)), int64(len(cfg))); err != nil {
			return Result{}, fmt.Errorf("pushing config: %w", err)
		}
	}
	m := buildManifest(src, plans, Descriptor{MediaType: ConfigMediaType, Digest: cfgDigest.String(), Size: int64(len(cfg))}, created, o.annotations)
	raw, err := json.Marshal(m)
	if err != nil {
		return Result{}, fmt.Errorf("encoding manifest: %w", err)
	}
	md := sha256Hash(raw)
	if err := s.putManifest(ctx, raw, md); err != nil {
		return Result{}, err
	}
	res := Result{Digest: md.String(), Size: int64(len(cfg)), Uploaded: uploaded, Layers: m.Layers}
	for _, p := range plans {
		res.Size += p.blob
	}
	if t.isLayout() {
		res.Ref = LayoutPrefix + t.layout + "@" + md.String()
		if t.layoutTag != "" {
			res.Tag = LayoutPrefix + t.layout + ":" + t.layoutTag
		}
	} else {
		res.Ref = t.ref.Context().Digest(md.String()).String()
		if tag, ok := t.ref.(name.Tag); ok {
			res.Tag = tag.String()
		}
	}
	return res, nil
}

func sha256Hash(b []byte) v1.Hash {
	s := sha256.Sum256(b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(s[:])}
}

func pushLayers(ctx context.Context, s sink, plans []*layerPlan, o *options) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
		uploaded int64
		wg       sync.WaitGroup
	)
	sem := make(chan struct{}, o.jobs)
	// Largest first, so that the longest upload starts at once.
	order := make([]*layerPlan, len(plans))
	copy(order, plans)
	sort.SliceStable(order, func(i, j int) bool { return order[i].size > order[j].size })
	for _, p := range order {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func(p *layerPlan) {
			defer wg.Done()
			defer func() { <-sem }()
			n, err := pushLayer(ctx, s, p, o)
			mu.Lock()
			defer mu.Unlock()
			uploaded += n
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("pushing %s: %w", p.file.Path, err)
				cancel()
			}
		}(p)
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return uploaded, firstErr
}

// pushLayer sends one layer and returns the bytes uploaded.
func pushLayer(ctx context.Context, s sink, p *layerPlan, o *options) (int64, error) {
	if e, ok := o.cache.Lookup(p.cacheKey, p.stat); ok {
		d, err1 := v1.NewHash(e.Digest)
		diff, err2 := v1.NewHash(e.DiffID)
		if err1 == nil && err2 == nil {
			p.digest, p.diffID, p.blob = d, diff, e.BlobSize
			has, err := s.has(ctx, d)
			if err != nil {
				return 0, err
			}
			if has {
				o.progress.Add(p.size)
				return 0, nil
			}
			if p.format == FormatRaw || s.monolithic() {
				c, err := p.open(o.chunkSize)
				if err != nil {
					return 0, err
				}
				defer c.Close()
				pr := &progressReader{r: c, add: o.progress.Add}
				if err := s.putKnown(ctx, d, pr, p.blob); err != nil {
					return 0, err
				}
				return p.blob, nil
			}
		}
	}
	if s.monolithic() {
		// One pass to hash (the sink needs the digest first), one to send.
		c, err := p.open(o.chunkSize)
		if err != nil {
			return 0, err
		}
		hr := newHashingReader(c, nil)
		buf := make([]byte, o.chunkSize)
		_, err = io.CopyBuffer(io.Discard, struct{ io.Reader }{hr}, buf)
		c.Close()
		if err != nil {
			return 0, fmt.Errorf("hashing %s: %w", p.file.Path, err)
		}
		p.digest, p.blob = hr.digest(), hr.n
		p.diffID = p.digest
		if c.diffID != nil {
			p.diffID = c.diffID()
		}
		o.cache.Store(p.cacheKey, digestcache.Entry{Stat: p.stat, Digest: p.digest.String(), DiffID: p.diffID.String(), BlobSize: p.blob})
		has, err := s.has(ctx, p.digest)
		if err != nil || has {
			o.progress.Add(p.size)
			return 0, err
		}
		c, err = p.open(o.chunkSize)
		if err != nil {
			return 0, err
		}
		defer c.Close()
		if err := s.putKnown(ctx, p.digest, &progressReader{r: c, add: o.progress.Add}, p.blob); err != nil {
			return 0, err
		}
		return p.blob, nil
	}
	c, err := p.open(o.chunkSize)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	size := int64(-1)
	if p.format == FormatRaw {
		size = p.size
	}
	var prog func(int64)
	if p.format != FormatTarGzip && p.format != FormatTarZstd {
		prog = o.progress.Add
	}
	hp := newHashPipe(c, o.chunkSize, 4, prog)
	defer hp.Close()
	d, err := s.putStream(ctx, hp, size, hp.digest)
	if err != nil {
		return 0, err
	}
	n := hp.size()
	if size >= 0 && n != size {
		return 0, fmt.Errorf("%s changed size while being read (%d bytes, expected %d)", p.file.Path, n, size)
	}
	if prog == nil {
		o.progress.Add(p.size)
	}
	p.digest, p.blob = d, n
	p.diffID = d
	if c.diffID != nil {
		p.diffID = c.diffID()
	}
	o.cache.Store(p.cacheKey, digestcache.Entry{Stat: p.stat, Digest: p.digest.String(), DiffID: p.diffID.String(), BlobSize: p.blob})
	return p.blob, nil
}

type progressReader struct {
	r   io.Reader
	add func(int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.add(int64(n))
	}
	return n, err
}

func buildConfig(src Source, plans []*layerPlan, created time.Time) ([]byte, error) {
	m := modelspec.Model{Descriptor: src.Descriptor, Config: src.Config}
	m.Descriptor.CreatedAt = &created
	m.ModelFS.Type = "layers"
	m.ModelFS.DiffIDs = make([]digest.Digest, 0, len(plans))
	for _, p := range plans {
		m.ModelFS.DiffIDs = append(m.ModelFS.DiffIDs, digest.Digest(p.diffID.String()))
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding model config: %w", err)
	}
	return b, nil
}

func buildManifest(src Source, plans []*layerPlan, cfg Descriptor, created time.Time, extra map[string]string) Manifest {
	m := Manifest{
		SchemaVersion: 2,
		MediaType:     ManifestMediaType,
		ArtifactType:  ArtifactType,
		Config:        cfg,
		Annotations:   map[string]string{AnnotationCreated: created.Format(time.RFC3339)},
	}
	for k, v := range src.Annotations {
		m.Annotations[k] = v
	}
	for k, v := range extra {
		m.Annotations[k] = v
	}
	for _, p := range plans {
		ann := map[string]string{AnnotationFilepath: p.file.Path}
		if p.meta != "" {
			ann[AnnotationFileMetadata] = p.meta
		}
		m.Layers = append(m.Layers, Descriptor{
			MediaType:   p.mediaType,
			Digest:      p.digest.String(),
			Size:        p.blob,
			Annotations: ann,
		})
	}
	return m
}

// registrySink pushes to a registry repository.
type registrySink struct {
	reg   *registry
	ref   name.Reference
	cache *digestcache.Cache
	mono  bool
}

func (s *registrySink) monolithic() bool { return s.mono }

func (s *registrySink) has(ctx context.Context, d v1.Hash) (bool, error) {
	ok, err := s.reg.hasBlob(ctx, d)
	if err != nil || ok {
		if ok {
			s.cache.AddLocation(d.String(), s.reg.repo.Name())
		}
		return ok, err
	}
	from := s.cache.Locations(d.String())
	if len(from) == 0 {
		return false, nil
	}
	_, mounted, err := s.reg.startUpload(ctx, &d, from)
	if err != nil {
		return false, nil // a failed mount only means an upload
	}
	if mounted {
		s.cache.AddLocation(d.String(), s.reg.repo.Name())
	}
	return mounted, nil
}

func (s *registrySink) putStream(ctx context.Context, body io.Reader, _ int64, digest func() v1.Hash) (v1.Hash, error) {
	d, err := s.reg.uploadStream(ctx, body, digest)
	if err == nil {
		s.cache.AddLocation(d.String(), s.reg.repo.Name())
	}
	return d, err
}

func (s *registrySink) putKnown(ctx context.Context, d v1.Hash, body io.Reader, size int64) error {
	err := s.reg.uploadKnown(ctx, d, body, size)
	if err == nil {
		s.cache.AddLocation(d.String(), s.reg.repo.Name())
	}
	return err
}

func (s *registrySink) putManifest(ctx context.Context, raw []byte, d v1.Hash) error {
	if dg, ok := s.ref.(name.Digest); ok && dg.DigestStr() != d.String() {
		return fmt.Errorf("pushing to %s: the packaged manifest has digest %s; push by tag instead", s.ref, d)
	}
	return s.reg.putManifest(ctx, s.ref, raw, ManifestMediaType)
}
