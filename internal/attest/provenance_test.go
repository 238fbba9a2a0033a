package attest

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlship/mlship/internal/gha"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update to accept):\n%s", name, got)
	}
}

// TestProvenancePredicate builds provenance from run-context values (a
// gha.Env), never from the process environment.
func TestProvenancePredicate(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		gha.VarServerURL: "https://github.com", gha.VarRepository: "acme/iris", gha.VarSHA: strings.Repeat("a", 40),
		gha.VarRef: "refs/heads/main", gha.VarWorkflowRef: "acme/iris/.github/workflows/train.yml@refs/heads/main",
		gha.VarRunID: "123", gha.VarRunAttempt: "2",
	}
	in := ProvenanceFromRun(gha.Parse(func(k string) string { return env[k] }))
	in.Inputs = []Dataset{{Name: "iris-train", URI: "data/train.csv", Digest: "sha256:" + strings.Repeat("b", 64)}}
	in.Parameters = map[string]any{"specDigest": "sha256:" + strings.Repeat("c", 64)}
	in.StartedOn = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b, err := Provenance(in)
	if err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, b, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	golden(t, "provenance.golden.json", pretty.Bytes())

	var p struct {
		RunDetails struct {
			Builder  struct{ ID string }           `json:"builder"`
			Metadata struct{ InvocationID string } `json:"metadata"`
		} `json:"runDetails"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.RunDetails.Builder.ID != "https://github.com/acme/iris/.github/workflows/train.yml@refs/heads/main" {
		t.Errorf("builder id = %q", p.RunDetails.Builder.ID)
	}
	if p.RunDetails.Metadata.InvocationID != "https://github.com/acme/iris/actions/runs/123/attempts/2" {
		t.Errorf("invocation id = %q", p.RunDetails.Metadata.InvocationID)
	}

	for _, tt := range []struct {
		name string
		in   ProvenanceInput
		want string
	}{
		{"no builder", ProvenanceInput{SourceRepo: "x", SourceCommit: "y"}, "builder id"},
		{"no source", ProvenanceInput{BuilderID: "b"}, "source repository and commit"},
		{"bad input digest", ProvenanceInput{BuilderID: "b", SourceRepo: "x", SourceCommit: "y", Inputs: []Dataset{{Name: "d", Digest: "nohex"}}}, "want algorithm:hex"},
	} {
		if _, err := Provenance(tt.in); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
}
