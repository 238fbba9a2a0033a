package pipeline

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/mlship/mlship/internal/gha"
	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/oci/digestcache"
	"github.com/mlship/mlship/internal/spec"
	"github.com/mlship/mlship/internal/train/lineage"
)

// RunLineage is what a training run lets push stamp on an artifact (its
// input digest, as an annotation and the input-<hex12> tag), or why it
// may not. It is decided from the spec and the files alone, before
// anything is pushed.
type RunLineage struct {
	// Run is the run.json consulted ("" when the source has no run).
	Run string `json:"run,omitempty"`
	// InputDigest is set when the packaged files are the run's outputs.
	InputDigest string `json:"inputDigest,omitempty"`
	// Tag is the input-<hex12> tag that goes with InputDigest.
	Tag string `json:"tag,omitempty"`
	// Reason says why the run's lineage is not stamped.
	Reason string `json:"reason,omitempty"`
	// found is true when a run.json exists (a mismatch is then worth a
	// warning; a plain directory without a run is not).
	found bool
	// runDigest is the run's input digest, matching or not.
	runDigest string
}

// Stamped reports whether the run's lineage may go on the artifact.
func (l RunLineage) Stamped() bool { return l.InputDigest != "" }

// runLineage checks the run.json that training wrote beside the spec's
// model directory against the files src packages. Every packaged file
// inside the run's model directory (each file of a packaged directory,
// too) must be listed in outputs.files with the same sha256; weights and
// weight configs must be inside it; docs, code and datasets outside it are
// not training outputs and do not count. cache, when not nil, receives the
// digests of raw files so that the push does not hash them again.
func runLineage(m *spec.Model, src oci.Source, cache *digestcache.Cache) RunLineage {
	if m == nil || m.Train == nil {
		return RunLineage{Reason: "the source is not a spec with a train section"}
	}
	modelOut := m.Train.Outputs.Model
	if modelOut == "" {
		modelOut = "model"
	}
	path := filepath.Join(m.Dir, filepath.Dir(filepath.FromSlash(modelOut)), "run.json")
	l := RunLineage{Run: path}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		l.Reason = "no run.json at " + path + " (run mlship train first)"
		return l
	}
	l.found = true
	rec, err := lineage.Read(path)
	if err != nil {
		l.Reason = err.Error()
		return l
	}
	l.runDigest = rec.InputDigest
	if l.Reason = usableRun(rec, path); l.Reason != "" {
		return l
	}
	modelDir := filepath.Join(m.Dir, filepath.FromSlash(modelOut))
	if rec.Outputs.ModelDir != "" {
		modelDir = filepath.Join(m.Dir, filepath.FromSlash(rec.Outputs.ModelDir))
	}
	if l.Reason = firstMismatch(src, modelDir, rec.Outputs.Files, cache); l.Reason != "" {
		return l
	}
	l.InputDigest = rec.InputDigest
	l.Tag, _ = lineage.InputTag(rec.InputDigest)
	return l
}

// usableRun says why rec cannot vouch for any files ("" when it can).
func usableRun(rec *lineage.Record, path string) string {
	switch {
	case rec.Status != "succeeded":
		return fmt.Sprintf("the run in %s has status %q, not succeeded", path, rec.Status)
	case len(rec.Outputs.Files) == 0:
		return fmt.Sprintf("%s lists no output files (outputs.files)", path)
	}
	if _, err := lineage.InputTag(rec.InputDigest); err != nil {
		return fmt.Sprintf("%s: %v", path, err)
	}
	return ""
}

// firstMismatch names the first packaged file that is not what the run
// produced, or "" when all of them are (and at least one is an output).
func firstMismatch(src oci.Source, modelDir string, outputs map[string]string, cache *digestcache.Cache) string {
	absModel, err := filepath.Abs(modelDir)
	if err != nil {
		return fmt.Sprintf("model directory %s: %v", modelDir, err)
	}
	matched := 0
	for _, f := range src.Files {
		abs := filepath.Join(src.Dir, filepath.FromSlash(f.Path))
		rel, inside := under(absModel, abs)
		if !inside {
			if f.Role == oci.RoleWeight || f.Role == oci.RoleWeightConfig {
				return fmt.Sprintf("%s (%s) is not in the run's model directory %s", f.Path, f.Role, modelDir)
			}
			continue
		}
		raw := f.Compress == "" || f.Compress == "none"
		if why := checkOutputs(abs, f.Path, rel, outputs, raw, cache); why != "" {
			return why
		}
		matched++
	}
	if matched == 0 {
		return "none of the packaged files is in the run's model directory " + modelDir
	}
	return ""
}

