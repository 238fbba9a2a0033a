package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mlship/mlship/internal/attest"
	"github.com/mlship/mlship/internal/card"
	"github.com/mlship/mlship/internal/drift"
	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/report"
	"github.com/mlship/mlship/internal/spec"
	"github.com/mlship/mlship/internal/train/lineage"
)

// Where package looks for the eval and drift results of the model it
// packages: the spec directory, then the working directory (the eval
// command's --out default and the example workflows' drift --out).
var (
	cardEvalFiles  = []string{"eval-result.json"}
	cardDriftFiles = []string{"drift.json"}
)

// withModelCard writes MODEL_CARD.md into the spec directory from the
// spec, the eval and drift results and the training run whose outputs are
// packaged, and adds it to src as a doc layer at the model's root. A spec
// that packages its own MODEL_CARD.md, or a MODEL_CARD.md that mlship did
// not write, is left alone; plain directories get no card.
func withModelCard(ctx context.Context, r *Run, m *spec.Model, src oci.Source, lin RunLineage) (oci.Source, error) {
	if m == nil || m.Dir == "" {
		return src, nil
	}
	for _, f := range src.Files {
		if f.Path == card.FileName {
			return src, nil
		}
	}
	path := filepath.Join(m.Dir, card.FileName)
	old, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return src, fmt.Errorf("model card %s: %w", path, err)
	case !isGenerated(old):
		r.Logf("mlship: %s was not written by mlship: it is not packaged (list it in package.files to ship it as the model card)\n", path)
		return src, nil
	}
	in := cardInput(ctx, m, lin)
	b, err := card.Generate(in)
	if err != nil {
		return src, err
	}
	if !bytes.Equal(old, b) {
		if err := WriteFile(path, b); err != nil {
			return src, fmt.Errorf("writing the model card: %w", err)
		}
	}
	if c, err := card.Parse(b); err == nil {
		// The report links the workflow run: the card is readable there.
		_ = r.Summary("<details><summary>Model card (" + card.FileName + ")</summary>\n\n" + strings.TrimPrefix(c.Body, card.GeneratedMarker+"\n") + "\n</details>\n")
	}
	out := src
	out.Files = append(append([]oci.File(nil), src.Files...), oci.File{Path: card.FileName, Role: oci.RoleDoc})
	return out, nil
}

func isGenerated(b []byte) bool {
	c, err := card.Parse(b)
	return err == nil && strings.HasPrefix(c.Body, card.GeneratedMarker)
}

// cardInput gathers what the card of m is made from: the run.json whose
// outputs are the packaged files (lin, as push decided it: only then is
// the run's lineage the model's), and the eval and drift results found
// beside the spec or in the working directory when they are about this
// model (same name and version, not older than the run). Each one left
// out is named in the card's notes.
func cardInput(_ context.Context, m *spec.Model, lin RunLineage) card.Input {
	in := card.Input{Spec: m, InputDigest: lin.InputDigest}
	if lin.Stamped() && lin.Run != "" {
		if rec, err := lineage.Read(lin.Run); err == nil && rec.InputDigest == lin.InputDigest {
			in.Run = rec
		}
	}
	if in.Run == nil {
		why := lin.Reason
		switch {
		case why != "":
		case lin.Run == "":
			why = "no training run"
		default:
			why = "the run in " + lin.Run + " is not the one whose input digest the artifact carries"
		}
		in.Notes = append(in.Notes, "Training lineage: "+why+".")
	}
	if ev, why := findEval(m, in.Run); ev != nil {
		in.Eval = ev
	} else {
		in.Notes = append(in.Notes, "Evaluation: "+why+".")
	}
	if d, p := findDrift(m); d != nil {
		in.Drift = d
	} else if p != "" {
		in.Notes = append(in.Notes, "Data drift: "+p+".")
	}
	return in
}

// candidates lists name in the spec directory, then in the working
// directory (once when they are the same).
func candidates(dir string, names []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, n := range names {
		for _, p := range []string{filepath.Join(dir, n), n} {
			abs, err := filepath.Abs(p)
			if err != nil || seen[abs] {
				continue
			}
			seen[abs] = true
			out = append(out, p)
		}
	}
	return out
}

