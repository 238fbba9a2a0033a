package promote

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/format"
	"cuelang.org/go/cue/parser"
	cuejson "cuelang.org/go/encoding/json"
	cueyaml "cuelang.org/go/encoding/yaml"

	"github.com/mlship/mlship/internal/spec"
)

// SetEnvironment returns the environments file data (named filename: .cue,
// .json or .yaml) with env's digest, version and promotedBy set to st's
// (empty fields are removed), everything else kept. CUE files keep their
// comments and layout; JSON and YAML are re-encoded (JSON with sorted
// keys, YAML without comments). An empty data starts a new file.
func SetEnvironment(filename string, data []byte, env string, st spec.EnvState) ([]byte, error) {
	if env == "" || st.Digest == "" {
		return nil, fmt.Errorf("setting an environment in %s: environment and digest are required", filename)
	}
	var f *ast.File
	var err error
	ext := strings.ToLower(filepath.Ext(filename))
	switch ext {
	case ".json":
		if len(bytes.TrimSpace(data)) == 0 {
			data = []byte("{}")
		}
		var expr ast.Expr
		if expr, err = cuejson.Extract(filename, data); err == nil {
			sl, ok := expr.(*ast.StructLit)
			if !ok {
				return nil, fmt.Errorf("%s: the environments file must hold a JSON object", filename)
			}
			f = &ast.File{Decls: sl.Elts}
		}
	case ".yaml", ".yml":
		f, err = cueyaml.Extract(filename, data)
	default:
		f, err = parser.ParseFile(filename, data, parser.ParseComments)
	}
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", filename, err)
	}
	base := []string{"environments", env}
	for _, kv := range []struct{ k, v string }{{"digest", st.Digest}, {"version", st.Version}, {"promotedBy", st.PromotedBy}} {
		path := append(append([]string(nil), base...), kv.k)
		if kv.v == "" {
			removeField(f.Decls, path)
			continue
		}
		setField(&f.Decls, path, ast.NewString(kv.v))
	}
	switch ext {
	case ".json", ".yaml", ".yml":
		v := cuecontext.New().BuildFile(f)
		if err := v.Err(); err != nil {
			return nil, fmt.Errorf("%s after the edit: %w", filename, err)
		}
		if ext != ".json" {
			return cueyaml.Encode(v)
		}
		raw, err := v.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("%s after the edit: %w", filename, err)
		}
		var out bytes.Buffer
		if err := json.Indent(&out, raw, "", "  "); err != nil {
			return nil, err
		}
		out.WriteByte('\n')
		return out.Bytes(), nil
	}
	return format.Node(f)
}

func labelName(l ast.Label) string {
	name, _, err := ast.LabelName(l)
	if err != nil {
		return ""
	}
	return name
}

// setField sets the first field at path among decls (creating it and its
// parents as needed).
func setField(decls *[]ast.Decl, path []string, val ast.Expr) {
	for _, d := range *decls {
		f, ok := d.(*ast.Field)
		if !ok || labelName(f.Label) != path[0] {
			continue
		}
		if len(path) == 1 {
			f.Value = val
			return
		}
		if sl, ok := f.Value.(*ast.StructLit); ok {
			setField(&sl.Elts, path[1:], val)
			return
		}
	}
	*decls = append(*decls, newField(path, val))
}

func newField(path []string, val ast.Expr) *ast.Field {
	if len(path) == 1 {
		return &ast.Field{Label: ast.NewStringLabel(path[0]), Value: val}
	}
	return &ast.Field{Label: ast.NewStringLabel(path[0]), Value: ast.NewStruct(newField(path[1:], val))}
}

// removeField deletes every field at path among decls.
func removeField(decls []ast.Decl, path []string) {
	for _, d := range decls {
		f, ok := d.(*ast.Field)
		if !ok || labelName(f.Label) != path[0] {
			continue
		}
		sl, ok := f.Value.(*ast.StructLit)
		if !ok || len(path) < 2 {
			continue
		}
		if len(path) == 2 {
			kept := sl.Elts[:0]
			for _, e := range sl.Elts {
				if ef, ok := e.(*ast.Field); ok && labelName(ef.Label) == path[1] {
					continue
				}
				kept = append(kept, e)
			}
			sl.Elts = kept
			continue
		}
		removeField(sl.Elts, path[1:])
	}
}
