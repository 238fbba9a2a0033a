package spec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"
)

// guard bounds one evaluation of untrusted files before the Loader runs it
// in-process: cheap checks first (how many files, regular files, size),
// then, unless every file is plain data, the evaluator's probe. Plain data
// (literals, structs and lists, as JSON, YAML and most specs are) costs time
// and memory linear in its size, and CUE's parser and YAML decoder bound
// nesting and alias expansion, so it skips the child process: the fast
// path stays fast.
func (l *Loader) guard(ctx context.Context, job Job, dir string, files []string) error {
	lim := l.opts.limits
	if len(files) > lim.Files {
		return ErrorList{{File: l.rel(dir), Message: fmt.Sprintf("%d spec files, over the limit of %d: a spec is a few files of data", len(files), lim.Files)}}
	}
	risky := ""
	for _, f := range files {
		data, err := readBounded(f, lim.FileSize)
		if err != nil {
			return ErrorList{{File: l.rel(f), Message: err.Error()}}
		}
		if risky == "" && !isPlain(f, data) {
			risky = f
		}
	}
	if risky == "" {
		return nil
	}
	return l.probe(ctx, job, risky)
}

// guardData is guard for one file already in memory.
func (l *Loader) guardData(ctx context.Context, job Job, filename string, data []byte) error {
	if err := checkSize(int64(len(data)), l.opts.limits.FileSize); err != nil {
		return ErrorList{{File: l.rel(filename), Message: err.Error()}}
	}
	if isPlain(filename, data) {
		return nil
	}
	return l.probe(ctx, job, filename)
}

// probe asks the evaluator; any answer but "within the bounds" is an
// error naming file (the first file that needed the probe).
func (l *Loader) probe(ctx context.Context, job Job, file string) error {
	err := l.opts.evaluator.Probe(ctx, job, l.opts.limits)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var le *LimitError
	if errors.As(err, &le) {
		return ErrorList{{File: l.rel(file), Message: fmt.Sprintf("CUE evaluation exceeded %s: %s; keep the file plain data: remove the references, repetitions or comprehensions that multiply it", l.opts.limits.bounds(), le)}}
	}
	return ErrorList{{File: l.rel(file), Message: fmt.Sprintf("cannot evaluate CUE within its bounds (%s), so it is not evaluated: %v", l.opts.limits.bounds(), err)}}
}

// readBounded reads a spec file that must be a regular file (not a device
// or pipe, reached through a symlink or not) of at most max bytes.
func readBounded(path string, max int64) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s): a spec file must be a plain file", fi.Mode().Type())
	}
	if err := checkSize(fi.Size(), max); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if err := checkSize(int64(len(data)), max); err != nil {
		return nil, err
	}
	return data, nil
}

func checkSize(n, max int64) error {
	if n > max {
		return fmt.Errorf("the file is %s, over the %s limit of a spec file: keep data such as datasets out of the spec", mib(n), mib(max))
	}
	return nil
}

// isPlain reports whether a file is data only. A CUE file that does not
// parse counts as plain: loading stops at its syntax error before anything
// is evaluated.
func isPlain(filename string, data []byte) bool {
	if strings.ToLower(filepath.Ext(filename)) != ".cue" {
		return true // JSON and YAML hold no references
	}
	f, err := parser.ParseFile(filename, data)
	if err != nil {
		return true
	}
	return plainDecls(f.Decls)
}

func plainDecls(decls []ast.Decl) bool {
	for _, d := range decls {
		switch d := d.(type) {
		case *ast.Package, *ast.CommentGroup, *ast.Attribute:
		case *ast.Field:
			if !plainLabel(d.Label) || !plainExpr(d.Value) {
				return false
			}
		case *ast.EmbedDecl:
			if !plainExpr(d.Expr) {
				return false
			}
		default: // imports, let, comprehensions, ellipses
			return false
		}
	}
	return true
}

func plainLabel(l ast.Label) bool {
	switch l := l.(type) {
	case *ast.Ident:
		return true
	case *ast.BasicLit:
		return l.Kind == token.STRING
	}
	return false // dynamic, pattern and aliased labels
}

func plainExpr(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.BasicLit:
		return true
	case *ast.UnaryExpr:
		lit, ok := e.X.(*ast.BasicLit)
		return ok && (e.Op == token.SUB || e.Op == token.ADD) && (lit.Kind == token.INT || lit.Kind == token.FLOAT)
	case *ast.StructLit:
		return plainDecls(e.Elts)
	case *ast.ListLit:
		for _, x := range e.Elts {
			if !plainExpr(x) {
				return false
			}
		}
		return true
	}
	return false // references, operators, calls, interpolations, ellipses
}
