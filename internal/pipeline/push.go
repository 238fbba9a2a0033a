package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/oci/digestcache"
	"github.com/mlship/mlship/internal/oci/progress"
	"github.com/mlship/mlship/internal/spec"
)

// PushRequest is what `mlship push` and `mlship package` ask for.
type PushRequest struct {
	Source string
	Ref    string
	// Repository overrides the spec's registry repository.
	Repository string
	// Registry are the registry options the caller built (credentials,
	// transport, progress).
	Registry []oci.Option

	Roles       []string
	Annotations []string
	Tags        []string
	InputDigest string
	RequireRun  bool
	RunURL      string
	Monolithic  bool
	NoCache     bool
	CacheDir    string
	// LayoutOnly writes an OCI image layout (`mlship package`).
	LayoutOnly bool
}

// PushResult is what was pushed; the cli prints it as JSON.
type PushResult struct {
	Digest   string   `json:"digest"`
	Ref      string   `json:"ref"`
	Tag      string   `json:"tag,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	Size     int64    `json:"size"`
	Uploaded int64    `json:"uploaded"`
	Layers   int      `json:"layers"`
	Seconds  float64  `json:"seconds"`
	// Lineage is the training run whose input digest was stamped, or why
	// it was not.
	Lineage *RunLineage `json:"lineage,omitempty"`
	// Verb is "Pushed" or "Packaged" (an OCI layout).
	Verb string `json:"-"`
}

// Shown is the tag pushed, else the reference.
func (p *PushResult) Shown() string {
	if p.Tag != "" {
		return p.Tag
	}
	return p.Ref
}

// Push packages req.Source as a ModelPack artifact and pushes it, stamping
// the run context's provenance (source repository, revision, run URL) and
// the training run's lineage, then sets the step outputs and the job
// summary.
func Push(ctx context.Context, r *Run, req PushRequest) (*PushResult, error) {
	start := time.Now()
	var rules []oci.RoleRule
	for _, s := range req.Roles {
		rule, err := oci.ParseRoleRule(s)
		if err != nil {
			return nil, usage(err)
		}
		rules = append(rules, rule)
	}
	src, m, err := LoadSource(ctx, req.Source, rules)
	if err != nil {
		return nil, err
	}
	if req.LayoutOnly {
		req.Ref = layoutRef(req.Ref, m)
	}
	ref, err := PushRef(req.Ref, req.Repository, m)
	if err != nil {
		return nil, usage(err)
	}
	cache := runCache(openCache(r, req))
	lin, err := resolveLineage(r, req, m, src, cache)
	if err != nil {
		return nil, err
	}
	if src, err = withModelCard(ctx, r, m, src, lin); err != nil {
		return nil, err
	}
	if src, err = withReferenceProfile(ctx, r, m, src); err != nil {
		return nil, err
	}
	commitTime, rev := GitInfo(ctx, src.Dir)
	created, err := oci.CreatedTime(r.Env.Lookup, commitTime)
	if err != nil {
		return nil, usage(err)
	}
	ann, err := pushAnnotations(r, req, rev, lin)
	if err != nil {
		return nil, usage(err)
	}
	ropts := append(append([]oci.Option(nil), req.Registry...), oci.WithAnnotations(ann), oci.WithCreated(created))
	if m != nil && m.Registry.PlainHTTP {
		ropts = append(ropts, oci.WithPlainHTTP(true))
	}
	if req.Monolithic {
		ropts = append(ropts, oci.WithMonolithic(true))
	}
	if cache != nil {
		ropts = append(ropts, oci.WithCache(cache))
	}
	ropts = append(ropts, lineageHints(lin, ref)...)
	res, err := registry(r, false).Push(ctx, src, ref, ropts...)
	if err != nil {
		return nil, err
	}
	tags := append([]string(nil), req.Tags...)
	if lin.Tag != "" {
		tags = append(tags, lin.Tag)
	}
	var extra []string
	for _, t := range tags {
		tr, err := registry(r, false).Tag(ctx, res.Ref, t, ropts...)
		if err != nil {
			return nil, err
		}
		extra = append(extra, tr.Tag)
	}
	out := &PushResult{Digest: res.Digest, Ref: res.Ref, Tag: res.Tag, Tags: extra, Size: res.Size, Uploaded: res.Uploaded, Layers: len(res.Layers), Seconds: time.Since(start).Seconds(), Verb: "Pushed"}
	if strings.HasPrefix(ref, oci.LayoutPrefix) {
		out.Verb = "Packaged"
	}
	if lin.Run != "" || lin.InputDigest != "" {
		out.Lineage = &lin
	}
	for k, v := range map[string]string{"digest": res.Digest, "ref": res.Ref, "tag": res.Tag} {
		if err := r.Actions.SetOutput(k, v); err != nil {
			return nil, err
		}
	}
	_ = r.Summary(PushSummary(out))
	return out, nil
}

// PushSummary is the job-summary line of a push.
func PushSummary(p *PushResult) string {
	return fmt.Sprintf("%s `%s` (%d layers, %s, %s uploaded): `%s`\n", p.Verb, p.Shown(), p.Layers, progress.Bytes(p.Size), progress.Bytes(p.Uploaded), p.Digest)
}

// pushAnnotations derives the manifest annotations from the run context
// (source repository, revision, run URL), the lineage and --annotation.
func pushAnnotations(r *Run, req PushRequest, rev string, lin RunLineage) (map[string]string, error) {
	ann := map[string]string{}
	runURL := req.RunURL
	if r.Env.ServerURL != "" && r.Env.Repository != "" {
		ann[oci.AnnotationSource] = r.Env.RepoURL()
		if runURL == "" {
			runURL = r.Env.RunURL()
		}
	}
	if r.Env.SHA != "" {
		rev = r.Env.SHA
	}
	if rev != "" {
		ann[oci.AnnotationRevision] = rev
	}
	if runURL != "" {
		ann[oci.AnnotationRunURL] = runURL
	}
	if lin.InputDigest != "" {
		ann[oci.AnnotationInputDigest] = lin.InputDigest
	}
	for _, a := range req.Annotations {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("annotation %q: want KEY=VALUE", a)
		}
		ann[k] = v
	}
	return ann, nil
}

// layoutRef makes ref an oci:PATH reference tagged with the spec's version
// unless it names a tag or digest.
func layoutRef(ref string, m *spec.Model) string {
	if !strings.HasPrefix(ref, oci.LayoutPrefix) {
		ref = oci.LayoutPrefix + ref
	}
	if base := ref[strings.LastIndexAny(ref, `/\`)+1:]; m != nil && m.Version != "" && !strings.ContainsAny(strings.TrimPrefix(base, oci.LayoutPrefix), ":@") {
		ref += ":" + strings.ReplaceAll(m.Version, "+", "_")
	}
	return ref
}

// openCache opens the digest cache unless NoCache (nil then).
func openCache(r *Run, req PushRequest) *digestcache.Cache {
	if req.NoCache {
		return nil
	}
	p, err := digestcache.DefaultPath(r.Env.Lookup)
	if req.CacheDir != "" {
		p, err = filepath.Join(req.CacheDir, "digests.json"), nil
	}
	if err != nil {
		return nil
	}
	return digestcache.Open(p)
}

// LoadSource reads path as a spec directory if it holds one, else as a
// plain model directory.
func LoadSource(ctx context.Context, path string, rules []oci.RoleRule) (oci.Source, *spec.Model, error) {
	if isSpecPath(path) {
		m, err := spec.Load(ctx, path)
		if err != nil {
			return oci.Source{}, nil, err
		}
		src, err := oci.SourceFromSpec(m)
		return src, m, err
	}
	src, err := oci.SourceFromDir(path, rules)
	return src, nil, err
}

func isSpecPath(p string) bool {
	fi, err := os.Stat(p)
	if err != nil {
		return false
	}
	if !fi.IsDir() {
		b := filepath.Base(p)
		return strings.HasPrefix(b, "model.") && (strings.HasSuffix(b, ".cue") || strings.HasSuffix(b, ".json") || strings.HasSuffix(b, ".yaml"))
	}
	return spec.IsSpecDir(p)
}

// GitInfo returns the commit time and revision of the repository holding
// dir, if any.
func GitInfo(ctx context.Context, dir string) (time.Time, string) {
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "log", "-1", "--format=%ct %H").Output()
	if err != nil {
		return time.Time{}, ""
	}
	ts, rev, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return time.Time{}, ""
	}
	return time.Unix(n, 0), rev
}

// PushRef works out the destination from ref, the --repository override
// and the spec.
func PushRef(ref, override string, m *spec.Model) (string, error) {
	repo := override
	if repo == "" && m != nil {
		repo = m.Registry.Repository
	}
	if ref == "" {
		if repo == "" {
			return "", errors.New("no destination: give REF (HOST/REPO:TAG or oci:PATH), --repository, or registry.repository in the spec")
		}
		tag := "latest"
		if m != nil && m.Version != "" {
			tag = strings.ReplaceAll(m.Version, "+", "_")
		}
		return repo + ":" + tag, nil
	}
	if strings.HasPrefix(ref, oci.LayoutPrefix) {
		return ref, nil
	}
	if override != "" || (!strings.Contains(ref, "/") && repo != "") {
		if strings.HasPrefix(repo, oci.LayoutPrefix) {
			return repo + ":" + strings.TrimPrefix(ref, ":"), nil
		}
		return ApplyRepository(ref, repo), nil
	}
	return ref, nil
}

// ApplyRepository rewrites ref onto repo: a bare tag or @digest is
// appended to it; a full reference keeps its tag or digest.
func ApplyRepository(ref, repo string) string {
	if repo == "" || strings.HasPrefix(ref, oci.LayoutPrefix) {
		return ref
	}
	id := ref
	if i := strings.LastIndexByte(ref, '/'); i >= 0 {
		id = ref[i+1:]
		if j := strings.IndexAny(id, ":@"); j >= 0 {
			id = id[j:]
		} else {
			id = ""
		}
	} else if !strings.HasPrefix(id, "@") && !strings.HasPrefix(id, ":") {
		id = ":" + id
	}
	if id == "" {
		return repo
	}
	return repo + id
}
