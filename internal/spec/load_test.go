package spec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

var update = flag.Bool("update", false, "rewrite golden files")

func loader(t testing.TB) *Loader {
	t.Helper()
	l, err := NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLoadInvalidGolden(t *testing.T) {
	t.Parallel()
	dirs, err := filepath.Glob("testdata/invalid/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no invalid specs found: %v", err)
	}
	for _, dir := range dirs {
		dir := filepath.ToSlash(dir)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			_, err := loader(t).Load(context.Background(), dir)
			if err == nil {
				t.Fatalf("Load(%s) succeeded, want errors", dir)
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Load(%s) error %T %v, want ErrorList", dir, err, err)
			}
			for _, e := range list {
				if e.File == "" || e.Line == 0 || e.Col == 0 {
					t.Errorf("error without a position: %+v", e)
				}
				if !strings.HasPrefix(e.File, dir+"/") {
					t.Errorf("error points at %s, want a file of the spec in %s", e.File, dir)
				}
			}
			got := list.Error() + "\n"
			golden := filepath.Join(dir, "errors.golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("reading golden (run go test -update): %v", err)
			}
			if got != string(want) {
				t.Errorf("errors differ from %s\n got:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

func TestLoadValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path, name, version string
		envOrder            []string
	}{
		{"../../examples/iris", "iris", "1.0.0", []string{"dev", "staging", "prod"}},
		{"../../examples/iris/model.cue", "iris", "1.0.0", []string{"dev", "staging", "prod"}},
		{"testdata/valid/yaml", "iris", "1.0.0", []string{"dev", "prod"}},
		{"testdata/valid/json", "iris", "2.1.0-rc.1", []string{"dev"}},
		{"testdata/valid/multi-file", "iris", "3.0.0", nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			m, err := loader(t).Load(context.Background(), tt.path)
			if err != nil {
				t.Fatalf("Load(%s): %v", tt.path, err)
			}
			if m.Name != tt.name || m.Version != tt.version {
				t.Errorf("got %s %s, want %s %s", m.Name, m.Version, tt.name, tt.version)
			}
			if strings.Join(m.EnvironmentOrder, ",") != strings.Join(tt.envOrder, ",") {
				t.Errorf("environment order %v, want %v", m.EnvironmentOrder, tt.envOrder)
			}
			if !strings.HasPrefix(m.Digest, "sha256:") || len(m.Digest) != 71 {
				t.Errorf("digest %q is not a sha256 digest", m.Digest)
			}
			if !filepath.IsAbs(m.Dir) {
				t.Errorf("Dir %q is not absolute", m.Dir)
			}
		})
	}
}

func TestDefaultsComeFromSchema(t *testing.T) {
	t.Parallel()
	m, err := loader(t).Load(context.Background(), "testdata/valid/yaml")
	if err != nil {
		t.Fatal(err)
	}
	tr := m.Train
	if tr.Seed != 42 || tr.Timeout != "6h" || tr.Workdir != "." || tr.Outputs.Model != "model" || tr.Outputs.Metrics != "metrics.json" {
		t.Errorf("train defaults not applied: %+v", tr)
	}
	if m.Signing.TLog || m.Registry.PlainHTTP {
		t.Errorf("boolean defaults not false: %+v %+v", m.Signing, m.Registry)
	}
}

func TestDigestStable(t *testing.T) {
	t.Parallel()
	a, err := loader(t).Load(context.Background(), "../../examples/iris")
	if err != nil {
		t.Fatal(err)
	}
	b, err := loader(t).Load(context.Background(), "../../examples/iris/model.cue")
	if err != nil {
		t.Fatal(err)
	}
	if a.Digest != b.Digest {
		t.Errorf("same spec, different digests: %s %s", a.Digest, b.Digest)
	}
	dir := t.TempDir()
	src, _ := os.ReadFile("../../examples/iris/model.cue")
	changed := bytes.Replace(src, []byte(`seed:    7`), []byte(`seed:    8`), 1)
	if bytes.Equal(src, changed) {
		t.Fatal("test fixture: seed line not found in the iris spec")
	}
	if err := os.WriteFile(filepath.Join(dir, "model.cue"), changed, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := loader(t).Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Digest == a.Digest {
		t.Error("changed seed kept the same spec digest")
	}
}

func TestEnvironments(t *testing.T) {
	t.Parallel()
	const d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		name, file, src string
		wantErr         string
	}{
		{"cue", "environments.cue", `environments: dev: digest: "` + d + `"`, ""},
		{"cue with package", "environments.cue", "package mlship\n\nenvironments: dev: {digest: \"" + d + "\", version: \"1.0.0\"}", ""},
		{"json", "environments.json", `{"environments": {"dev": {"digest": "` + d + `", "promotedBy": "octocat"}}}`, ""},
		{"yaml", "environments.yaml", "environments:\n  prod:\n    digest: " + d + "\n", ""},
		{"bad digest", "environments.json", `{"environments": {"dev": {"digest": "sha256:nope"}}}`, "environments.json:1:37"},
		{"bad env name", "environments.cue", `environments: Prod: digest: "` + d + `"`, "environment name \"Prod\" must be a DNS-1123 label"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := loader(t).ParseEnvironments(tt.file, []byte(tt.src))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(e.Environments) != 1 {
				t.Fatalf("got %v", e.Environments)
			}
			for _, s := range e.Environments {
				if s.Digest != d {
					t.Errorf("digest %q", s.Digest)
				}
			}
		})
	}
}

