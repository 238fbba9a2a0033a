package spec

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/load"
	"cuelang.org/go/cue/parser"
	cuejson "cuelang.org/go/encoding/json"
	cueyaml "cuelang.org/go/encoding/yaml"

	"github.com/mlship/mlship/schema"
)

// specFileNames are the non-CUE spec files a directory may hold.
var specFileNames = []string{"model.json", "model.yaml", "model.yml"}

// Loader loads specs against one compiled copy of the schema. It is cheap
// to reuse across many specs (validate PATH...).
type Loader struct {
	ctx    *cue.Context
	schema cue.Value
	cwd    string
	opts   options
}

// NewLoader compiles the embedded schema. Every evaluation it runs is
// bounded (see Limits and WithEvaluator).
func NewLoader(opts ...Option) (*Loader, error) {
	ctx := cuecontext.New()
	s := ctx.CompileString(schema.Source, cue.Filename(schema.Filename))
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("compiling the embedded schema (a bug in mlship): %w", err)
	}
	cwd, _ := os.Getwd()
	return &Loader{ctx: ctx, schema: s, cwd: cwd, opts: buildOptions(opts)}, nil
}

// Schema returns the compiled schema package value.
func (l *Loader) Schema() cue.Value { return l.schema }

// Load reads the spec at path (a directory, or one .cue/.json/.yaml file),
// unifies it with #Model, runs the semantic checks and returns the typed
// view. A spec with problems returns an ErrorList holding every problem
// found, each with file:line:col.
func Load(ctx context.Context, path string, opts ...Option) (*Model, error) {
	l, err := NewLoader(opts...)
	if err != nil {
		return nil, err
	}
	return l.Load(ctx, path)
}

// Load is Load with a reused schema.
func (l *Loader) Load(ctx context.Context, path string) (*Model, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	files, dir, err := specFiles(path)
	if err != nil {
		return nil, err
	}
	if err := l.guard(ctx, Job{Op: opLoad, Path: path}, dir, files); err != nil {
		return nil, err
	}
	v, errs := l.build(files, dir)
	if len(errs) > 0 {
		return nil, errs
	}
	def := l.schema.LookupPath(cue.ParsePath("#Model"))
	u := def.Unify(v)
	if err := u.Validate(cue.Concrete(true)); err != nil {
		return nil, l.convert(err, u, v, files)
	}
	var m Model
	if err := u.Decode(&m); err != nil {
		return nil, l.convert(err, u, v, files)
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", dir, err)
	}
	m.Dir = absDir
	m.Files = files
	if errs := l.check(&m, v); len(errs) > 0 {
		return nil, errs
	}
	canon, err := json.Marshal(&m)
	if err != nil {
		return nil, fmt.Errorf("encoding spec %s: %w", path, err)
	}
	sum := sha256.Sum256(canon)
	m.Digest = "sha256:" + hex.EncodeToString(sum[:])
	return &m, nil
}

// specFiles resolves path into the list of files making up one spec.
func specFiles(path string) (files []string, dir string, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, "", fmt.Errorf("reading spec %s: %w", path, err)
	}
	if !fi.IsDir() {
		switch strings.ToLower(filepath.Ext(path)) {
		case ".cue", ".json", ".yaml", ".yml":
			return []string{path}, filepath.Dir(path), nil
		}
		return nil, "", fmt.Errorf("spec %s: unsupported file type (want .cue, .json or .yaml)", path)
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, "", fmt.Errorf("reading spec directory %s: %w", path, err)
	}
	for _, e := range entries {
		if !e.IsDir() && IsSpecFile(e.Name()) {
			files = append(files, filepath.Join(path, e.Name()))
		}
	}
	if len(files) == 0 {
		return nil, "", fmt.Errorf("no spec in %s: create model.cue (or model.json / model.yaml); `mlship init` writes a starter", path)
	}
	sort.Strings(files)
	return files, path, nil
}

// build compiles the spec files into one value. CUE files are loaded as one
// package (so they may reference each other); JSON and YAML files are
// unified in.
func (l *Loader) build(files []string, dir string) (cue.Value, ErrorList) {
	var cueFiles []string
	var errs ErrorList
	v := l.ctx.CompileString("{}")
	for _, f := range files {
		if strings.ToLower(filepath.Ext(f)) == ".cue" {
			cueFiles = append(cueFiles, f)
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, Error{File: l.rel(f), Message: err.Error()})
			continue
		}
		fv, err := l.buildData(f, data)
		if err != nil {
			errs = append(errs, l.convertList(err, []string{f})...)
			continue
		}
		v = v.Unify(fv)
	}
	if len(cueFiles) > 0 {
		fv, err := l.buildCUE(cueFiles, dir)
		if err != nil {
			errs = append(errs, l.convertList(err, cueFiles)...)
		} else {
			v = v.Unify(fv)
		}
	}
	return v, errs
}

func (l *Loader) buildCUE(files []string, dir string) (cue.Value, error) {
	// Parse first so syntax errors carry positions even when the files do
	// not form a package the loader accepts.
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return cue.Value{}, fmt.Errorf("reading %s: %w", f, err)
		}
		if _, err := parser.ParseFile(f, src, parser.ParseComments); err != nil {
			return cue.Value{}, err
		}
	}
	abs := make([]string, len(files))
	for i, f := range files {
		a, err := filepath.Abs(f)
		if err != nil {
			return cue.Value{}, err
		}
		abs[i] = a
	}
	absDir, _ := filepath.Abs(dir)
	insts := load.Instances(abs, &load.Config{Dir: absDir, Package: "*"})
	if len(insts) == 0 {
		return cue.Value{}, fmt.Errorf("no CUE instance in %s", dir)
	}
	if len(insts) > 1 {
		return cue.Value{}, fmt.Errorf("%s holds CUE files of different packages: a spec is one package", dir)
	}
	if err := insts[0].Err; err != nil {
		return cue.Value{}, err
	}
	v := l.ctx.BuildInstance(insts[0])
	return v, v.Err()
}

