package e2e

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mlship/mlship/internal/testenv"
)

// stepActions maps each step action to the CLI files of the subcommands its
// script runs (actions/package runs `mlship push`, actions/promote runs
// `mlship promote` and `mlship status`).
var stepActions = map[string][]string{
	"validate": {"validate.go"},
	"train":    {"train.go"},
	"eval":     {"eval.go"},
	"drift":    {"drift.go"},
	"package":  {"push.go"},
	"report":   {"report.go"},
	"promote":  {"promote.go", "status.go"},
}

// stepOutput matches an output's value: the output of one inner step.
var stepOutput = regexp.MustCompile(`^\$\{\{\s*steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)\s*\}\}$`)

// TestActionsDeclareOutputs: a composite action passes on only the outputs
// it declares, so every output an mlship subcommand writes to GITHUB_OUTPUT
// must be declared, with a description, by the root action (whose command:
// input runs any subcommand) and by the step action running that
// subcommand, each mapped from a step of the action that exists.
func TestActionsDeclareOutputs(t *testing.T) {
	t.Parallel()
	root := testenv.RepoRoot(t)
	byFile := cliOutputs(t, filepath.Join(root, "internal", "pipeline"))
	var all []string
	for _, names := range byFile {
		all = append(all, names...)
	}
	slices.Sort(all)
	all = slices.Compact(all)
	// Guard the scan: these are written in each of the ways it recognizes.
	for _, want := range []string{"matrix", "count", "valid", "digest", "ref", "report-path", "drift-share", "plan-path", "best-dir", "in-sync", "private-key"} {
		if !slices.Contains(all, want) {
			t.Fatalf("the scan of internal/pipeline found no output %q (found %v)", want, all)
		}
	}
	t.Run("action.yml", func(t *testing.T) {
		t.Parallel()
		for _, p := range outputProblems(readYAML(t, filepath.Join(root, "action.yml")), all) {
			t.Error(p)
		}
	})
	for step, files := range stepActions {
		t.Run("actions/"+step, func(t *testing.T) {
			t.Parallel()
			var want []string
			for _, f := range files {
				if len(byFile[f]) == 0 {
					t.Fatalf("internal/pipeline/%s writes no output", f)
				}
				want = append(want, byFile[f]...)
			}
			for _, p := range outputProblems(readYAML(t, filepath.Join(root, "actions", step, "action.yml")), want) {
				t.Error(p)
			}
		})
	}
}

// outputProblems lists the outputs of want the action does not declare,
// and declared outputs without a description or not mapped from a step of
// the action.
func outputProblems(action map[string]any, want []string) []string {
	outputs := asMap(action["outputs"])
	ids := map[string]bool{}
	steps, _ := asMap(action["runs"])["steps"].([]any)
	for _, st := range steps {
		if id, ok := asMap(st)["id"].(string); ok {
			ids[id] = true
		}
	}
	var problems []string
	for _, name := range want {
		if _, ok := outputs[name]; !ok {
			problems = append(problems, "does not declare the output "+strconv.Quote(name)+" that mlship writes: steps.<id>.outputs."+name+" reads '' on GitHub")
		}
	}
	for _, name := range keys(outputs) {
		o := asMap(outputs[name])
		if d, _ := o["description"].(string); strings.TrimSpace(d) == "" {
			problems = append(problems, "output "+strconv.Quote(name)+" has no description")
		}
		v, _ := o["value"].(string)
		m := stepOutput.FindStringSubmatch(strings.TrimSpace(v))
		switch {
		case m == nil:
			problems = append(problems, "output "+strconv.Quote(name)+" is "+strconv.Quote(v)+", not ${{ steps.<id>.outputs.<name> }}")
		case !ids[m[1]]:
			problems = append(problems, "output "+strconv.Quote(name)+" maps step "+strconv.Quote(m[1])+", which the action does not have")
		}
	}
	return problems
}

// cliOutputs scans the non-test Go files of internal/pipeline (where the use
// cases write their step outputs) for the output
// names each writes with SetOutput: in the functions calling it, the string
// literals that are SetOutput's first argument, keys of a map[string]string
// literal, indexes assigned to in such a map (outs["plan-path"] = ...), or the first field
// of a []struct{k, v string} literal's elements.
func cliOutputs(t *testing.T, dir string) map[string][]string {
	t.Helper()
	fset := token.NewFileSet()
	paths, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	out := map[string][]string{}
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			t.Fatalf("parsing %s: %v", p, err)
		}
		var names []string
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Body != nil && callsSetOutput(fn.Body) {
				names = append(names, outputNames(fn.Body)...)
			}
		}
		slices.Sort(names)
		if names = slices.Compact(names); len(names) > 0 {
			out[filepath.Base(p)] = names
		}
	}
	return out
}

func callsSetOutput(body ast.Node) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok {
			if s, ok := c.Fun.(*ast.SelectorExpr); ok && s.Sel.Name == "SetOutput" {
				found = true
			}
		}
		return !found
	})
	return found
}

func outputNames(body ast.Node) []string {
	var names []string
	// outputMaps are the variables holding a map[string]string literal:
	// only indexes of those count (a JSON map[string]any does not).
	outputMaps := map[string]bool{}
	ast.Inspect(body, func(n ast.Node) bool {
		if as, ok := n.(*ast.AssignStmt); ok && len(as.Lhs) == len(as.Rhs) {
			for i, r := range as.Rhs {
				if c, ok := r.(*ast.CompositeLit); ok && isStringMap(c.Type) {
					if id, ok := as.Lhs[i].(*ast.Ident); ok {
						outputMaps[id.Name] = true
					}
				}
			}
		}
		return true
	})
	lit := func(e ast.Expr) {
		if b, ok := e.(*ast.BasicLit); ok && b.Kind == token.STRING {
			if s, err := strconv.Unquote(b.Value); err == nil {
				names = append(names, s)
			}
		}
	}
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if s, ok := n.Fun.(*ast.SelectorExpr); ok && s.Sel.Name == "SetOutput" && len(n.Args) > 0 {
				lit(n.Args[0])
			}
		case *ast.AssignStmt:
			for _, l := range n.Lhs {
				if ix, ok := l.(*ast.IndexExpr); ok {
					if id, ok := ix.X.(*ast.Ident); ok && outputMaps[id.Name] {
						lit(ix.Index)
					}
				}
			}
		case *ast.CompositeLit:
			switch typ := n.Type.(type) {
			case *ast.MapType:
				if isStringMap(typ) {
					for _, e := range n.Elts {
						if kv, ok := e.(*ast.KeyValueExpr); ok {
							lit(kv.Key)
						}
					}
				}
			case *ast.ArrayType:
				if _, ok := typ.Elt.(*ast.StructType); ok {
					for _, e := range n.Elts {
						if c, ok := e.(*ast.CompositeLit); ok && len(c.Elts) > 0 {
							lit(c.Elts[0])
						}
					}
				}
			}
		}
		return true
	})
	return names
}

func isStringMap(e ast.Expr) bool {
	m, ok := e.(*ast.MapType)
	return ok && isIdent(m.Key, "string") && isIdent(m.Value, "string")
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}
