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
and it names that digest, else the commit that changed that environment's
line, on the first-parent history). For an environment out of sync it says what apply would really do:
refuse it (naming the rule), leave it to a newer commit (superseded), or
move the tag if its apply is re-run. A registry that cannot be read shows
SYNC "error" and exits 1; otherwise it exits 0 even when an environment is
out of sync; --output json has "inSync" and per environment "sync" and
"reconcile" for scripts.`,
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
	var notes []string
	unreadable := false
	for _, e := range envs {
		switch {
		case e.Sync == promote.SyncError:
			res.InSync, unreadable = false, true
			notes = append(notes, e.Environment+": registry error: "+e.RegistryError)
		case !e.InSync:
			res.InSync = false
			why := e.Reconcile
			if why == "" {
				why = "the tag differs from the desired state"
			}
			notes = append(notes, e.Environment+": out of sync: "+why)
		}
	}
	_ = f.Actions.SetOutput("in-sync", fmt.Sprint(res.InSync))
	var md strings.Builder
	fmt.Fprintf(&md, "### %s environments\n\n| environment | desired | tag | in sync | version | signature | promoted |\n| --- | --- | --- | --- | --- | --- | --- |\n", m.Name)
	for _, e := range envs {
		fmt.Fprintf(&md, "| %s | `%s` | `%s` | %s | %s | %s | %s |\n", e.Environment, dashIf(short19(e.Desired)), dashIf(short19(e.Current)), dashIf(e.Sync), dashIf(e.Version), e.Signature, dashIf(e.PromotedAt))
	}
	for _, n := range notes {
		fmt.Fprintf(&md, "\n- %s", n)
	}
	if f.Actions.Active() {
		_ = f.Actions.AddStepSummary(md.String() + "\n")
	}
	if err := printStatus(f, p, m.Name, res, notes); err != nil {
		return err
	}
	if unreadable {
		// Fail closed: a status that could not read the registry is not
		// a status.
		return &ExitError{Code: 1, Err: fmt.Errorf("the registry %s could not be read: the state of the environments is unknown", p.Repository())}
	}
	return nil
}

func printStatus(f *Factory, p *promote.Promoter, model string, res StatusResult, notes []string) error {
	if f.IO.JSON() {
		return f.IO.PrintJSON(res)
	}
	f.IO.Printf("%s (%s)\n", model, p.Repository())
	tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ENVIRONMENT\tDESIRED (git)\tTAG (registry)\tSYNC\tVERSION\tSIGNATURE\tPROMOTED")
	for _, e := range res.Environments {
		sig := e.Signature
		if e.Signer != "" {
			sig += " (" + e.Signer + ")"
		}
		promoted := dashIf(e.PromotedAt)
		if e.PromotedBy != "" {
			promoted += " by " + e.PromotedBy
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Environment, dashIf(short19(e.Desired)), dashIf(short19(e.Current)), dashIf(e.Sync), dashIf(e.Version), sig, promoted)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range notes {
		f.IO.Printf("%s\n", n)
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
