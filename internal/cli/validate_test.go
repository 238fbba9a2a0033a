package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