func findEval(m *spec.Model, run *lineage.Record) (*attest.EvalResult, string) {
	var why []string
	for _, p := range candidates(m.Dir, cardEvalFiles) {
		b, err := readBounded(p, 16<<20)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			why = append(why, err.Error())
			continue
		}
		ev, err := attest.ParseEvalResult(b)
		if err != nil {
			why = append(why, p+": "+err.Error())
			continue
		}
		if ev.Model.Name != m.Name || ev.Model.Version != m.Version {
			why = append(why, fmt.Sprintf("%s is about %s %s, not %s %s", p, ev.Model.Name, ev.Model.Version, m.Name, m.Version))
			continue
		}
		if run != nil && ev.EvaluatedAt != "" {
			if t, err := time.Parse(time.RFC3339, ev.EvaluatedAt); err == nil && t.Before(run.End.Add(-time.Second)) {
				why = append(why, fmt.Sprintf("%s was evaluated at %s, before the packaged model was trained (%s)", p, ev.EvaluatedAt, run.End.UTC().Format(time.RFC3339)))
				continue
			}
		}
		return ev, ""
	}
	if len(why) == 0 {
		return nil, "no " + strings.Join(cardEvalFiles, " or ") + " beside the spec or in the working directory (run mlship eval before package)"
	}
	return nil, strings.Join(why, "; ")
}

func findDrift(m *spec.Model) (*drift.Result, string) {
	for _, p := range candidates(m.Dir, cardDriftFiles) {
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		d, err := report.ReadDriftFile(p)
		if err != nil {
			return nil, err.Error()
		}
		return d, ""
	}
	if m.Drift == nil {
		return nil, ""
	}
	return nil, "no " + strings.Join(cardDriftFiles, " or ") + " beside the spec or in the working directory (mlship drift --out drift.json before package)"
}

func readBounded(p string, limit int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", p, limit)
	}
	return b, nil
}

// CardRequest is `mlship card REF`.
type CardRequest struct {
	Ref        string
	Repository string
	Registry   []oci.Option
}

// CardResult is the card of an artifact; --output json prints it.
type CardResult struct {
	Ref    string `json:"ref"`
	Digest string `json:"digest"`
	// Layer is the card layer's digest and Size its size.
	Layer    string        `json:"layer"`
	Size     int64         `json:"size"`
	Metadata card.Metadata `json:"metadata"`
	// Markdown is the whole file (front matter and body).
	Markdown string `json:"markdown"`
	// Note says why Metadata is empty (a card without front matter).
	Note string `json:"note,omitempty"`
}

// WriteText prints the card as it is.
func (res *CardResult) WriteText(out io.Writer) error {
	_, err := io.WriteString(out, res.Markdown)
	return err
}

// Card reads the manifest REF points at and fetches its MODEL_CARD.md
// layer only (bounded; checked against its digest).
func Card(ctx context.Context, r *Run, req CardRequest) (*CardResult, error) {
	if req.Ref == "" {
		return nil, usage(errors.New("no reference: give REF (HOST/REPO:TAG, HOST/REPO@sha256:..., or oci:PATH[:TAG])"))
	}
	c := registry(r, false)
	ref := ApplyRepository(req.Ref, req.Repository)
	a, err := c.Inspect(ctx, ref, req.Registry...)
	if err != nil {
		return nil, err
	}
	l, ok := CardLayer(a.Manifest)
	if !ok {
		return nil, fmt.Errorf("%s (%s) has no %s layer: it was packaged without a spec, or by an mlship without model cards (package it again to add one)", ref, a.Digest, card.FileName)
	}
	if l.Size > card.MaxSize {
		return nil, fmt.Errorf("%s: its %s layer is %d bytes, more than the %d allowed", ref, card.FileName, l.Size, card.MaxSize)
	}
	repo, _, _ := strings.Cut(a.Ref, "@")
	b, err := c.Blob(ctx, repo, l.Digest, card.MaxSize, req.Registry...)
	if err != nil {
		return nil, fmt.Errorf("reading the model card of %s: %w", ref, err)
	}
	res := &CardResult{Ref: a.Ref, Digest: a.Digest, Layer: l.Digest, Size: l.Size, Markdown: string(b)}
	if cd, err := card.Parse(b); err != nil {
		// A card its authors wrote by hand is still printed.
		res.Note = err.Error()
	} else {
		res.Metadata = cd.Meta
	}
	_ = r.Actions.SetOutput("digest", a.Digest)
	return res, nil
}

// CardLayer finds the model card among a manifest's layers: a raw doc
// layer at MODEL_CARD.md.
func CardLayer(m *oci.Manifest) (oci.Descriptor, bool) {
	for _, l := range m.Layers {
		role, format, ok := oci.ParseLayerMediaType(l.MediaType)
		if ok && role == oci.RoleDoc && format == oci.FormatRaw && oci.LayerPath(l) == card.FileName {
			return l, true
		}
	}
	return oci.Descriptor{}, false
}