// under returns p relative to dir (slash-separated) and whether p lies
// inside dir (or is dir).
func under(dir, p string) (string, bool) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", false
	}
	rel, err := filepath.Rel(dir, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// checkOutputs compares the file or directory at abs (shown as shown, at
// rel under the model directory) with the run's outputs.
func checkOutputs(abs, shown, rel string, outputs map[string]string, raw bool, cache *digestcache.Cache) string {
	fi, err := os.Stat(abs)
	if err != nil {
		return fmt.Sprintf("%s: %v", shown, err)
	}
	if !fi.IsDir() {
		return checkOutputFile(abs, shown, rel, fi, outputs, raw, cache)
	}
	var why string
	err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil || why != "" {
			return err
		}
		if d.IsDir() {
			return nil
		}
		sub, _ := filepath.Rel(abs, p)
		sub = filepath.ToSlash(sub)
		name, r := joinSlash(shown, sub), joinSlash(rel, sub)
		if !d.Type().IsRegular() {
			why = name + " is not a regular file, so the run did not produce it"
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		why = checkOutputFile(p, name, r, info, outputs, false, nil)
		return nil
	})
	if err != nil {
		return fmt.Sprintf("reading %s: %v", shown, err)
	}
	return why
}

func joinSlash(a, b string) string {
	if a == "." || a == "" {
		return b
	}
	return a + "/" + b
}

// checkOutputFile compares one regular file with its outputs.files entry.
// A raw layer's digest is its file's digest: it is stored in cache under
// the key push uses, so the upload does not read the file twice.
func checkOutputFile(abs, shown, rel string, fi fs.FileInfo, outputs map[string]string, raw bool, cache *digestcache.Cache) string {
	want, ok := outputs[rel]
	if !ok {
		return shown + " is not among the files the run produced (run.json outputs.files)"
	}
	key, st := "file:"+abs, digestcache.StatOf(fi)
	got := ""
	if e, hit := cache.Lookup(key, st); raw && hit {
		got = e.Digest
	} else {
		d, err := lineage.FileDigest(abs)
		if err != nil {
			return fmt.Sprintf("%s: %v", shown, err)
		}
		got = d
		if raw {
			cache.Store(key, digestcache.Entry{Stat: st, Digest: d, DiffID: d, BlobSize: fi.Size()})
		}
	}
	if got != want {
		return fmt.Sprintf("%s differs from what the run produced (run.json: %s, now: %s)", shown, want, got)
	}
	return ""
}

// resolveLineage decides which input digest push stamps: the run's only
// when runLineage accepts the files. An explicit --input-digest that is
// the run's own (the train step's output wired in) is held to the same
// check; any other is the caller's claim and kept. A run that does not
// match is left off with a warning naming the first file that differs,
// or, with --require-run, refused before anything is pushed.
func resolveLineage(r *Run, req PushRequest, m *spec.Model, src oci.Source, cache *digestcache.Cache) (RunLineage, error) {
	l := runLineage(m, src, cache)
	if req.RequireRun && !l.Stamped() {
		return l, fmt.Errorf("--require-run: refusing to push %s: %s", req.Source, l.Reason)
	}
	explicit := req.InputDigest
	if explicit != "" && (l.Stamped() || explicit != l.runDigest) {
		if req.RequireRun && explicit != l.InputDigest {
			return l, fmt.Errorf("--require-run: --input-digest %s is not the input digest %s of the run in %s", explicit, l.InputDigest, l.Run)
		}
		l.InputDigest, l.Reason = explicit, ""
		l.Tag, _ = lineage.InputTag(explicit)
		return l, nil
	}
	if !l.Stamped() && l.found {
		msg := "pushing without the training run's lineage (input digest, " + lineage.TagPrefix + "<hex12> tag): " + l.Reason
		r.Logf("warning: %s\n", msg)
		r.Annotate(gha.Annotation{Level: "warning", Title: "mlship push: lineage left off", Message: msg})
	}
	return l, nil
}

// runCache is the digest cache of one push: the user's (nil with
// --no-cache: then an in-memory one that is never saved), so that the
// sha256s the run.json check computes reach the upload: on a cold runner
// each packaged file is read once, and a blob the registry already has is
// HEADed, not uploaded again.
func runCache(c *digestcache.Cache) *digestcache.Cache {
	if c == nil {
		return digestcache.New("")
	}
	return c
}

// lineageHints hints a push of a trained spec with the manifest at the
// run's input-<hex12> tag in the destination repository: the artifact the
// same training already shipped there. On a cold runner pushing a new
// tag, the files run.json does not list (docs, datasets, the model card)
// are then HEADed and proved by their hash instead of uploaded again; a
// hint never makes a layer: a file whose bytes differ is uploaded.
func lineageHints(lin RunLineage, ref string) []oci.Option {
	if lin.Tag == "" || strings.HasPrefix(ref, oci.LayoutPrefix) {
		return nil
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil
	}
	return []oci.Option{oci.WithHintFrom(r.Context().Tag(lin.Tag).String())}
}
