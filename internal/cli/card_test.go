package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlship/mlship/internal/card"
	"github.com/mlship/mlship/internal/pipeline"
	"github.com/mlship/mlship/internal/testenv"
)

const cardSpec = `name:    "toy"
version: "0.1.0"
license: "MIT"
registry: repository: "oci:layout"
package: files: [{path: "model/w.txt", role: "weight"}%s]
environments: dev: {}
signing: {}
`

// TestCardCommand: package writes MODEL_CARD.md for a spec and mlship
// card prints it; a MODEL_CARD.md its authors wrote is never overwritten
// (packaged when listed, left out otherwise); a plain directory gets none
// and card says so.
func TestCardCommand(t *testing.T) {
	t.Parallel()
	host := testenv.InProcessRegistry(t)
	env := map[string]string{"MLSHIP_CACHE_DIR": t.TempDir()}
	tests := []struct {
		name      string
		extra     string // package.files entries
		userCard  string // MODEL_CARD.md written before push ("" none)
		plain     bool   // push a plain directory
		wantCode  int
		wantInOut string
		wantErr   string
	}{
		{name: "generated", wantInOut: "# toy 0.1.0"},
		{name: "authors' card listed", extra: `, {path: "MODEL_CARD.md", role: "doc"}`, userCard: "# Our card\n", wantInOut: "# Our card"},
		{name: "authors' card not listed", userCard: "# Our card\n", wantCode: 1, wantErr: "no MODEL_CARD.md layer"},
		{name: "plain directory", plain: true, wantCode: 1, wantErr: "no MODEL_CARD.md layer"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			files := map[string]string{"model/w.txt": "weights\n"}
			if !tt.plain {
				files["model.cue"] = strings.Replace(cardSpec, "%s", tt.extra, 1)
			}
			if tt.userCard != "" {
				files["MODEL_CARD.md"] = tt.userCard
			}
			writeFiles(t, dir, files)
			src := dir
			if tt.plain {
				src = filepath.Join(dir, "model")
			}
			ref := host + "/acme/card" + string(rune('a'+i)) + ":0.1.0"
			if code, _, stderr := mlship(t, env, "push", src, ref); code != 0 {
				t.Fatalf("push: %s", stderr)
			}
			if tt.userCard != "" {
				if b, _ := os.ReadFile(filepath.Join(dir, "MODEL_CARD.md")); string(b) != tt.userCard {
					t.Errorf("the authors' MODEL_CARD.md was rewritten:\n%s", b)
				}
			}
			code, stdout, stderr := mlship(t, env, "card", ref)
			if code != tt.wantCode || !strings.Contains(stdout, tt.wantInOut) || !strings.Contains(stderr, tt.wantErr) {
				t.Fatalf("card: exit %d (want %d)\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout, stderr)
			}
			if tt.name != "generated" {
				return
			}
			if !strings.HasPrefix(stdout, "---\n") {
				t.Errorf("card text is not the file:\n%s", stdout)
			}
			code, stdout, _ = mlship(t, env, "card", ref, "-o", "json")
			var res pipeline.CardResult
			if err := json.Unmarshal([]byte(stdout), &res); code != 0 || err != nil {
				t.Fatalf("card JSON: exit %d %v\n%s", code, err, stdout)
			}
			if res.Metadata.License != "mit" || res.Metadata.MLShip == nil || res.Metadata.MLShip.Name != "toy" || res.Layer == "" || !strings.HasPrefix(res.Markdown, "---\n") {
				t.Errorf("card JSON %+v", res)
			}
			if b, err := os.ReadFile(filepath.Join(dir, card.FileName)); err != nil || string(b) != res.Markdown {
				t.Errorf("the card pushed is not the one written beside the spec: %v", err)
			}
			// Re-pushing the unchanged model gives the same digest (the
			// card reads no clock).
			_, out1, _ := mlship(t, env, "push", src, ref)
			_, out2, _ := mlship(t, env, "push", src, ref)
			if out1 != out2 || out1 == "" {
				t.Errorf("re-push digests %q vs %q", out1, out2)
			}
		})
	}
}
