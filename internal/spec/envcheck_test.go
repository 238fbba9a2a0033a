package spec

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateEnvironmentsGolden: validate checks mlship/environments.*
// beyond what the open #Environments lets promote round-trip: names the
// spec does not define, unknown and case-variant keys, bad digests and
// syntax, each at file:line:col.
func TestValidateEnvironmentsGolden(t *testing.T) {
	t.Parallel()
	dirs, err := filepath.Glob("testdata/environments/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no environments cases found: %v", err)
	}
	for _, dir := range dirs {
		dir := filepath.ToSlash(dir)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			l := loader(t)
			m, err := l.Load(context.Background(), dir)
			if err != nil {
				t.Fatalf("the spec of the case does not load: %v", err)
			}
			file, err := l.ValidateEnvironments(dir, m)
			if !strings.HasPrefix(file, dir+"/mlship/environments.") {
				t.Errorf("checked %q, want the environments file of %s", file, dir)
			}
			if strings.HasPrefix(filepath.Base(dir), "valid") {
				if err != nil {
					t.Fatalf("valid environments refused: %v", err)
				}
				return
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error %T %v, want an ErrorList", err, err)
			}
			for _, e := range list {
				if e.File != file || e.Line == 0 || e.Col == 0 {
					t.Errorf("error without a position in %s: %+v", file, e)
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

// TestValidateEnvironmentsWithoutSpec: a spec that did not load still gets
// its environments file checked for syntax and schema; no file is no error.
func TestValidateEnvironmentsWithoutSpec(t *testing.T) {
	t.Parallel()
	l := loader(t)
	file, err := l.ValidateEnvironments("testdata/environments/yaml-bad-digest", nil)
	if err == nil || !strings.Contains(err.Error(), file+":3:13: environments.dev.digest") {
		t.Errorf("error %v, want the bad digest at its position in %s", err, file)
	}
	if file, err := l.ValidateEnvironments("testdata/invalid/bad-name", nil); file != "" || err != nil {
		t.Errorf("no environments file: got %q, %v", file, err)
	}
}
