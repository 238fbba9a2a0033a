package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	summary := filepath.Join(t.TempDir(), "summary.md")
	output := filepath.Join(t.TempDir(), "output")
	actions := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary, "GITHUB_OUTPUT": output}
	invalid := "../spec/testdata/invalid/bad-version"
	annotation := regexp.MustCompile(`(?m)^::error file=([^,]+),line=(\d+),col=(\d+),title=mlship validate::(.+)$`)

	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantCode int
		check    func(t *testing.T, stdout, stderr string)
	}{
		{"valid example", nil, []string{"validate", "../../examples/iris"}, 0, func(t *testing.T, stdout, stderr string) {
			if !strings.Contains(stdout, "ok   ../../examples/iris (iris 1.0.0)") {
				t.Errorf("stdout %q", stdout)
			}
		}},
		{"invalid outside actions", nil, []string{"validate", invalid}, 1, func(t *testing.T, stdout, stderr string) {
			if !strings.Contains(stderr, invalid+"/model.cue:2:10: version: invalid value \"v1.0\"") {
				t.Errorf("stderr lacks a compiler-style line: %q", stderr)
			}
			if strings.Contains(stdout+stderr, "::error") {
				t.Errorf("annotations printed outside Actions")
			}
		}},
		{"invalid inside actions", actions, []string{"validate", invalid, "../../examples/iris"}, 1, func(t *testing.T, stdout, stderr string) {
			m := annotation.FindAllStringSubmatch(stdout, -1)
			if len(m) != 1 {
				t.Fatalf("want 1 annotation, got %d in %q", len(m), stdout)
			}
			if m[0][1] != invalid+"/model.cue" || m[0][2] != "2" || m[0][3] != "10" {
				t.Errorf("annotation at %s:%s:%s, want the version line", m[0][1], m[0][2], m[0][3])
			}
			src, _ := os.ReadFile(invalid + "/model.cue")
			if line := strings.Split(string(src), "\n")[1]; !strings.HasPrefix(line, "version:") {
				t.Errorf("line 2 of the spec is %q, not the offending version line", line)
			}
			sum, _ := os.ReadFile(summary)
			if !strings.Contains(string(sum), "| `"+invalid+"` | — | ❌ 1 problem |") || !strings.Contains(string(sum), "`iris` 1.0.0 | ✅ valid") {
				t.Errorf("step summary: %s", sum)
			}
			out, _ := os.ReadFile(output)
			if !strings.Contains(string(out), "valid<<") || !strings.Contains(string(out), "false") {
				t.Errorf("GITHUB_OUTPUT: %s", out)
			}
		}},
		{"json", nil, []string{"validate", "--output", "json", invalid}, 1, func(t *testing.T, stdout, stderr string) {
			var got struct {
				Valid bool `json:"valid"`
				Specs []struct {
					Valid  bool `json:"valid"`
					Errors []struct {
						File    string `json:"file"`
						Line    int    `json:"line"`
						Col     int    `json:"col"`
						Message string `json:"message"`
					} `json:"errors"`
				} `json:"specs"`
			}
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
			}
			if got.Valid || len(got.Specs) != 1 || len(got.Specs[0].Errors) != 1 || got.Specs[0].Errors[0].Line != 2 {
				t.Errorf("unexpected result %+v", got)
			}
		}},
		{"missing path", nil, []string{"validate", "does/not/exist"}, 1, func(t *testing.T, stdout, stderr string) {
			if !strings.Contains(stderr, "does/not/exist") {
				t.Errorf("error does not name the path: %q", stderr)
			}
		}},
		{"bad output flag", nil, []string{"validate", "-o", "yaml", "../../examples/iris"}, 1, func(t *testing.T, stdout, stderr string) {
			if !strings.Contains(stderr, "unknown output format") {
				t.Errorf("stderr %q", stderr)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := mlship(t, tt.env, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, stdout, stderr)
			}
			tt.check(t, stdout, stderr)
		})
	}
}

func TestSchemaExport(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := mlship(t, nil, "schema", "export")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v", doc["$schema"])
	}
}

