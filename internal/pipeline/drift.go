package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mlship/mlship/internal/drift"
	"github.com/mlship/mlship/internal/report"
	"github.com/mlship/mlship/internal/spec"
)

// DriftRequest is `mlship drift`: flags override the spec's drift section.
type DriftRequest struct {
	Reference string
	// ReferenceProfile stands for the reference data: a profile file, or
	// a model artifact (REF) whose reference profile layer is read.
	ReferenceProfile string
	// ProfileOut, when set, receives the reference's profile (what
	// package/push attach); without Current nothing is compared.
	ProfileOut string
	Current    string
	// SpecDir gives the defaults (default: "." when it holds a spec and a
	// data file is not named).
	SpecDir string
	// Out, when set, receives the result as JSON.
	Out          string
	MemoryBudget string
	// Threshold is the share of drifted columns that makes the data set
	// drifted (0: the spec's, else drift's default).
	Threshold   float64
	FailOnDrift bool
	Workers     int
	ExtraTests  []string
}

// Drift compares the current data with the reference, writes Out, sets
// the step outputs (drift, drift-share, result-path) and the job summary.
// With FailOnDrift a drifted data set returns the result and an error.
func Drift(ctx context.Context, r *Run, req DriftRequest) (*drift.Result, error) {
	cfg, ref, cur, err := driftInputs(ctx, req)
	if err != nil {
		return nil, err
	}
	refSrc := drift.File(ref)
	if req.ProfileOut != "" {
		p, err := drift.BuildProfile(ctx, refSrc, cfg)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := drift.WriteProfile(&buf, p); err != nil {
			return nil, err
		}
		if err := WriteFile(req.ProfileOut, buf.Bytes()); err != nil {
			return nil, fmt.Errorf("writing the profile: %w", err)
		}
		r.Logf("mlship: wrote the profile of %s to %s (%d bytes)\n", ref, req.ProfileOut, buf.Len())
		if cur == "" {
			return nil, nil
		}
	}
	if req.ReferenceProfile != "" {
		p, err := LoadProfile(ctx, r, req.ReferenceProfile)
		if err != nil {
			return nil, err
		}
		refSrc = drift.ProfileSource(p)
	}
	res, err := drift.Compare(ctx, refSrc, drift.File(cur), cfg)
	if err != nil {
		return nil, err
	}
	if req.Out != "" {
		if err := WriteJSON(req.Out, res); err != nil {
			return nil, err
		}
	}
	for _, o := range []struct{ k, v string }{
		{"drift", strconv.FormatBool(res.DatasetDrift)},
		{"drift-share", strconv.FormatFloat(res.DriftShare, 'f', -1, 64)},
		{"result-path", req.Out},
	} {
		if err := r.Actions.SetOutput(o.k, o.v); err != nil {
			return nil, err
		}
	}
	if err := r.Summary(DriftSummary(res)); err != nil {
		return nil, err
	}
	if res.DatasetDrift && req.FailOnDrift {
		return res, fmt.Errorf("data drift: %d of %d columns drifted (share %.2f >= %.2f)", res.DriftedColumns, len(res.Columns), res.DriftShare, res.ShareThreshold)
	}
	return res, nil
}