// buildData compiles a JSON or YAML file, keeping positions for errors.
// CUE's decoders have panicked on malformed input (the YAML decoder on
// "\r\r00", found by FuzzLoad); a spec is user input, so a panic there
// becomes an error naming the file.
func (l *Loader) buildData(filename string, data []byte) (v cue.Value, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("cannot parse %s (the CUE decoder failed: %v): check its syntax", strings.TrimPrefix(strings.ToUpper(filepath.Ext(filename)), "."), p)
		}
	}()
	if strings.ToLower(filepath.Ext(filename)) == ".json" {
		expr, err := cuejson.Extract(filename, data)
		if err != nil {
			return v, err
		}
		v = l.ctx.BuildExpr(expr, cue.Filename(filename))
	} else {
		af, err := cueyaml.Extract(filename, data)
		if err != nil {
			return v, err
		}
		v = l.ctx.BuildFile(af, cue.Filename(filename))
	}
	return v, v.Err()
}

// ParseEnvironments decodes an environments file (CUE, JSON or YAML) and
// validates it against #Environments. Its evaluation is bounded like a
// spec's (the file comes from a pull request too).
func (l *Loader) ParseEnvironments(filename string, data []byte) (*Environments, error) {
	v, err := l.buildEnvironments(filename, data)
	if err != nil {
		return nil, err
	}
	u := l.schema.LookupPath(cue.ParsePath("#Environments")).Unify(v)
	if err := u.Validate(cue.Concrete(true)); err != nil {
		return nil, l.convert(err, u, v, []string{filename})
	}
	var e Environments
	if err := u.Decode(&e); err != nil {
		return nil, l.convert(err, u, v, []string{filename})
	}
	if e.Environments == nil {
		e.Environments = map[string]EnvState{}
	}
	return &e, nil
}

// buildEnvironments compiles an environments file, bounded, into the value
// as the user wrote it.
func (l *Loader) buildEnvironments(filename string, data []byte) (cue.Value, error) {
	// ParseEnvironments has no context in its signature (callers in
	// promote); the probe's own time bound applies.
	if err := l.guardData(context.Background(), Job{Op: opEnvironments, File: filename, Data: data}, filename, data); err != nil {
		return cue.Value{}, err
	}
	var v cue.Value
	if ext := strings.ToLower(filepath.Ext(filename)); ext == ".json" || ext == ".yaml" || ext == ".yml" {
		var err error
		if v, err = l.buildData(filename, data); err != nil {
			return v, l.convertList(err, []string{filename})
		}
	} else {
		af, err := parser.ParseFile(filename, data, parser.ParseComments)
		if err != nil {
			return v, l.convertList(err, []string{filename})
		}
		// An environments file may carry a package clause; imports are
		// not supported (it is data, not code).
		var decls []ast.Decl
		for _, d := range af.Decls {
			if _, ok := d.(*ast.ImportDecl); !ok {
				decls = append(decls, d)
			}
		}
		af.Decls = decls
		v = l.ctx.BuildFile(af, cue.Filename(filename))
	}
	if err := v.Err(); err != nil {
		return v, l.convertList(err, []string{filename})
	}
	return v, nil
}

// LoadEnvironments reads the environments file of the spec in dir:
// mlship/environments.cue (or .json/.yaml). A missing file is an empty
// state, not an error: nothing has been deployed yet.
func (l *Loader) LoadEnvironments(dir string) (*Environments, string, error) {
	for _, name := range EnvironmentsFiles {
		p := filepath.Join(dir, name)
		data, err := readBounded(p, l.opts.limits.FileSize)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, p, ErrorList{{File: l.rel(p), Message: err.Error()}}
		}
		e, err := l.ParseEnvironments(p, data)
		return e, p, err
	}
	return &Environments{Environments: map[string]EnvState{}}, filepath.Join(dir, EnvironmentsFiles[0]), nil
}

// EnvironmentsFiles are the accepted names of the desired-state file,
// relative to the spec directory, in order of preference.
var EnvironmentsFiles = []string{"mlship/environments.cue", "mlship/environments.json", "mlship/environments.yaml", "mlship/environments.yml"}

// GeneratedFiles are the files `mlship package` writes beside the spec
// (the model card, the drift reference profile), relative to the spec
// directory. They are outputs, never inputs: the training's code digest
// leaves them out, or packaging would change what the next run trains on.
var GeneratedFiles = []string{"MODEL_CARD.md", "reference-profile.json"}

// Export returns the spec at path as JSON: as written (raw) or unified
// with the schema, defaults applied. It is what editors and other tools
// see when they check a spec against the exported JSON Schema.
func (l *Loader) Export(ctx context.Context, path string, withDefaults bool) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	files, dir, err := specFiles(path)
	if err != nil {
		return nil, err
	}
	if err := l.guard(ctx, Job{Op: opExport, Path: path, WithDefaults: withDefaults}, dir, files); err != nil {
		return nil, err
	}
	v, errs := l.build(files, dir)
	if len(errs) > 0 {
		return nil, errs
	}
	if withDefaults {
		v = l.schema.LookupPath(cue.ParsePath("#Model")).Unify(v)
		if err := v.Validate(cue.Concrete(true)); err != nil {
			return nil, l.convert(err, v, v, files)
		}
	}
	b, err := v.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("exporting %s as JSON: %w", path, err)
	}
	return b, nil
}
