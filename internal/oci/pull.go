package oci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	modelspec "github.com/modelpack/model-spec/specs-go/v1"
)

// PullResult describes a pulled artifact.
type PullResult struct {
	Digest string `json:"digest"`
	Ref    string `json:"ref"`
	Dir    string `json:"dir"`
	// Files are the paths written, relative to Dir, in manifest order.
	Files  []string         `json:"files"`
	Size   int64            `json:"size"`
	Config *modelspec.Model `json:"config,omitempty"`
	// Annotations are the manifest's annotations (lineage).
	Annotations map[string]string `json:"annotations,omitempty"`
}

type pullLayer struct {
	desc   Descriptor
	digest v1.Hash
	path   string
	format Format
	perm   fs.FileMode // raw layers
}

// Pull fetches ref (registry reference or oci:PATH[:tag|@digest]) into
// dir. Every blob is verified while it streams; the files are assembled in
// a temporary directory beside dir and renamed into place only when all of
// them verified, so a refusal leaves dir as it was. A non-empty dir is
// refused unless WithForce.
func (c *Client) Pull(ctx context.Context, ref, dir string, opts ...Option) (PullResult, error) {
	o := c.opts(opts)
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return PullResult{}, fmt.Errorf("target directory %s: %w", dir, err)
	}
	if err := checkTargetDir(absDir, o.force); err != nil {
		return PullResult{}, err
	}
	src, t, err := openSource(ctx, ref, o)
	if err != nil {
		return PullResult{}, err
	}
	d, raw, err := src.resolveRaw(ctx)
	if err != nil {
		return PullResult{}, err
	}
	if o.verifier != nil {
		if t.isLayout() {
			return PullResult{}, refusef("%s: verification needs a registry reference, not an OCI layout", ref)
		}
		if err := o.verifier(ctx, t.ref.Context().Digest(d.String())); err != nil {
			return PullResult{}, fmt.Errorf("verifying %s: %w", src.digestRef(d), err)
		}
	}
	m, err := ParseManifest(raw)
	if err != nil {
		return PullResult{}, refusef("%s: %v", ref, err)
	}
	if !m.IsModel() && !o.allowUnknown {
		return PullResult{}, refusef("%s is not a ModelPack model (artifactType %q, config %q): pass --allow-unknown to pull it anyway", ref, m.ArtifactType, m.Config.MediaType)
	}
	layers, err := selectLayers(m, o)
	if err != nil {
		return PullResult{}, fmt.Errorf("%s: %w", ref, err)
	}
	cfg, err := fetchConfig(ctx, src, m)
	if err != nil {
		return PullResult{}, err
	}

	parent := filepath.Dir(absDir)
	// Parents created here are removed again if the pull fails.
	madeParent := firstMissing(parent)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return PullResult{}, fmt.Errorf("creating %s: %w", parent, err)
	}
	committed := false
	defer func() {
		if !committed && madeParent != "" {
			os.RemoveAll(madeParent)
		}
	}()
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(absDir)+".pull-*")
	if err != nil {
		return PullResult{}, fmt.Errorf("creating a temporary directory in %s: %w", parent, err)
	}
	defer func() {
		if !committed {
			os.RemoveAll(tmp)
		}
	}()
	root, err := os.OpenRoot(tmp)
	if err != nil {
		return PullResult{}, err
	}
	defer root.Close()
	x := &extractor{root: root, dir: tmp, buf: o.chunkSize, ctx: ctx}
	// Raw layers' directories exist before any tar layer unpacks, so that
	// no tar entry can put a symlink where a raw file's directory goes
	// (with --jobs the layers race): the symlink is refused instead.
	for _, l := range layers {
		if d := path.Dir(l.path); l.format == FormatRaw && d != "." {
			if err := root.MkdirAll(d, 0o755); err != nil {
				return PullResult{}, refusef("cannot create directory %s: %v", d, err)
			}
		}
	}

	var total int64
	for _, l := range layers {
		total += l.desc.Size
	}
	o.progress.Start("pulling "+src.name(), total)
	err = fetchLayers(ctx, src, x, layers, o)
	o.progress.Done()
	if err != nil {
		return PullResult{}, err
	}
	if err := checkTree(tmp); err != nil {
		return PullResult{}, err
	}
	// An existing (empty, or --force) target keeps its mode.
	mode := fs.FileMode(0o755)
	if fi, err := os.Lstat(absDir); err == nil {
		mode = fi.Mode().Perm()
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return PullResult{}, err
	}
	if err := moveIntoPlace(tmp, absDir, o.force); err != nil {
		return PullResult{}, err
	}
	committed = true
	res := PullResult{Digest: d.String(), Ref: src.digestRef(d), Dir: absDir, Config: cfg, Annotations: m.Annotations, Size: total}
	for _, l := range layers {
		res.Files = append(res.Files, l.path)
	}
	return res, nil
}