// driftInputs merges the request and the spec's drift section.
func driftInputs(ctx context.Context, req DriftRequest) (drift.Config, string, string, error) {
	var cfg drift.Config
	ref, cur := req.Reference, req.Current
	if req.ReferenceProfile != "" {
		if ref != "" {
			return cfg, "", "", usage(errors.New("--reference and --reference-profile both name the reference: give one"))
		}
		ref = req.ReferenceProfile
	}
	specDir := req.SpecDir
	if specDir == "" && (ref == "" || cur == "") && spec.IsSpecDir(".") {
		specDir = "."
	}
	if specDir != "" {
		m, err := spec.Load(ctx, specDir)
		if err != nil {
			return cfg, "", "", fmt.Errorf("loading the spec for its drift section: %w", err)
		}
		if m.Drift != nil {
			if cfg, err = drift.ConfigFromSpec(m.Drift); err != nil {
				return cfg, "", "", fmt.Errorf("spec %s: %w", specDir, err)
			}
			if ref == "" && m.Drift.Reference != "" {
				ref = filepath.Join(m.Dir, m.Drift.Reference)
			}
			if cur == "" && m.Drift.Current != "" {
				cur = filepath.Join(m.Dir, m.Drift.Current)
			}
		}
	}
	if ref == "" || (cur == "" && req.ProfileOut == "") {
		return cfg, "", "", usage(errors.New("--reference and --current are required (or --spec DIR whose spec has a drift section)"))
	}
	if req.ProfileOut != "" && req.ReferenceProfile != "" {
		return cfg, "", "", usage(errors.New("--profile-out profiles the --reference data: it cannot be combined with --reference-profile"))
	}
	if req.MemoryBudget != "" {
		b, err := drift.ParseBytes(req.MemoryBudget)
		if err != nil {
			return cfg, "", "", usage(fmt.Errorf("--memory-budget: %w", err))
		}
		cfg.MemoryBudget = b
	}
	if req.Threshold != 0 {
		if req.Threshold < 0 || req.Threshold > 1 {
			return cfg, "", "", usage(fmt.Errorf("--threshold %v: use a share in (0, 1]", req.Threshold))
		}
		cfg.ShareThreshold = req.Threshold
	}
	cfg.Workers = req.Workers
	cfg.ExtraTests = req.ExtraTests
	return cfg, ref, cur, nil
}

// DriftVerdict is the one-line verdict of a drift result.
func DriftVerdict(res *drift.Result) string {
	if res.DatasetDrift {
		return fmt.Sprintf("Data drift detected: %d of %d columns drifted (share %.2f, threshold %.2f)", res.DriftedColumns, len(res.Columns), res.DriftShare, res.ShareThreshold)
	}
	return fmt.Sprintf("No data drift: %d of %d columns drifted (share %.2f, threshold %.2f)", res.DriftedColumns, len(res.Columns), res.DriftShare, res.ShareThreshold)
}

// FormatScore prints a statistic, p-value or threshold with 4 digits.
func FormatScore(x float64) string { return strconv.FormatFloat(x, 'g', 4, 64) }

// DriftColumnNotes are a column's missing values, unseen categories and
// note, "  (...)" when there are any.
func DriftColumnNotes(c drift.ColumnResult) string {
	var parts []string
	if c.Missing.Reference+c.Missing.Current > 0 {
		parts = append(parts, fmt.Sprintf("missing %d/%d", c.Missing.Reference, c.Missing.Current))
	}
	if c.UnseenCount > 0 {
		parts = append(parts, fmt.Sprintf("%d unseen categories (%d rows)", c.UnseenCount, c.UnseenRows))
	}
	if c.Note != "" {
		parts = append(parts, c.Note)
	}
	if len(parts) == 0 {
		return ""
	}
	return "  (" + strings.Join(parts, "; ") + ")"
}

// DriftSummary is the job summary Markdown of a drift result; column
// names and notes come from the data and are escaped.
func DriftSummary(res *drift.Result) string {
	var b strings.Builder
	icon := "✅"
	if res.DatasetDrift {
		icon = "⚠️"
	}
	fmt.Fprintf(&b, "### %s mlship drift\n\n%s. Statistics: %s.\n\n", icon, DriftVerdict(res), res.Mode)
	b.WriteString("| column | type | test | statistic | p-value | threshold | drift |\n|---|---|---|---:|---:|---:|---|\n")
	for _, c := range res.Columns {
		p := ""
		if c.PValue != nil {
			p = FormatScore(*c.PValue)
		}
		d := "no"
		if c.Drift {
			d = "**yes**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s%s |\n", report.Escape(c.Name), c.Type, c.Test, FormatScore(c.Statistic), p, FormatScore(c.Threshold), d, report.Escape(DriftColumnNotes(c)))
	}
	return b.String()
}
