package spec

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets this test binary act as the CUE sandbox: the default
// evaluator re-executes the running program, which here is the test binary.
func TestMain(m *testing.M) {
	if code, ok := ServeSandbox(os.Args[1:], os.Stdin, os.Stdout); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

const specHead = "name: \"iris\"\nversion: \"1.0.0\"\nregistry: repository: \"ghcr.io/acme/m\"\n"

// listBomb doubles a list n times: 8 KB of CUE, 2^n elements evaluated.
func listBomb(field string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: a0: [1, 1]\n", field)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%s: a%d: [%s.a%d, %s.a%d]\n", field, i, field, i-1, field, i-1)
	}
	return b.String()
}

// listBombSpec makes the spec's description hold the 2^31 elements.
func listBombSpec() string {
	return "import \"encoding/json\"\n" + specHead + "description: json.Marshal(_b.a30)\n" + listBomb("_b", 30)
}

// stringBomb doubles a string n times.
func stringBomb(field string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: s0: %q\n", field, strings.Repeat("x", 64))
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%s: s%d: %s.s%d + %s.s%d\n", field, i, field, i-1, field, i-1)
	}
	return b.String()
}

// comprehensionHang iterates 10^12 times.
const comprehensionHang = "_r: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n" +
	"_x: [for a in _r for b in _r for c in _r for d in _r for e in _r for f in _r for g in _r for h in _r for i in _r for j in _r for k in _r for l in _r {1}]\n" +
	"description: \"\\(len(_x))\"\n"

func writeSpec(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// wantBoundError checks err is one Error naming file (relative to the
// working directory, as every spec error) and the bounds.
func wantBoundError(t *testing.T, err error, file, bounds string) {
	t.Helper()
	if filepath.IsAbs(file) {
		cwd, _ := os.Getwd()
		if r, rerr := filepath.Rel(cwd, file); rerr == nil {
			file = filepath.ToSlash(r)
		}
	}
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 1 {
		t.Fatalf("error %T %v, want one spec.Error", err, err)
	}
	if list[0].File != file {
		t.Errorf("error names %q, want %q: %v", list[0].File, file, err)
	}
	t.Log(err)
	if want := "CUE evaluation exceeded " + bounds + ": "; !strings.Contains(err.Error(), file+": "+want) {
		t.Errorf("error %q, want %q", err, file+": "+want)
	}
}

// TestUntrustedSpecBounded: a spec from a pull request cannot take the
// runner down; over the bound is an error naming the file, with the
// default limits of NewLoader.
func TestUntrustedSpecBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("spends up to 10s of CPU per attack")
	}
	t.Parallel()
	tests := []struct {
		name string
		body string
	}{
		{"list doubling", listBombSpec()},
		{"string doubling", specHead + "description: _s.s40\n" + stringBomb("_s", 40)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if len(tt.body) > 8<<10 {
				t.Fatalf("attack is %d bytes, want at most 8 KB", len(tt.body))
			}
			dir := writeSpec(t, map[string]string{"model.cue": tt.body})
			start := time.Now()
			_, err := Load(context.Background(), dir)
			wantBoundError(t, err, filepath.Join(dir, "model.cue"), "512 MiB / 10s")
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("took %s, want the 10s bound to hold", d)
			}
		})
	}
}

// TestSandboxAttacks runs every evaluating entry point of the package on
// hostile input, with small limits so that the test is quick.
func TestSandboxAttacks(t *testing.T) {
	t.Parallel()
	lim := WithLimits(Limits{Memory: 128 << 20, Time: 2 * time.Second})
	l, err := NewLoader(lim)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const bounds = "128 MiB / 2s"
	t.Run("load list doubling", func(t *testing.T) {
		t.Parallel()
		dir := writeSpec(t, map[string]string{"model.cue": listBombSpec()})
		_, err := l.Load(ctx, dir)
		wantBoundError(t, err, filepath.Join(dir, "model.cue"), bounds)
		if !strings.Contains(err.Error(), "memory") && !strings.Contains(err.Error(), "time") {
			t.Errorf("error %q does not say which bound", err)
		}
	})
	t.Run("load comprehension hang", func(t *testing.T) {
		t.Parallel()
		dir := writeSpec(t, map[string]string{"model.cue": specHead + comprehensionHang})
		start := time.Now()
		_, err := l.Load(ctx, dir)
		wantBoundError(t, err, filepath.Join(dir, "model.cue"), bounds)
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("took %s, want the 2s bound to hold", d)
		}
	})
	t.Run("export", func(t *testing.T) {
		t.Parallel()
		// Export without defaults marshals every regular field; with
		// defaults the schema refuses b, so the bomb is the description.
		raw := writeSpec(t, map[string]string{"model.cue": specHead + "b: _b.a30\n" + listBomb("_b", 30)})
		_, err := l.Export(ctx, raw, false)
		wantBoundError(t, err, filepath.Join(raw, "model.cue"), bounds)
		withDefaults := writeSpec(t, map[string]string{"model.cue": specHead + "description: _s.s40\n" + stringBomb("_s", 40)})
		_, err = l.Export(ctx, withDefaults, true)
		wantBoundError(t, err, filepath.Join(withDefaults, "model.cue"), bounds)
	})
	t.Run("multi-file, the bomb in the second file", func(t *testing.T) {
		t.Parallel()
		dir := writeSpec(t, map[string]string{"a.cue": "package m\n" + specHead, "b.cue": "package m\ndescription: _s.s40\n" + stringBomb("_s", 40)})
		_, err := l.Load(ctx, dir)
		wantBoundError(t, err, filepath.Join(dir, "b.cue"), bounds)
	})
	t.Run("environments file", func(t *testing.T) {
		t.Parallel()
		src := "environments: dev: {digest: \"sha256:" + strings.Repeat("a", 64) + "\", promotedBy: _s.s40}\n" + stringBomb("_s", 40)
		_, err := l.ParseEnvironments("mlship/environments.cue", []byte(src))
		wantBoundError(t, err, "mlship/environments.cue", bounds)
		dir := writeSpec(t, map[string]string{"mlship/environments.cue": src})
		_, _, err = l.LoadEnvironments(dir)
		wantBoundError(t, err, filepath.Join(dir, "mlship/environments.cue"), bounds)
	})
}

