package oci

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	modelspec "github.com/modelpack/model-spec/specs-go/v1"

	"github.com/mlship/mlship/internal/spec"
)

// Source is what Push packages: files under Dir with their roles, the
// ModelPack config fields and manifest annotations.
type Source struct {
	// Dir is the model root; File paths are relative to it.
	Dir   string
	Files []File
	// Descriptor and Config go into the ModelPack config blob; Push fills
	// in CreatedAt and the modelfs.
	Descriptor modelspec.ModelDescriptor
	Config     modelspec.ModelConfig
	// Annotations go on the manifest.
	Annotations map[string]string
}

// File is one layer: a file (raw layer) or a directory (tar layer).
type File struct {
	// Path is slash-separated and relative to Source.Dir.
	Path string
	Role Role
	// Compress is "", "none", "gzip" or "zstd". A compressed file or any
	// directory becomes a tar layer.
	Compress string
}

// RoleRule assigns Role to files whose path or base name matches Pattern
// (path.Match syntax).
type RoleRule struct {
	Pattern string
	Role    Role
}

// ParseRoleRule parses PATTERN=ROLE.
func ParseRoleRule(s string) (RoleRule, error) {
	pat, r, ok := strings.Cut(s, "=")
	if !ok || pat == "" {
		return RoleRule{}, fmt.Errorf("role rule %q: want PATTERN=ROLE, e.g. '*.npz=weight'", s)
	}
	if _, err := path.Match(pat, ""); err != nil {
		return RoleRule{}, fmt.Errorf("role rule %q: bad pattern: %w", s, err)
	}
	role, err := ParseRole(r)
	if err != nil {
		return RoleRule{}, fmt.Errorf("role rule %q: %w", s, err)
	}
	return RoleRule{Pattern: pat, Role: role}, nil
}

func (r RoleRule) match(rel string) bool {
	if ok, _ := path.Match(r.Pattern, rel); ok {
		return true
	}
	ok, _ := path.Match(r.Pattern, path.Base(rel))
	return ok
}

// defaultRules infer roles from names, first match wins.
var defaultRules = []RoleRule{
	{"*.safetensors", RoleWeight}, {"*.bin", RoleWeight}, {"*.pt", RoleWeight}, {"*.onnx", RoleWeight},
	{"*.gguf", RoleWeight}, {"*.pth", RoleWeight}, {"*.ckpt", RoleWeight}, {"*.h5", RoleWeight},
	{"*.keras", RoleWeight}, {"*.pb", RoleWeight}, {"*.tflite", RoleWeight}, {"*.npz", RoleWeight},
	{"*.npy", RoleWeight}, {"*.pkl", RoleWeight}, {"*.joblib", RoleWeight}, {"*.msgpack", RoleWeight},
	{"config.json", RoleWeightConfig}, {"tokenizer*", RoleWeightConfig}, {"generation_config.json", RoleWeightConfig},
	{"*.md", RoleDoc}, {"LICENSE*", RoleDoc}, {"NOTICE*", RoleDoc}, {"*.txt", RoleDoc},
	{"*.py", RoleCode}, {"*.ipynb", RoleCode}, {"*.sh", RoleCode},
	{"*.json", RoleWeightConfig}, {"*.yaml", RoleWeightConfig}, {"*.yml", RoleWeightConfig},
	{"*.model", RoleWeightConfig}, {"*.tiktoken", RoleWeightConfig},
	{"*.csv", RoleDataset}, {"*.parquet", RoleDataset}, {"*.jsonl", RoleDataset},
}

// InferRole returns the role of a file by its name: rules first, then the
// built-in inference (weights, weight config, docs, code, datasets).
func InferRole(rel string, rules []RoleRule) (Role, bool) {
	for _, r := range rules {
		if r.match(rel) {
			return r.Role, true
		}
	}
	for _, r := range defaultRules {
		if r.match(rel) {
			return r.Role, true
		}
	}
	return "", false
}