func selectLayers(m *Manifest, o *options) ([]pullLayer, error) {
	var out []pullLayer
	paths := map[string]bool{}
	for i, l := range m.Layers {
		role, format, ok := ParseLayerMediaType(l.MediaType)
		if !ok {
			if !o.allowUnknown {
				return nil, refusef("layer %d has unknown media type %q: pass --allow-unknown to write it as a file", i, l.MediaType)
			}
			format = FormatRaw
		}
		if o.roles != nil && (!ok || !o.roles[role]) {
			continue
		}
		p := LayerPath(l)
		if p == "" {
			return nil, refusef("layer %d (%s) has no %s annotation", i, l.Digest, AnnotationFilepath)
		}
		rel, err := cleanRel(p)
		if err != nil {
			return nil, refusef("layer %d: %v", i, err)
		}
		perm := fs.FileMode(0o644)
		if format == FormatRaw {
			if paths[rel] {
				return nil, refusef("layer %d: %s is written by two layers", i, rel)
			}
			paths[rel] = true
			if perm, err = rawFileMode(l); err != nil {
				return nil, err
			}
		}
		d, _ := v1.NewHash(l.Digest)
		out = append(out, pullLayer{desc: l, digest: d, path: rel, format: format, perm: perm})
	}
	if len(out) == 0 {
		return nil, errors.New("no layers to pull (check --filter)")
	}
	return out, nil
}

func fetchLayers(ctx context.Context, src source, x *extractor, layers []pullLayer, o *options) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	order := make([]pullLayer, len(layers))
	copy(order, layers)
	sort.SliceStable(order, func(i, j int) bool { return order[i].desc.Size > order[j].desc.Size })
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	sem := make(chan struct{}, o.jobs)
	for _, l := range order {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func(l pullLayer) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fetchLayer(ctx, src, x, l, o); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("layer %s (%s): %w", l.path, l.digest, err)
					cancel()
				}
				mu.Unlock()
			}
		}(l)
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return firstErr
}

func fetchLayer(ctx context.Context, src source, x *extractor, l pullLayer, o *options) error {
	rc, err := src.blob(ctx, l.digest)
	if err != nil {
		return err
	}
	defer rc.Close()
	vr := newVerifyingReader(rc, l.digest, l.desc.Size)
	vr.prog = o.progress.Add
	if l.format == FormatRaw {
		return x.writeRaw(l.path, vr, l.perm)
	}
	if err := x.extractTar(vr, l.format, l.desc.Size); err != nil {
		if vr.err != nil {
			return vr.err // the blob failed (a cut stream): say so, not "bad tar"
		}
		return err
	}
	return vr.drain()
}

// checkTargetDir refuses a non-empty target unless force.
func checkTargetDir(dir string, force bool) error {
	if fi, err := os.Lstat(dir); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		to, _ := filepath.EvalSymlinks(dir)
		return fmt.Errorf("target %s is a symlink (to %s): pull would replace the link, not fill what it points at; pull into %s itself", dir, to, to)
	}
	fi, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("target directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("target %s exists and is not a directory", dir)
	}
	if force {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("target directory: %w", err)
	}
	defer f.Close()
	if _, err := f.Readdirnames(1); err != io.EOF {
		return fmt.Errorf("target directory %s is not empty: pull into a new directory or pass --force to replace it", dir)
	}
	return nil
}

// moveIntoPlace renames tmp to dir; an existing dir (empty, or any with
// force) is moved aside first and removed once the rename succeeded.
func moveIntoPlace(tmp, dir string, force bool) error {
	if err := checkTargetDir(dir, force); err != nil {
		return err
	}
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.Rename(tmp, dir); err != nil {
			return fmt.Errorf("moving the pulled model into %s: %w", dir, err)
		}
		return nil
	}
	old := tmp + ".old"
	if err := os.Rename(dir, old); err != nil {
		return fmt.Errorf("replacing %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		_ = os.Rename(old, dir)
		return fmt.Errorf("moving the pulled model into %s: %w", dir, err)
	}
	return os.RemoveAll(old)
}

// firstMissing returns the outermost ancestor of dir (or dir) that does
// not exist, or "" if dir exists.
func firstMissing(dir string) string {
	missing := ""
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			return missing
		}
		missing = d
		if filepath.Dir(d) == d {
			return missing
		}
	}
}
