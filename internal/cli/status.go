package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mlship/mlship/internal/promote"
)

// StatusOptions are the inputs of `mlship status`.
type StatusOptions struct {
	F     *Factory
	Flags PromoteFlags
	Rev   string
}

// StatusResult is what `mlship status --output json` prints.
type StatusResult struct {
	Model        string              `json:"model"`
	Repository   string              `json:"repository"`
	Environments []promote.EnvStatus `json:"environments"`
	InSync       bool                `json:"inSync"`
}

// NewCmdStatus builds `mlship status`.
func NewCmdStatus(f *Factory, runF func(context.Context, *StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{F: f}
	cmd := &cobra.Command{
		Use:   "status [SPEC_DIR]",
		Short: "Show each environment's desired and deployed digest, version, signature and promotion time",
		Long: `Status compares, for every environment of the spec, the digest the
environments file asks for (git, at --rev, default HEAD) with the digest its
registry tag (REPO:ENV) points at, and shows the version, whether the
digest's signature satisfies the spec's policy, and when it was promoted
(the newest GitHub deployment of the environment when GITHUB_TOKEN is set
and it names that digest, else the commit that put the digest in the file).
It exits 0 even when an environment is out of sync; --output json has
"inSync" for scripts.`,
		Example: `  mlship status examples/iris
  mlship status examples/iris --output json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				opts.Flags.SpecDir = args[0]
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runStatus(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Rev, "rev", "", "the commit whose desired state to show (default HEAD)")
	opts.Flags.register(cmd.Flags())
	return cmd
}

func runStatus(ctx context.Context, opts *StatusOptions) error {
	f := opts.F
	p, m, _, err := opts.Flags.promoter(ctx, f)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	envs, err := p.Status(ctx, opts.Rev)
	if err != nil {
		return err
	}
	res := StatusResult{Model: m.Name, Repository: p.Repository(), Environments: envs, InSync: true}
	var outOfSync []string
	for _, e := range envs {
		if !e.InSync {
			res.InSync = false
			outOfSync = append(outOfSync, e.Environment)
		}
	}
	_ = f.Actions.SetOutput("in-sync", fmt.Sprint(res.InSync))
	var md strings.Builder
	fmt.Fprintf(&md, "### %s environments\n\n| environment | desired | tag | in sync | version | signature | promoted |\n| --- | --- | --- | --- | --- | --- | --- |\n", m.Name)
	for _, e := range envs {
		fmt.Fprintf(&md, "| %s | `%s` | `%s` | %s | %s | %s | %s |\n", e.Environment, dashIf(short19(e.Desired)), dashIf(short19(e.Current)), yesNo(e.InSync), dashIf(e.Version), e.Signature, dashIf(e.PromotedAt))
	}
	if f.Actions.Active() {
		_ = f.Actions.AddStepSummary(md.String())
	}
	if f.IO.JSON() {
		return f.IO.PrintJSON(res)
	}
	f.IO.Printf("%s (%s)\n", m.Name, p.Repository())
	tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ENVIRONMENT\tDESIRED (git)\tTAG (registry)\tSYNC\tVERSION\tSIGNATURE\tPROMOTED")
	for _, e := range envs {
		sig := e.Signature
		if e.Signer != "" {
			sig += " (" + e.Signer + ")"
		}
		promoted := dashIf(e.PromotedAt)
		if e.PromotedBy != "" {
			promoted += " by " + e.PromotedBy
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Environment, dashIf(short19(e.Desired)), dashIf(short19(e.Current)), yesNo(e.InSync), dashIf(e.Version), sig, promoted)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(outOfSync) > 0 {
		f.IO.Printf("out of sync: %s (the next `mlship promote apply` on main reconciles them)\n", strings.Join(outOfSync, ", "))
	}
	return nil
}

// short19 abbreviates sha256:<64 hex> to sha256:<12 hex>.
func short19(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}

func dashIf(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
