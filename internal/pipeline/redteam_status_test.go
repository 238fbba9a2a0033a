package pipeline_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/mlship/mlship/internal/pipeline"
	"github.com/mlship/mlship/internal/promote"
)

// TestRedteamStatusMarkdownEscapes: the version comes from the registry's
// annotations when the environments file has none, and notes carry
// registry errors: in the job summary they are text, never HTML, links or
// extra table cells.
func TestRedteamStatusMarkdownEscapes(t *testing.T) {
	t.Parallel()
	evil := `1.0 | forged cell <img src="https://evil.example/p.png"> [approve](https://evil.example)`
	md := pipeline.StatusMarkdown(&pipeline.StatusResult{Model: "iris",
		Environments: []promote.EnvStatus{{Environment: "prod", Version: evil, Signature: "verified", Record: "verified"}},
		Notes:        []string{"prod: reading the tag: " + evil}})
	if regexp.MustCompile(`(^|[^\\])(<img|\]\(https://evil)`).MatchString(md) {
		t.Errorf("status summary renders registry text as Markdown/HTML:\n%s", md)
	}
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "| prod") && strings.Count(strings.ReplaceAll(l, `\|`, ""), "|") != 9 {
			t.Errorf("the version added table cells: %s", l)
		}
	}
}
