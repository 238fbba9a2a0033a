package pipeline

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/promote"
	"github.com/mlship/mlship/internal/report"
)

// StatusRequest is `mlship status`.
type StatusRequest struct {
	Promoter PromoterRequest
	// Rev is the commit whose desired state to show (default HEAD).
	Rev string
}

// StatusResult is what `mlship status --output json` prints.
type StatusResult struct {
	Model        string              `json:"model"`
	Repository   string              `json:"repository"`
	Environments []promote.EnvStatus `json:"environments"`
	InSync       bool                `json:"inSync"`
	// Notes say, per environment out of sync, why and what apply would do.
	Notes []string `json:"-"`
	// Unreadable is set when the registry could not be read.
	Unreadable bool `json:"-"`
}

// Status compares each environment's desired digest (git, at Rev) with its
// registry tag and records the table in the job summary and the in-sync
// output. A registry that could not be read is an error after the result
// is recorded (fail closed: the state is unknown), returned with it.
func Status(ctx context.Context, r *Run, req StatusRequest) (*StatusResult, error) {
	pm, err := newPromotion(ctx, r, req.Promoter, nil)
	if err != nil {
		return nil, err
	}
	envs, err := pm.p.Status(ctx, req.Rev)
	if err != nil {
		return nil, err
	}
	res := &StatusResult{Model: pm.model.Name, Repository: pm.p.Repository(), Environments: envs, InSync: true}
	for _, e := range envs {
		switch {
		case e.Sync == promote.SyncError:
			res.InSync, res.Unreadable = false, true
			res.Notes = append(res.Notes, e.Environment+": registry error: "+e.RegistryError)
		case !e.InSync:
			res.InSync = false
			why := e.Reconcile
			if why == "" {
				why = "the tag differs from the desired state"
			}
			res.Notes = append(res.Notes, e.Environment+": out of sync: "+why)
		}
	}
	_ = r.Actions.SetOutput("in-sync", fmt.Sprint(res.InSync))
	if r.Actions.Active() {
		_ = r.Summary(StatusMarkdown(res) + "\n")
	}
	return res, nil
}

// Err is the fail-closed verdict: a status that could not read the
// registry is not a status.
func (res *StatusResult) Err() error {
	if !res.Unreadable {
		return nil
	}
	return fmt.Errorf("the registry %s could not be read: the state of the environments is unknown", res.Repository)
}

// StatusMarkdown is the status table for the job summary.
func StatusMarkdown(res *StatusResult) string {
	var md strings.Builder
	// The version can come from the registry's annotations and the notes
	// carry its errors: text, not Markdown.
	e := report.Escape
	fmt.Fprintf(&md, "### %s environments\n\n| environment | desired | tag | in sync | version | signature | record | promoted |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n", e(res.Model))
	for _, es := range res.Environments {
		fmt.Fprintf(&md, "| %s | `%s` | `%s` | %s | %s | %s | %s | %s |\n", e(es.Environment), report.EscapeCodeCell(Dash(oci.ShortDigest(es.Desired))), report.EscapeCodeCell(Dash(oci.ShortDigest(es.Current))),
			e(Dash(es.Sync)), e(Dash(es.Version)), e(es.Signature), e(Dash(es.Record)), e(Dash(es.PromotedAt)))
	}
	for _, n := range res.Notes {
		fmt.Fprintf(&md, "\n- %s", e(n))
	}
	return md.String()
}

// Dash shows an empty cell as "-".
func Dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ShortCommit abbreviates a commit to 12 characters, "(none)" when empty.
func ShortCommit(sha string) string {
	if sha == "" {
		return "(none)"
	}
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// WriteText writes the status table and, after it, the notes.
func (res *StatusResult) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "%s (%s)\n", res.Model, res.Repository)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ENVIRONMENT\tDESIRED (git)\tTAG (registry)\tSYNC\tVERSION\tSIGNATURE\tRECORD\tPROMOTED")
	for _, e := range res.Environments {
		sig := e.Signature
		if e.Signer != "" {
			sig += " (" + e.Signer + ")"
		}
		promoted := Dash(e.PromotedAt)
		if e.PromotedBy != "" {
			promoted += " by " + e.PromotedBy
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Environment, Dash(oci.ShortDigest(e.Desired)), Dash(oci.ShortDigest(e.Current)), Dash(e.Sync), Dash(e.Version), sig, Dash(e.Record), promoted)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range res.Notes {
		fmt.Fprintf(w, "%s\n", n)
	}
	return nil
}
