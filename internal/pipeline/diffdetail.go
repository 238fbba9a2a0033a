package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"
	"text/tabwriter"

	"github.com/mlship/mlship/internal/attest"
	"github.com/mlship/mlship/internal/eval"
	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/oci/progress"
	"github.com/mlship/mlship/internal/spec"
)

// readExamples reads per-example results: the local file when given, else
// a layer of the artifact at the spec's eval.examplesFile or named
// examples.jsonl (nil when there is none).
func readExamples(ctx context.Context, c *oci.Client, repo string, mf *oci.Manifest, file string, m *spec.Model, ropts []oci.Option) (*eval.Examples, error) {
	if file != "" {
		return eval.ReadExamplesFile(file)
	}
	want := "examples.jsonl"
	if m != nil && m.Eval != nil && m.Eval.ExamplesFile != "" {
		want = m.Eval.ExamplesFile
	}
	for _, l := range mf.Layers {
		p := oci.LayerPath(l)
		_, format, ok := oci.ParseLayerMediaType(l.MediaType)
		if !ok || format != oci.FormatRaw || (p != want && path.Base(p) != path.Base(want)) {
			continue
		}
		if l.Size > maxExamplesLayer {
			return nil, fmt.Errorf("per-example results %s are %d bytes, more than the %d diff reads", p, l.Size, maxExamplesLayer)
		}
		b, err := c.Blob(ctx, repo, l.Digest, maxExamplesLayer, ropts...)
		if err != nil {
			return nil, fmt.Errorf("reading per-example results %s: %w", p, err)
		}
		ex, err := eval.ParseExamples(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("per-example results %s: %w", p, err)
		}
		return ex, nil
	}
	return nil, nil
}

// verdict judges a delta by the metric's direction.
func verdict(delta float64, dir string) string {
	switch {
	case delta == 0:
		return "same"
	case dir == "maximize" && delta > 0, dir == "minimize" && delta < 0:
		return "better"
	case dir == "maximize", dir == "minimize":
		return "worse"
	}
	return "changed"
}

// bootstrapSettings are the spec's eval.bootstrap, else those B's eval
// recorded, else 1000 resamples at 95 % with seed 0.
func bootstrapSettings(m *spec.Model, ev *attest.EvalResult) attest.BootstrapConfig {
	bs := attest.BootstrapConfig{Samples: 1000, Confidence: 0.95}
	if ev != nil && ev.Bootstrap != nil {
		bs = *ev.Bootstrap
	}
	if m != nil && m.Eval != nil {
		if b := m.Eval.Bootstrap; b.Samples > 0 {
			bs.Samples = b.Samples
		}
		if b := m.Eval.Bootstrap; b.Confidence > 0 {
			bs.Confidence = b.Confidence
		}
		bs.Seed = m.Eval.Bootstrap.Seed
	}
	if bs.Samples < 1 {
		bs.Samples = 1000
	}
	if !(bs.Confidence > 0 && bs.Confidence < 1) {
		bs.Confidence = 0.95
	}
	return bs
}

// WriteText writes three tables: changed files, metrics, changed lineage.
func (res *DiffResult) WriteText(out io.Writer) error {
	for _, x := range []struct {
		n string
		s DiffSide
	}{{"A", res.A}, {"B", res.B}} {
		fmt.Fprintf(out, "%s: %s (%s): metrics %s\n", x.n, x.s.Ref, Dash(x.s.Version), Dash(x.s.Verification))
	}
	fmt.Fprintln(out)
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "FILE\tCHANGE\tROLE\tSIZE A\tSIZE B\tDIGEST A\tDIGEST B")
	for _, f := range res.Files {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", clip(f.Path, 40), f.Change, Dash(f.Role), size(f.SizeA), size(f.SizeB), Dash(oci.ShortDigest(f.DigestA)), Dash(oci.ShortDigest(f.DigestB)))
	}
	fmt.Fprintf(w, "(%d files unchanged)\t\t\t\t\t\t\n", res.Unchanged)
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out)
	w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "METRIC\tA\tB\tDELTA\tCI (B-A)\tVERDICT")
	if len(res.Metrics) == 0 {
		fmt.Fprintln(w, "(no eval metrics)\t\t\t\t\t")
	}
	for _, m := range res.Metrics {
		ci := "-"
		if m.CI != nil {
			ci = fmt.Sprintf("[%.4g, %.4g] %g%%", m.CI.Low, m.CI.High, m.CI.Confidence*100)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", clip(m.Metric, 24), numOrDash(m.A), numOrDash(m.B), signedOrDash(m.Delta), ci, m.Verdict)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out)
	w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "LINEAGE\tA\tB\tSOURCE")
	same := 0
	for _, l := range res.Lineage {
		if !l.Changed {
			same++
			continue
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", clip(l.Field, 32), clip(valueText(l.A), 30), clip(valueText(l.B), 30), l.Source)
	}
	fmt.Fprintf(w, "(%d lineage fields unchanged)\t\t\t\n", same)
	if err := w.Flush(); err != nil {
		return err
	}
	for _, n := range res.Notes {
		fmt.Fprintln(out, "note: "+n)
	}
	return nil
}

func size(n *int64) string {
	if n == nil {
		return "-"
	}
	return progress.Bytes(*n)
}

func numOrDash(f *float64) string {
	if f == nil {
		return "-"
	}
	return fmt.Sprintf("%.4g", *f)
}

func signedOrDash(f *float64) string {
	if f == nil {
		return "-"
	}
	return fmt.Sprintf("%+.4g", *f)
}

func valueText(v any) string {
	if v == nil {
		return "-"
	}
	if s, ok := v.(string); ok {
		if strings.HasPrefix(s, "sha256:") && len(s) > 19 {
			return oci.ShortDigest(s)
		}
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
