package report

import (
	"strings"
	"testing"

	"github.com/mlship/mlship/internal/eval"
)

// TestRenderLinksTheCard: the report links the candidate's model card by
// the command that prints it and, for an http(s) URL only, by a link; a
// hostile ref or URL cannot break out of the code span or the link.
func TestRenderLinksTheCard(t *testing.T) {
	t.Parallel()
	ev := evalResult(t, eval.Metrics{"accuracy": 0.95}, 95)
	tests := []struct {
		name string
		card *CardLink
		want []string
		not  []string
	}{
		{name: "none", card: nil, not: []string{"Model card"}},
		{name: "ref and run URL", card: &CardLink{Ref: "ghcr.io/acme/iris@sha256:abc", URL: "https://github.com/acme/iris/actions/runs/7"},
			want: []string{"📇 Model card of the candidate: `mlship card ghcr.io/acme/iris@sha256:abc` · [MODEL_CARD.md](https://github.com/acme/iris/actions/runs/7)"}},
		{name: "javascript URL is not linked", card: &CardLink{Ref: "r.io/x@sha256:1", URL: "javascript:alert(1)"},
			want: []string{"`mlship card r.io/x@sha256:1`"}, not: []string{"javascript", "[MODEL_CARD.md]"}},
		// The ref stays inside one code span (its backtick cannot close
		// it: there, <img> and [a](b) are literal text); the URL cannot
		// close the link.
		{name: "hostile ref", card: &CardLink{Ref: "x` <img src=x> [a](b)", URL: "https://e.x/a) [b](c"},
			want: []string{"`mlship card x' <img src=x> [a](b)` · [MODEL_CARD.md](https://e.x/a%29%20%5Bb%5D%28c)"}, not: []string{"x`", ") [b](c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := Render(Input{Eval: ev, Card: tt.card}, CommentLimits)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("report lacks %q:\n%s", w, out)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(out, n) {
					t.Errorf("report carries %q:\n%s", n, out)
				}
			}
		})
	}
}
