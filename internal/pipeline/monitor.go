package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/mlship/mlship/internal/alert"
	"github.com/mlship/mlship/internal/drift"
	"github.com/mlship/mlship/internal/monitor"
	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/report"
	"github.com/mlship/mlship/internal/sign"
	"github.com/mlship/mlship/internal/spec"
)

// ProfileFile is the reference profile's path in the model artifact (a
// dataset layer, so the manifest, and with it the signature, covers it).
const ProfileFile = "reference-profile.json"

// MonitorRequest is `mlship monitor`.
type MonitorRequest struct {
	SpecDir     string
	Environment string
	// Current are the sample files or globs (default: the spec's
	// monitor.current).
	Current []string
	// Repository overrides the spec's registry.repository.
	Repository string
	// Policy says who may sign (default: the spec's signing section); the
	// spec and the environment's attestations and gates always apply, as
	// `pull --verify --spec DIR --env ENV` applies them.
	Policy PolicyRequest
	// Out receives the report as JSON (report-path).
	Out          string
	MemoryBudget string
	Workers      int
	// Dispatch is a workflow started when an alert opens (default: the
	// spec's monitor.alert.dispatch).
	Dispatch    string
	FailOnAlert bool
	// NoIssue skips the alert issue even in Actions.
	NoIssue bool
}

// MonitorResult is the report plus where the alert issue stands.
type MonitorResult struct {
	monitor.Report
	Ref        string         `json:"ref"`
	Issue      *alert.Outcome `json:"issue,omitempty"`
	ReportPath string         `json:"reportPath,omitempty"`
}

// Monitor resolves the environment's tag to a digest, verifies it as pull
// --verify does, fetches its reference profile (never the weights), checks
// the current samples, keeps the alert issue in Actions, and writes the
// step outputs (alert, drifted-columns, report-path, digest) and the job
// summary. With FailOnAlert an alerting run returns the result and an
// error.
func Monitor(ctx context.Context, r *Run, req MonitorRequest) (*MonitorResult, error) {
	if req.Environment == "" {
		return nil, usage(errors.New("--environment is required: the environment whose model is monitored"))
	}
	dir := req.SpecDir
	if dir == "" {
		dir = "."
	}
	m, err := spec.Load(ctx, dir)
	if err != nil {
		return nil, err
	}
	if _, ok := m.Environments[req.Environment]; !ok {
		return nil, usage(fmt.Errorf("environment %q is not in the spec %s", req.Environment, dir))
	}
	patterns := req.Current
	if len(patterns) == 0 && m.Monitor != nil && m.Monitor.Current != "" && !strings.Contains(m.Monitor.Current, "://") {
		patterns = []string{filepath.Join(m.Dir, filepath.FromSlash(m.Monitor.Current))}
	}
	if len(patterns) == 0 {
		return nil, usage(errors.New("--current is required (files or globs of the production sample), or set monitor.current in the spec"))
	}
	paths, err := drift.ExpandPaths(patterns)
	if err != nil {
		return nil, usage(fmt.Errorf("--current: %w", err))
	}
	cfg, err := monitor.ConfigFor(m)
	if err != nil {
		return nil, fmt.Errorf("spec %s: %w", dir, err)
	}
	if req.MemoryBudget != "" {
		if cfg.MemoryBudget, err = drift.ParseBytes(req.MemoryBudget); err != nil {
			return nil, usage(fmt.Errorf("--memory-budget: %w", err))
		}
	}
	cfg.Workers = req.Workers

	repo := req.Repository
	if repo == "" {
		repo = m.Registry.Repository
	}
	ref := repo + ":" + req.Environment
	plain := m.Registry.PlainHTTP
	digest, err := registry(r, plain).Resolve(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("resolving what %s runs (%s): %w", req.Environment, ref, err)
	}
	pr := req.Policy
	pr.SpecDir, pr.Env = dir, req.Environment
	pol, err := Policy(ctx, r, pr)
	if err != nil {
		return nil, fmt.Errorf("verification policy: %w", err)
	}
	dref := repo + "@" + digest
	v, err := sign.Verify(ctx, dref, pol, SignOptions(ctx, r, plain)...)
	if err == nil {
		err = CheckPromotionSigners(r, v, pr)
	}
	if err != nil {
		return nil, fmt.Errorf("%s (%s) failed verification: %w", ref, digest, err)
	}
	prof, err := FetchProfile(ctx, r, dref, plain)
	if err != nil {
		return nil, err
	}
	rep, err := monitor.Check(ctx, monitor.Input{Model: m, Environment: req.Environment, Profile: prof, Current: paths, Config: cfg})
	if err != nil {
		return nil, err
	}
	rep.Digest = digest
	res := &MonitorResult{Report: *rep, Ref: ref, ReportPath: req.Out}
	// The issue is kept first (the report names it); when GitHub fails,
	// the report, outputs and summary are still written, then the error
	// returned: a check that ran is not lost.
	var issueErr error
	if r.Actions.Active() && !req.NoIssue {
		if res.Issue, issueErr = syncAlert(ctx, r, m, req, res); issueErr != nil {
			issueErr = fmt.Errorf("alert issue: %w", issueErr)
		}
	}
	if req.Out != "" {
		if err := WriteJSON(req.Out, res); err != nil {
			return nil, err
		}
	}
	for _, o := range []struct{ k, v string }{
		{"alert", strconv.FormatBool(res.Alert)},
		{"drifted-columns", strings.Join(res.DriftedColumns, ",")},
		{"report-path", req.Out},
		{"digest", digest},
	} {
		if err := r.Actions.SetOutput(o.k, o.v); err != nil {
			return nil, err
		}
	}
	if err := r.Summary(MonitorSummary(res)); err != nil {
		return nil, err
	}
	if issueErr != nil {
		return res, issueErr
	}
	failOn := req.FailOnAlert || (m.Monitor != nil && m.Monitor.Alert.FailOnAlert)
	if res.Alert && failOn {
		return res, fmt.Errorf("monitor alert for %s (%s): %s", req.Environment, oci.ShortDigest(digest), strings.Join(res.Reasons, "; "))
	}
	return res, nil
}