// TestJSONSchema checks the exported JSON Schema with an independent
// validator: it accepts the examples and rejects the invalid specs that a
// JSON Schema can express (the semantic checks are mlship's alone).
func TestJSONSchema(t *testing.T) {
	t.Parallel()
	l := loader(t)
	raw, err := l.JSONSchema("Model")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("exported schema is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("mlship.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("mlship.schema.json")
	if err != nil {
		t.Fatalf("exported schema does not compile as JSON Schema: %v", err)
	}
	check := func(path string, withDefaults, wantValid bool) {
		t.Helper()
		data, err := l.Export(context.Background(), path, withDefaults)
		if err != nil {
			t.Fatalf("export %s: %v", path, err)
		}
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatal(err)
		}
		err = sch.Validate(v)
		if wantValid && err != nil {
			t.Errorf("%s (defaults %v): schema rejects a valid spec: %v", path, withDefaults, err)
		}
		if !wantValid && err == nil {
			t.Errorf("%s: schema accepts an invalid spec", path)
		}
	}
	for _, p := range []string{"../../examples/iris", "testdata/valid/yaml", "testdata/valid/json", "testdata/valid/multi-file"} {
		check(p, false, true)
		check(p, true, true)
	}
	for _, name := range []string{"bad-name", "bad-version", "unknown-field", "bad-enum", "missing-registry", "bad-digest", "yaml-bad-version", "json-bad-type", "abs-path"} {
		check("testdata/invalid/"+name, false, false)
	}
}

func FuzzLoad(f *testing.F) {
	for _, p := range []string{"../../examples/iris/model.cue", "testdata/valid/yaml/model.yaml", "testdata/valid/json/model.json", "testdata/invalid/bad-enum/model.cue", "testdata/invalid/env-cycle/model.cue"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(0))
	}
	f.Add([]byte(`{"name": "a"`), uint8(1))
	f.Add([]byte("name: [\n"), uint8(2))
	// Not plain data: evaluated in the sandbox first.
	f.Add([]byte("name: _n\n_n: \"ir\" + \"is\"\nversion: \"1.0.0\"\nregistry: repository: \"ghcr.io/a/b\"\n"), uint8(0))
	f.Add([]byte("_r: [1, 2]\nowners: [for x in _r {\"\\(x)\"}]\n"), uint8(0))
	l, err := NewLoader()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, kind uint8) {
		name := []string{"model.cue", "model.json", "model.yaml"}[int(kind)%3]
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := l.Load(context.Background(), dir)
		if err == nil && (m.Name == "" || m.Version == "") {
			t.Fatalf("valid spec without name or version: %+v", m)
		}
		var list ErrorList
		if errors.As(err, &list) && len(list) == 0 {
			t.Fatal("empty error list")
		}
	})
}