// SourceFromDir walks dir and packages every regular file as its own raw
// layer, with roles inferred from names (rules override). Hidden files
// and directories are skipped; a file whose role cannot be inferred is an
// error naming it.
func SourceFromDir(dir string, rules []RoleRule) (Source, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Source{}, fmt.Errorf("model directory %s: %w", dir, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return Source{}, fmt.Errorf("model directory: %w", err)
	}
	if !fi.IsDir() {
		return Source{}, fmt.Errorf("model source %s is not a directory", dir)
	}
	src := Source{Dir: abs, Descriptor: modelspec.ModelDescriptor{Name: filepath.Base(abs)}}
	var unknown []string
	err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == abs {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(abs, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !d.Type().IsRegular() {
			if d.Type()&fs.ModeSymlink == 0 {
				return nil
			}
			// A symlink is packaged as the file it points to.
			if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
				return nil
			}
		}
		role, ok := InferRole(rel, rules)
		if !ok {
			unknown = append(unknown, rel)
			return nil
		}
		src.Files = append(src.Files, File{Path: rel, Role: role})
		return nil
	})
	if err != nil {
		return Source{}, fmt.Errorf("reading model directory %s: %w", dir, err)
	}
	if len(unknown) > 0 {
		return Source{}, fmt.Errorf("cannot infer the role of %s in %s: add --role PATTERN=ROLE (roles: weight, weight-config, code, dataset, doc)", strings.Join(unknown, ", "), dir)
	}
	if len(src.Files) == 0 {
		return Source{}, fmt.Errorf("model directory %s has no files to package", dir)
	}
	sort.SliceStable(src.Files, func(i, j int) bool { return src.Files[i].Path < src.Files[j].Path })
	return src, nil
}

// SourceFromSpec packages the files listed in the spec's package section,
// relative to the spec directory, with the spec's ModelPack fields and the
// version and spec digest annotations.
func SourceFromSpec(m *spec.Model) (Source, error) {
	if m == nil {
		return Source{}, errors.New("no spec given")
	}
	src := Source{
		Dir: m.Dir,
		Descriptor: modelspec.ModelDescriptor{
			Name: m.Name, Version: m.Version, Authors: m.Authors, Family: m.Family,
			Description: m.Description, Title: m.Name,
		},
		Config: modelspec.ModelConfig{
			Architecture: m.Package.Architecture, Format: m.Package.Format, ParamSize: m.Package.ParamSize,
			Precision: m.Package.Precision, Quantization: m.Package.Quantization,
		},
		Annotations: map[string]string{},
	}
	if m.License != "" {
		src.Descriptor.Licenses = []string{m.License}
	}
	if m.Version != "" {
		src.Annotations[AnnotationVersion] = m.Version
	}
	if m.Name != "" {
		src.Annotations[AnnotationTitle] = m.Name
	}
	if m.Digest != "" {
		src.Annotations[AnnotationSpecDigest] = m.Digest
	}
	if fw := m.Package.Framework; fw != nil && fw.Name != "" {
		v := fw.Name
		if fw.Version != "" {
			v += "@" + fw.Version
		}
		src.Annotations["dev.mlship.framework"] = v
	}
	if len(m.Package.Files) == 0 {
		return Source{}, fmt.Errorf("spec %s lists no files under package.files: add {path: ..., role: ...} entries", m.Dir)
	}
	for i, f := range m.Package.Files {
		role, err := ParseRole(f.Role)
		if err != nil {
			return Source{}, fmt.Errorf("spec package.files[%d] (%s): %w", i, f.Path, err)
		}
		src.Files = append(src.Files, File{Path: f.Path, Role: role, Compress: f.Compress})
	}
	return src, nil
}

// cleanRel validates a slash-separated path that must stay inside its root.
func cleanRel(p string) (string, error) {
	if p == "" {
		return "", errors.New("empty path")
	}
	if strings.ContainsRune(p, 0) || strings.Contains(p, `\`) {
		return "", fmt.Errorf("path %q contains a NUL or backslash", p)
	}
	if path.IsAbs(p) || filepath.IsAbs(p) || (len(p) >= 2 && p[1] == ':') {
		return "", fmt.Errorf("path %q is absolute", p)
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			return "", fmt.Errorf("path %q leaves its root (..)", p)
		}
	}
	c := path.Clean(p)
	if c == "." {
		return "", fmt.Errorf("path %q names the root itself", p)
	}
	return c, nil
}
