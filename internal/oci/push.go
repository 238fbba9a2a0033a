package oci

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
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
	// putStream stores body, hashing it on the way (read once), and
	// returns its digest and size; prog, if not nil, gets the bytes as
	// they are stored. sizeHint bounds the blob's size (-1: unknown).
	putStream(ctx context.Context, body io.Reader, sizeHint int64, prog func(int64)) (v1.Hash, int64, error)
	// putKnown stores a blob of known digest; open gives its bytes (again
	// for a retry).
	putKnown(ctx context.Context, d v1.Hash, size int64, open func() (io.ReadCloser, error)) error
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
		mono := false
		if o.monolithic != nil {
			mono = *o.monolithic
		}
		s = &registrySink{reg: reg, ref: t.ref, cache: o.cache, mono: mono}
		o.layerHints = layerHints(ctx, t, reg, o)
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
		if err := s.putKnown(ctx, cfgDigest, int64(len(cfg)), bytesOpener(cfg)); err != nil {
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

// pushLayer sends one layer and returns the bytes uploaded. Each file is
// read once: hashed while it streams to the registry, or, when the cache
// or a hint names a digest the registry has, only hashed to prove it.
func pushLayer(ctx context.Context, s sink, p *layerPlan, o *options) (int64, error) {
	var known v1.Hash // the digest the cache vouches for
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
			known = d
		}
	}
	if known.Hex == "" {
		if h, ok := o.hintFor(p); ok {
			if has, err := s.has(ctx, h); err == nil && has {
				// The registry has what the hint names: read the file
				// once to prove it is those bytes.
				if err := hashLayer(p, o); err != nil {
					return 0, err
				}
				o.cache.Store(p.cacheKey, digestcache.Entry{Stat: p.stat, Digest: p.digest.String(), DiffID: p.diffID.String(), BlobSize: p.blob})
				if p.digest == h {
					o.progress.Add(p.size)
					return 0, nil
				}
				known = p.digest // changed: upload it, its digest now known
			}
		}
	}
	if !s.monolithic() {
		n, err := pushStreamed(ctx, s, p, o)
		if !errors.Is(err, errNoChunked) {
			return n, err
		}
	}
	return pushMonolithic(ctx, s, p, o, known)
}

// hashLayer reads the layer once to learn its digest, diffID and size.
func hashLayer(p *layerPlan, o *options) error {
	c, err := p.open(o.chunkSize)
	if err != nil {
		return err
	}
	hr := newHashingReader(c, nil)
	_, err = io.CopyBuffer(io.Discard, struct{ io.Reader }{hr}, make([]byte, o.chunkSize))
	c.Close()
	if err != nil {
		return fmt.Errorf("hashing %s: %w", p.file.Path, err)
	}
	p.digest, p.blob = hr.digest(), hr.n
	p.diffID = p.digest
	if c.diffID != nil {
		p.diffID = c.diffID()
	}
	return nil
}

// pushMonolithic sends the layer in one PUT (a registry without chunked
// uploads): the digest first, from the cache or a hashing pass.
func pushMonolithic(ctx context.Context, s sink, p *layerPlan, o *options, known v1.Hash) (int64, error) {
	if known.Hex == "" {
		if err := hashLayer(p, o); err != nil {
			return 0, err
		}
		o.cache.Store(p.cacheKey, digestcache.Entry{Stat: p.stat, Digest: p.digest.String(), DiffID: p.diffID.String(), BlobSize: p.blob})
		has, err := s.has(ctx, p.digest)
		if err != nil || has {
			o.progress.Add(p.size)
			return 0, err
		}
	}
	sent := false
	open := func() (io.ReadCloser, error) {
		c, err := p.open(o.chunkSize)
		if err != nil {
			return nil, err
		}
		var add func(int64)
		if !sent {
			add = o.progress.Add
		}
		sent = true
		return &progressReadCloser{progressReader{r: c, add: add}, c}, nil
	}
	if err := s.putKnown(ctx, p.digest, p.blob, open); err != nil {
		return 0, err
	}
	_ = o.cache.Save()
	return p.blob, nil
}

// pushStreamed hashes the layer while it uploads, in one pass.
func pushStreamed(ctx context.Context, s sink, p *layerPlan, o *options) (int64, error) {
	c, err := p.open(o.chunkSize)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	var prog func(int64)
	if p.format != FormatTarGzip && p.format != FormatTarZstd {
		prog = o.progress.Add
	}
	// A tar is its files plus headers: a generous bound for small ones.
	hint := p.size
	if p.format != FormatRaw {
		hint = p.size + p.size/2 + 1<<20
	}
	d, n, err := s.putStream(ctx, c, hint, prog)
	if err != nil {
		return 0, err
	}
	if p.format == FormatRaw && n != p.size {
		return 0, fmt.Errorf("%s changed size while being read (%d bytes, expected %d)", p.file.Path, n, p.size)
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
	// Remember each blob as it lands: a push that fails later does not
	// upload this one again.
	_ = o.cache.Save()
	return p.blob, nil
}

type progressReadCloser struct {
	progressReader
	io.Closer
}

func bytesOpener(b []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

type progressReader struct {
	r   io.Reader
	add func(int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 && p.add != nil {
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
		// The title names the file for CRI-O's image volumes (and oras).
		ann := map[string]string{AnnotationFilepath: p.file.Path, AnnotationTitle: p.file.Path}
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

func (s *registrySink) putStream(ctx context.Context, body io.Reader, sizeHint int64, prog func(int64)) (v1.Hash, int64, error) {
	if s.reg.noChunked.Load() {
		return v1.Hash{}, 0, errNoChunked
	}
	d, n, err := s.reg.uploadChunked(ctx, body, sizeHint, prog)
	if err == nil {
		s.cache.AddLocation(d.String(), s.reg.repo.Name())
	}
	return d, n, err
}

func (s *registrySink) putKnown(ctx context.Context, d v1.Hash, size int64, open func() (io.ReadCloser, error)) error {
	err := s.reg.uploadMonolithic(ctx, d, size, open)
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