// TestSpecFileGuards: cheap checks before anything is parsed.
func TestSpecFileGuards(t *testing.T) {
	t.Parallel()
	l := loader(t)
	ctx := context.Background()
	big := `{"name": "iris", "version": "1.0.0", "description": "` + strings.Repeat("x", 1<<20) + `"}`
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string)
		wantErr string
	}{
		{"file over 1 MiB", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "model.json"), big)
		}, "model.json: the file is 1.0 MiB, over the 1 MiB limit of a spec file"},
		{"device through a symlink", func(t *testing.T, dir string) {
			if err := os.Symlink("/dev/zero", filepath.Join(dir, "model.json")); err != nil {
				t.Fatal(err)
			}
		}, "model.json: not a regular file"},
		{"too many files", func(t *testing.T, dir string) {
			for i := 0; i < 65; i++ {
				write(t, filepath.Join(dir, fmt.Sprintf("f%02d.cue", i)), "package m\n")
			}
		}, "65 spec files, over the limit of 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			tt.setup(t, dir)
			_, err := l.Load(ctx, dir)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
	if _, err := l.ParseEnvironments("environments.json", []byte(big)); err == nil || !strings.Contains(err.Error(), "over the 1 MiB limit") {
		t.Errorf("big environments file: error %v", err)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "mlship"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "mlship", "environments.json")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.LoadEnvironments(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("environments file on /dev/zero: error %v", err)
	}
}

// TestPlainDataInProcess: plain data (no references, operators or
// comprehensions) is evaluated in-process and still bounded: CUE's parser
// and YAML decoder limit nesting and alias expansion.
func TestPlainDataInProcess(t *testing.T) {
	t.Parallel()
	// An evaluator that fails every probe proves the fast path skips it.
	l, err := NewLoader(WithEvaluator(failingEvaluator{}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := l.Load(ctx, "../../examples/iris"); err != nil {
		t.Fatalf("iris is plain data and must not need the sandbox: %v", err)
	}
	if _, err := l.Load(ctx, "testdata/valid/multi-file"); err == nil || !strings.Contains(err.Error(), "probe refused") {
		t.Errorf("a spec with references must go through the evaluator: %v", err)
	}
	var laughs strings.Builder
	laughs.WriteString("name: iris\nversion: 1.0.0\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 12; i++ {
		fmt.Fprintf(&laughs, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	hostile := map[string]string{
		"model.yaml": laughs.String(),
		"model.json": strings.Repeat("[", 1<<19) + strings.Repeat("]", 1<<19),
		"model.cue":  "x: " + strings.Repeat("[", 1<<19) + strings.Repeat("]", 1<<19),
	}
	for name, body := range hostile {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := writeSpec(t, map[string]string{name: body})
			start := time.Now()
			if _, err := l.Load(ctx, dir); err == nil {
				t.Fatal("hostile plain data accepted")
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %s in-process", d)
			}
		})
	}
}

type failingEvaluator struct{}

func (failingEvaluator) Probe(context.Context, Job, Limits) error {
	return errors.New("probe refused")
}

// TestSandboxNotServed: a program that does not serve the sandbox is a
// failure that says what to do, never an unbounded evaluation.
func TestSandboxNotServed(t *testing.T) {
	t.Parallel()
	l, err := NewLoader(WithEvaluator(Sandbox{Exe: "/bin/true"}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Load(context.Background(), "testdata/valid/multi-file")
	if err == nil || !strings.Contains(err.Error(), "ServeSandbox") {
		t.Fatalf("error %v, want it to say the program must serve the sandbox", err)
	}
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
