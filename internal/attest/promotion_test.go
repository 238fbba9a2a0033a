package attest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParsePromotion(t *testing.T) {
	t.Parallel()
	good := Promotion{
		Environment: "prod", Model: "iris", Repository: "ghcr.io/acme/iris", Tag: "ghcr.io/acme/iris:prod",
		Git:            PromotionGit{Repository: "https://github.com/acme/iris", MergeCommit: strings.Repeat("a", 40), Ref: "refs/heads/main"},
		PullRequest:    &PromotionPR{Number: 7, URL: "https://github.com/acme/iris/pull/7"},
		Approvers:      []string{"alice"},
		Rules:          []PromotionRule{{Name: "signature", Outcome: "pass"}, {Name: "approvals", Outcome: "pass", Detail: "1 of 1"}},
		PreviousDigest: "sha256:" + strings.Repeat("b", 64),
		PromotedAt:     time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC),
	}
	raw, err := good.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m map[string]any)) string {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	tests := []struct {
		name, in, want string
	}{
		{"ok", string(raw), ""},
		{"not json", `{`, "promotion record"},
		{"not an object", `[1]`, "promotion record"},
		{"no environment", edit(func(m map[string]any) { delete(m, "environment") }), "no environment"},
		{"no merge commit", edit(func(m map[string]any) { m["git"] = map[string]any{"repository": "x"} }), "no merge commit"},
		{"merge commit is a ref", edit(func(m map[string]any) { m["git"] = map[string]any{"mergeCommit": "HEAD~1"} }), "not a full commit SHA"},
		{"merge commit is an option", edit(func(m map[string]any) { m["git"] = map[string]any{"mergeCommit": "--output=/tmp/x"} }), "not a full commit SHA"},
		{"short merge commit", edit(func(m map[string]any) { m["git"] = map[string]any{"mergeCommit": "1a2b3c4"} }), "not a full commit SHA"},
		{"bad previous digest", edit(func(m map[string]any) { m["previousDigest"] = "sha256:xyz" }), "previous digest"},
		{"no time", edit(func(m map[string]any) { delete(m, "promotedAt") }), "no promotedAt"},
		{"too large", `{"environment":"` + strings.Repeat("x", maxPromotion) + `"}`, "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := ParsePromotion([]byte(tt.in))
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if p.Environment != "prod" || p.PullRequest.Number != 7 || p.RuleOutcome("approvals") != "pass" || p.RuleOutcome("order") != "" || !p.PromotedAt.Equal(good.PromotedAt) {
					t.Errorf("parsed %+v", p)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestPromotionMarshalRefusesIncomplete(t *testing.T) {
	t.Parallel()
	for _, p := range []Promotion{{}, {Environment: "dev"}, {Git: PromotionGit{MergeCommit: "abc"}}} {
		if _, err := p.Marshal(); err == nil {
			t.Errorf("Marshal(%+v) = nil error, want a refusal", p)
		}
	}
}

func FuzzParsePromotion(f *testing.F) {
	f.Add([]byte(`{"environment":"dev","git":{"mergeCommit":"` + strings.Repeat("a", 40) + `"},"promotedAt":"2026-12-01T00:00:00Z","rules":[]}`))
	f.Add([]byte(`{"environment":"","previousDigest":"sha256:"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePromotion(b)
		if err == nil && (p.Environment == "" || !isCommitSHA(p.Git.MergeCommit) || p.PromotedAt.IsZero()) {
			t.Fatalf("accepted a record without environment, merge commit or time: %s", b)
		}
	})
}