// syncAlert keeps the one alert issue for the model and environment.
func syncAlert(ctx context.Context, r *Run, m *spec.Model, req MonitorRequest, res *MonitorResult) (*alert.Outcome, error) {
	gh, err := r.GitHubClient(ctx)
	if err != nil {
		return nil, err
	}
	var opts []alert.Option
	dispatch := req.Dispatch
	if mo := m.Monitor; mo != nil {
		if len(mo.Alert.Labels) > 0 {
			opts = append(opts, alert.WithLabels(mo.Alert.Labels...))
		}
		if mo.Alert.History > 0 {
			opts = append(opts, alert.WithHistory(mo.Alert.History))
		}
		if dispatch == "" {
			dispatch = mo.Alert.Dispatch
		}
	}
	if dispatch != "" {
		ref := strings.TrimPrefix(strings.TrimPrefix(r.Env.Ref, "refs/heads/"), "refs/tags/")
		if ref == "" {
			ref = "main"
		}
		opts = append(opts, alert.WithDispatch(dispatch, ref, map[string]any{"environment": req.Environment, "digest": res.Digest}))
	}
	if u := r.Env.RunURL(); u != "" {
		opts = append(opts, alert.WithRunURL(u))
	}
	obs := alert.Observation{
		SampleSize:        res.Drift.Current.Rows,
		DriftedColumns:    res.DriftedColumns,
		DatasetDriftShare: res.Drift.DriftShare,
		Metrics:           res.Metrics,
		Alert:             res.Alert,
		Digest:            res.Digest,
		Reasons:           res.Reasons,
		ReportURL:         r.Env.RunURL(),
	}
	return alert.Sync(ctx, gh, r.Env.Repository, alert.Key{Model: m.Name, Environment: req.Environment}, obs, opts...)
}

// FetchProfile reads the reference profile layer of the artifact ref (a
// digest reference once verified): the manifest is checked against its
// digest and the layer against its own, so what the signature covers is
// what is read. Only the profile is downloaded.
func FetchProfile(ctx context.Context, r *Run, ref string, plainHTTP bool) (*drift.Profile, error) {
	c := registry(r, plainHTTP)
	digest, raw, _, err := c.Manifest(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("reading the manifest of %s: %w", ref, err)
	}
	man, err := oci.ParseManifest(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	repo := ref
	if i := strings.LastIndexByte(ref, '@'); i > 0 {
		repo = ref[:i]
	} else if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		repo = ref[:i]
	}
	for _, l := range man.Layers {
		if oci.LayerPath(l) != ProfileFile {
			continue
		}
		b, err := c.Blob(ctx, repo, l.Digest, drift.MaxProfileBytes)
		if err != nil {
			return nil, fmt.Errorf("reading the reference profile of %s: %w", ref, err)
		}
		p, err := drift.ParseProfile(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", ref, oci.ShortDigest(digest), err)
		}
		return p, nil
	}
	return nil, fmt.Errorf("%s (%s) has no reference profile (%s): package it from a spec with a drift.reference (mlship package/push writes it)", ref, oci.ShortDigest(digest), ProfileFile)
}

// LoadProfile reads a profile from a file, or from the artifact ref when
// no such file exists (`drift --reference-profile REF|FILE`; the artifact
// is not verified here: `mlship monitor` verifies).
func LoadProfile(ctx context.Context, r *Run, src string) (*drift.Profile, error) {
	f, err := os.Open(src)
	if err == nil {
		defer f.Close()
		p, err := drift.ParseProfile(io.Reader(f))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		return p, nil
	}
	if !errors.Is(err, os.ErrNotExist) || !strings.ContainsAny(src, ":@") {
		return nil, fmt.Errorf("reference profile %s: %w", src, err)
	}
	return FetchProfile(ctx, r, src, false)
}