// BenchmarkValidateProcess measures validating one spec end to end,
// process start included, as a workflow step experiences it.
func BenchmarkValidateProcess(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "mlship")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/mlship").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if out, err := exec.Command(bin, "validate", "../../examples/iris").CombinedOutput(); err != nil {
			b.Fatalf("validate: %v\n%s", err, out)
		}
	}
}

// TestValidateChecksEnvironmentsFile: validate checks
// mlship/environments.* too, on every output channel, at file:line:col.
func TestValidateChecksEnvironmentsFile(t *testing.T) {
	t.Parallel()
	bad := "../spec/testdata/environments/json-case-variant"
	envFile := bad + "/mlship/environments.json"
	actions := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": filepath.Join(t.TempDir(), "s.md"), "GITHUB_OUTPUT": filepath.Join(t.TempDir(), "o")}

	code, _, stderr := mlship(t, nil, "validate", bad)
	if code != 1 || !strings.Contains(stderr, envFile+`:3:14: environments.dev.Digest: unknown key "Digest" (did you mean "digest"?`) {
		t.Errorf("exit %d, stderr %q: want the case-variant key at its position", code, stderr)
	}
	code, stdout, _ := mlship(t, actions, "validate", bad)
	if code != 1 || !strings.Contains(stdout, "::error file="+envFile+",line=3,col=14,title=mlship validate::environments.dev.Digest: unknown key") {
		t.Errorf("exit %d, stdout %q: want an annotation on the environments file", code, stdout)
	}
	code, stdout, _ = mlship(t, nil, "validate", "-o", "json", "../spec/testdata/environments/cue-unknown-env")
	var got struct {
		Specs []struct {
			Errors []struct {
				File      string `json:"file"`
				Line, Col int
				Message   string `json:"message"`
			} `json:"errors"`
		} `json:"specs"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil || code != 1 || len(got.Specs) != 1 || len(got.Specs[0].Errors) != 1 {
		t.Fatalf("exit %d, %v: %s", code, err, stdout)
	}
	if e := got.Specs[0].Errors[0]; e.File != "../spec/testdata/environments/cue-unknown-env/mlship/environments.cue" || e.Line != 3 || e.Col != 2 || !strings.Contains(e.Message, `"staging" is not defined by the spec`) {
		t.Errorf("error %+v", e)
	}
	if code, _, stderr := mlship(t, nil, "validate", "../spec/testdata/environments/valid-cue"); code != 0 {
		t.Errorf("valid environments file refused: %s", stderr)
	}
}

// TestValidateRefusesEscapingSymlink: a packaged path that is a symlink
// leaving the repository is refused at the field.
func TestValidateRefusesEscapingSymlink(t *testing.T) {
	t.Parallel()
	dir := "../spec/testdata/invalid/symlink-escape"
	code, _, stderr := mlship(t, nil, "validate", dir)
	if code != 1 || !strings.Contains(stderr, dir+`/model.cue:6:3: package.files.1.path: path "docs" is a symlink resolving to /etc, outside the repository`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// TestValidateBoundsUntrustedSpec: an 8 KB spec asking CUE for gigabytes is
// an error naming the file, not an OOM kill of the runner.
func TestValidateBoundsUntrustedSpec(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("name: \"iris\"\nversion: \"1.0.0\"\nregistry: repository: \"ghcr.io/acme/m\"\ndescription: _s.s40\n")
	b.WriteString("_s: s0: \"" + strings.Repeat("x", 64) + "\"\n")
	for i := 1; i <= 40; i++ {
		b.WriteString("_s: s" + strconv.Itoa(i) + ": _s.s" + strconv.Itoa(i-1) + " + _s.s" + strconv.Itoa(i-1) + "\n")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "model.cue"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cwd, _ := os.Getwd()
	rel, _ := filepath.Rel(cwd, filepath.Join(dir, "model.cue"))
	code, _, stderr := mlship(t, nil, "validate", dir)
	if code != 1 || !strings.Contains(stderr, rel+": CUE evaluation exceeded 512 MiB / 10s: memory") {
		t.Errorf("exit %d, stderr %q: want the bound named at the file", code, stderr)
	}
}
