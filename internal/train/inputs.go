package train

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/mlship/mlship/internal/spec"
	"github.com/mlship/mlship/internal/train/lineage"
)

// modelFiles checks that the model directory exists and holds at least
// one file written since the run started, and returns the digest of each
// file in it.
func modelFiles(dir string, since time.Time) (map[string]string, error) {
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("the training did not create its model directory %s (train.outputs.model)", dir)
	}
	files := map[string]string{}
	fresh := 0
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil && !fi.ModTime().Before(since.Add(-2*time.Second)) {
				fresh++
			}
			dg, err := lineage.FileDigest(path)
			if err != nil {
				return err
			}
			r, _ := filepath.Rel(dir, path)
			files[filepath.ToSlash(r)] = dg
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the model directory %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("the model directory %s is empty: the training wrote no model (train.outputs.model)", dir)
	}
	if fresh == 0 {
		return nil, fmt.Errorf("the training wrote nothing to its model directory %s: every file there is from before this run (train.outputs.model)", dir)
	}
	return files, nil
}

// datasetDigests hashes the training datasets and checks pinned digests.
// Every local dataset is verified; only role "train" ones enter the input
// digest. A URL is recorded by its pinned digest, or as "uri:<url>".
func datasetDigests(m *spec.Model, dir string) (map[string]string, error) {
	out := map[string]string{}
	names := make([]string, 0, len(m.Datasets))
	for n := range m.Datasets {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ds := m.Datasets[n]
		var d string
		if isURL(ds.URI) {
			d = ds.Digest
			if d == "" {
				d = "uri:" + ds.URI
			}
		} else {
			path := filepath.Join(dir, filepath.FromSlash(ds.URI))
			got, err := lineage.PathDigest(path)
			if err != nil {
				return nil, fmt.Errorf("dataset %s (%s): %w", n, ds.URI, err)
			}
			if ds.Digest != "" && ds.Digest != got {
				return nil, fmt.Errorf("dataset %s (%s) has digest %s but the spec pins %s: the data changed; update datasets.%s.digest if the change is intended", n, ds.URI, got, ds.Digest, n)
			}
			d = got
		}
		if ds.Role == "train" {
			out[n] = d
		}
	}
	return out, nil
}

func isURL(s string) bool {
	i := strings.Index(s, "://")
	return i > 0 && !strings.ContainsAny(s[:i], "/.")
}

// codeDigest hashes the source files of the workdir, leaving out the spec
// files (the train section is digested on its own), the environments file
// (promotion state), the datasets and the outputs.
func codeDigest(ctx context.Context, m *spec.Model, dir string, p *Prepared) (string, error) {
	skip := map[string]bool{}
	for _, f := range m.Files {
		abs := f
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(dir, f)
			if _, err := os.Stat(abs); err != nil {
				abs, _ = filepath.Abs(f)
			}
		}
		skip[abs] = true
	}
	for _, ds := range m.Datasets {
		if !isURL(ds.URI) {
			skip[filepath.Join(dir, filepath.FromSlash(ds.URI))] = true
		}
	}
	// The environments file changes with every promotion, never the model.
	for _, name := range spec.EnvironmentsFiles {
		skip[filepath.Join(dir, filepath.FromSlash(name))] = true
	}
	for _, name := range spec.GeneratedFiles {
		skip[filepath.Join(dir, filepath.FromSlash(name))] = true
	}
	prefixes := []string{p.model + string(filepath.Separator)}
	skip[p.metrics] = true
	skip[p.model] = true
	files, err := lineage.SourceFiles(ctx, p.workdir, func(r string) bool {
		abs := filepath.Join(p.workdir, filepath.FromSlash(r))
		if skip[abs] || filepath.Base(abs) == "run.json" {
			return true
		}
		for _, pre := range prefixes {
			if strings.HasPrefix(abs, pre) {
				return true
			}
		}
		for s := range skip {
			if strings.HasPrefix(abs, s+string(filepath.Separator)) {
				return true
			}
		}
		return false
	})
	if err != nil {
		return "", err
	}
	d, err := lineage.TreeDigest(p.workdir, files)
	if err != nil {
		return "", fmt.Errorf("code digest of %s: %w", p.workdir, err)
	}
	return d, nil
}

// trainSectionDigest digests what of the train section changes the
// computation: command, workdir, env, outputs.
func trainSectionDigest(t *spec.Train) (string, error) {
	v := struct {
		Command []string          `json:"command"`
		Workdir string            `json:"workdir"`
		Env     map[string]string `json:"env"`
		Outputs spec.Outputs      `json:"outputs"`
	}{t.Command, orDefault(t.Workdir, "."), t.Env, t.Outputs}
	if v.Env == nil {
		v.Env = map[string]string{}
	}
	return lineage.DigestOf(v)
}