// withReferenceProfile builds the reference profile from the spec's
// drift.reference, writes it into the spec directory and adds it to src
// as a dataset layer (ProfileFile), so the artifact carries what monitor
// needs. A spec without a drift reference, or one that packages its own
// ProfileFile, is left alone; a reference that is missing is an error
// when the spec has a monitor section (monitoring would have nothing to
// compare with), a log line otherwise.
func withReferenceProfile(ctx context.Context, r *Run, m *spec.Model, src oci.Source) (oci.Source, error) {
	if m == nil || m.Dir == "" || m.Drift == nil || m.Drift.Reference == "" {
		return src, nil
	}
	for _, f := range src.Files {
		if f.Path == ProfileFile {
			return src, nil
		}
	}
	refPath := filepath.Join(m.Dir, filepath.FromSlash(m.Drift.Reference))
	if _, err := os.Stat(refPath); err != nil {
		if m.Monitor != nil {
			return src, fmt.Errorf("the reference profile needs drift.reference %s: %w", refPath, err)
		}
		r.Logf("mlship: no reference profile packaged: %v\n", err)
		return src, nil
	}
	cfg, err := monitor.ConfigFor(m)
	if err != nil {
		return src, fmt.Errorf("spec %s: %w", m.Dir, err)
	}
	p, err := drift.BuildProfile(ctx, drift.File(refPath), cfg)
	if err != nil {
		return src, fmt.Errorf("building the reference profile: %w", err)
	}
	p.Source.Path = m.Drift.Reference // relative: the artifact says what, not where on this runner
	var buf bytes.Buffer
	if err := drift.WriteProfile(&buf, p); err != nil {
		return src, err
	}
	if err := WriteFile(filepath.Join(m.Dir, ProfileFile), buf.Bytes()); err != nil {
		return src, fmt.Errorf("writing the reference profile: %w", err)
	}
	out := src
	out.Files = append(append([]oci.File(nil), src.Files...), oci.File{Path: ProfileFile, Role: oci.RoleDataset})
	return out, nil
}

// MonitorSummary is the job summary Markdown of a monitoring run; names
// from the data are escaped.
func MonitorSummary(res *MonitorResult) string {
	var b strings.Builder
	icon, verdict := "✅", "healthy"
	if res.Alert {
		icon, verdict = "🚨", "alert"
	}
	fmt.Fprintf(&b, "### %s mlship monitor: %s\n\n`%s` runs `%s`; sample of %d rows.\n\n", icon, verdict, report.Escape(res.Ref), res.Digest, res.Drift.Current.Rows)
	for _, why := range res.Reasons {
		fmt.Fprintf(&b, "- %s\n", report.Escape(why))
	}
	if len(res.Reasons) > 0 {
		b.WriteString("\n")
	}
	if len(res.Gates) > 0 {
		b.WriteString("| metric | value | gate | passed |\n|---|---:|---|---|\n")
		for _, g := range res.Gates {
			v := "—"
			if g.Value != nil {
				v = FormatScore(*g.Value)
			}
			var bound []string
			if g.Min != nil {
				bound = append(bound, "≥ "+FormatScore(*g.Min))
			}
			if g.Max != nil {
				bound = append(bound, "≤ "+FormatScore(*g.Max))
			}
			ok := "yes"
			if !g.Passed {
				ok = "**no**"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", report.Escape(g.Metric), v, strings.Join(bound, ", "), ok)
		}
		b.WriteString("\n")
	}
	if res.Issue != nil && res.Issue.URL != "" {
		fmt.Fprintf(&b, "Alert issue [#%d](%s): %s.\n\n", res.Issue.Number, res.Issue.URL, res.Issue.Action)
	}
	b.WriteString(DriftSummary(res.Drift))
	return b.String()
}

// WriteMonitorText is the text output of `mlship monitor`.
func WriteMonitorText(w io.Writer, res *MonitorResult) {
	verdict := "healthy"
	if res.Alert {
		verdict = "ALERT"
	}
	fmt.Fprintf(w, "%s: %s runs %s; %d sample rows\n", verdict, res.Ref, res.Digest, res.Drift.Current.Rows)
	for _, why := range res.Reasons {
		fmt.Fprintf(w, "  - %s\n", why)
	}
	fmt.Fprintln(w, DriftVerdict(res.Drift))
	if len(res.DriftedColumns) > 0 {
		fmt.Fprintf(w, "drifted columns: %s\n", strings.Join(res.DriftedColumns, ", "))
	}
	for _, n := range sortedMetricNames(res.Metrics) {
		fmt.Fprintf(w, "%s: %s\n", n, FormatScore(res.Metrics[n]))
	}
	if res.Issue != nil && res.Issue.Number != 0 {
		fmt.Fprintf(w, "alert issue #%d: %s %s\n", res.Issue.Number, res.Issue.Action, res.Issue.URL)
	}
}

func sortedMetricNames(m map[string]float64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
