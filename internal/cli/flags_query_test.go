package cli

import (
	"io"
	"testing"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/iostreams"
	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/pipeline"
)

// TestQueryCommandFlags: argv → options of ls --metrics, diff, history
// and card.
func TestQueryCommandFlags(t *testing.T) {
	t.Parallel()
	ios, _, _ := iostreams.Test(nil)
	f := NewFactory(ios, "test")
	ls := func(c func(any)) *cobra.Command {
		return NewCmdLs(f, func(o *LsOptions) error { o.F = nil; c(*o); return nil })
	}
	diff := func(c func(any)) *cobra.Command {
		return NewCmdDiff(f, func(o *DiffOptions) error { o.F = nil; c(*o); return nil })
	}
	history := func(c func(any)) *cobra.Command {
		return NewCmdHistory(f, func(o *HistoryOptions) error { o.F = nil; c(*o); return nil })
	}
	card := func(c func(any)) *cobra.Command {
		return NewCmdCard(f, func(o *CardOptions) error { o.F = nil; c(*o); return nil })
	}
	runFlagCases(t, io.Discard, []flagCase{
		{"ls --metrics", ls, []string{"r.io/acme/iris", "--metrics", "--sort", "accuracy", "--limit", "5", "--key", "a.pub", "--key", "b.pub", "--spec", "ml"},
			LsOptions{Repo: "r.io/acme/iris", Registry: defaultRegistry, Metrics: true, Sort: "accuracy", Limit: 5, Policy: pipeline.PolicyRequest{Keys: []string{"a.pub", "b.pub"}, SpecDir: "ml"}}, ""},
		{"ls --metrics keyless", ls, []string{"r.io/acme/iris", "--metrics", "--certificate-identity-regexp", "^https://github.com/acme/", "--certificate-oidc-issuer", "https://token.actions.githubusercontent.com"},
			LsOptions{Repo: "r.io/acme/iris", Registry: defaultRegistry, Metrics: true, Policy: pipeline.PolicyRequest{IdentityRegexp: "^https://github.com/acme/", Issuer: "https://token.actions.githubusercontent.com"}}, ""},
		{"ls --limit needs a number", ls, []string{"r.io/x", "--metrics", "--limit", "many"}, nil, "invalid argument"},
		{"diff", diff, []string{"r.io/x:1", "r.io/x:2", "--spec", "ml", "--examples-a", "a.jsonl", "--examples-b", "b.jsonl", "--repository", "r.io/y", "--key", "k.pub"},
			DiffOptions{Registry: RegistryFlags{Repository: "r.io/y", Jobs: 4, Timeout: oci.DefaultIdleTimeout, Retries: oci.DefaultRetries}, DiffRequest: pipeline.DiffRequest{A: "r.io/x:1", B: "r.io/x:2", SpecDir: "ml", ExamplesA: "a.jsonl", ExamplesB: "b.jsonl", Policy: pipeline.PolicyRequest{Keys: []string{"k.pub"}}}}, ""},
		{"diff needs two refs", diff, []string{"r.io/x:1"}, nil, "accepts 2 arg(s)"},
		{"history", history, []string{"ml", "--environment", "prod", "--main-branch", "trunk", "--key", "c.pub"},
			HistoryOptions{Registry: defaultRegistry, HistoryRequest: pipeline.HistoryRequest{SpecDir: "ml", Environment: "prod", MainBranch: "trunk", Policy: pipeline.PolicyRequest{Keys: []string{"c.pub"}}}}, ""},
		{"history promotion signer", history, []string{"--environment", "prod", "--key", "c.pub", "--promotion-key", "p.pub", "--promotion-identity", "https://github.com/acme/iris/.github/workflows/main.yml@refs/heads/main"},
			HistoryOptions{Registry: defaultRegistry, HistoryRequest: pipeline.HistoryRequest{SpecDir: ".", Environment: "prod", MainBranch: "main", Policy: pipeline.PolicyRequest{Keys: []string{"c.pub"},
				PromotionKeys: []string{"p.pub"}, PromotionIdentity: "https://github.com/acme/iris/.github/workflows/main.yml@refs/heads/main"}}}, ""},
		{"history defaults", history, []string{"--environment", "staging"},
			HistoryOptions{Registry: defaultRegistry, HistoryRequest: pipeline.HistoryRequest{SpecDir: ".", Environment: "staging", MainBranch: "main"}}, ""},
		{"card", card, []string{"r.io/x:prod"}, CardOptions{Registry: defaultRegistry, CardRequest: pipeline.CardRequest{Ref: "r.io/x:prod"}}, ""},
		{"card needs a ref", card, nil, nil, "accepts 1 arg(s)"},
	})
}
