package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/mlship/mlship/internal/attest"
	"github.com/mlship/mlship/internal/card"
	"github.com/mlship/mlship/internal/eval"
	"github.com/mlship/mlship/internal/oci"
	"github.com/mlship/mlship/internal/sign"
	"github.com/mlship/mlship/internal/spec"
)

// maxExamplesLayer bounds a per-example results layer diff reads.
const maxExamplesLayer = 64 << 20

// File changes in a diff.
const (
	ChangeAdded   = "added"
	ChangeRemoved = "removed"
	ChangeChanged = "changed"
)

// DiffRequest is `mlship diff REF_A REF_B`.
type DiffRequest struct {
	A, B string
	// Repository rewrites bare tags and digests onto it.
	Repository string
	// SpecDir gives the metric directions and the bootstrap settings.
	SpecDir string
	// ExamplesA and ExamplesB are per-example results files of A and B;
	// without them diff looks for an examples layer in each artifact.
	ExamplesA, ExamplesB string
	// Policy, when it names a signer (or SpecDir's signing section does),
	// verifies each side's eval metrics as ls --metrics does.
	Policy   PolicyRequest
	Registry []oci.Option
}

// DiffResult is what `mlship diff --output json` prints; the contract is
// in docs/registry.md.
type DiffResult struct {
	A DiffSide `json:"a"`
	B DiffSide `json:"b"`
	// Files are the files added, removed or changed from A to B.
	Files     []FileChange `json:"files"`
	Unchanged int          `json:"unchangedFiles"`
	// Metrics are the eval metrics of either side, with B − A.
	Metrics []MetricDelta `json:"metrics"`
	// Lineage is every lineage field either side records.
	Lineage []LineageDelta `json:"lineage"`
	Notes   []string       `json:"notes,omitempty"`
}

// DiffSide is one of the two artifacts.
type DiffSide struct {
	Ref     string `json:"ref"`
	Digest  string `json:"digest"`
	Version string `json:"version,omitempty"`
	Created string `json:"created,omitempty"`
	// Card says whether its MODEL_CARD.md was read (lineage beyond the
	// manifest comes from it).
	Card bool `json:"card"`
	// Eval says whether an eval attestation was read.
	Eval bool `json:"eval"`
	// Verified is true when a policy was given and the side's metrics are
	// its verified eval attestation's; Verification says why (not).
	Verified     bool   `json:"verified"`
	Verification string `json:"verification"`
}

// FileChange is one file that differs.
type FileChange struct {
	Path    string `json:"path"`
	Change  string `json:"change"`
	Role    string `json:"role,omitempty"`
	DigestA string `json:"digestA,omitempty"`
	DigestB string `json:"digestB,omitempty"`
	SizeA   *int64 `json:"sizeA,omitempty"`
	SizeB   *int64 `json:"sizeB,omitempty"`
}

// MetricDelta is one metric on both sides.
type MetricDelta struct {
	Metric    string   `json:"metric"`
	A         *float64 `json:"a"`
	B         *float64 `json:"b"`
	Delta     *float64 `json:"delta,omitempty"`
	Direction string   `json:"direction,omitempty"`
	// Verdict is better, worse or same (by direction), changed (no
	// direction), or missing (one side lacks it).
	Verdict string `json:"verdict"`
	// CI is the paired bootstrap interval of the mean per-example B − A,
	// when both sides have per-example results for the metric.
	CI *eval.CI `json:"ci,omitempty"`
}

// LineageDelta is one lineage field on both sides.
type LineageDelta struct {
	Field   string `json:"field"`
	A       any    `json:"a"`
	B       any    `json:"b"`
	Changed bool   `json:"changed"`
	// Source is where the field was read: annotation, card, provenance or
	// config.
	Source string `json:"source"`
}

type diffInput struct {
	side     DiffSide
	manifest *oci.Manifest
	lineage  map[string]lineageValue
	ev       *attest.EvalResult
	examples *eval.Examples
	notes    []string
}

type lineageValue struct {
	v      any
	source string
}

// Diff compares two artifacts from their manifests, configs, model cards
// and attestations (never a weight layer): files by digest and size,
// metrics with the bootstrap CI when both have per-example results, and
// lineage.
func Diff(ctx context.Context, r *Run, req DiffRequest) (*DiffResult, error) {
	if req.A == "" || req.B == "" {
		return nil, usage(errors.New("give two references: mlship diff REF_A REF_B"))
	}
	var m *spec.Model
	if req.SpecDir != "" {
		var err error
		if m, err = spec.Load(ctx, req.SpecDir); err != nil {
			return nil, usage(fmt.Errorf("--spec %s: %w", req.SpecDir, err))
		}
	}
	pr := req.Policy
	pr.SpecDir, pr.Env = req.SpecDir, ""
	pol, _, err := versionsPolicy(ctx, r, pr, m)
	if err != nil {
		return nil, usage(err)
	}
	c := registry(r, false)
	var sides [2]*diffInput
	var errs [2]error
	refs := [2]string{ApplyRepository(req.A, req.Repository), ApplyRepository(req.B, req.Repository)}
	local := [2]string{req.ExamplesA, req.ExamplesB}
	forEach(2, func(i int) {
		sides[i], errs[i] = readDiffSide(ctx, r, c, refs[i], local[i], m, pol, req.Registry)
	})
	if err := errors.Join(errs[0], errs[1]); err != nil {
		return nil, err
	}
	a, b := sides[0], sides[1]
	res := &DiffResult{A: a.side, B: b.side, Files: []FileChange{}, Metrics: []MetricDelta{}, Lineage: []LineageDelta{}}
	res.Files, res.Unchanged = diffFiles(a.manifest, b.manifest)
	res.Metrics, res.Notes = diffMetrics(a, b, m)
	res.Lineage = diffLineage(a.lineage, b.lineage)
	for _, s := range []*diffInput{a, b} {
		for _, n := range s.notes {
			res.Notes = append(res.Notes, s.side.Ref+": "+n)
		}
	}
	return res, nil
}

func readDiffSide(ctx context.Context, r *Run, c *oci.Client, ref, examplesFile string, m *spec.Model, pol *sign.Policy, ropts []oci.Option) (*diffInput, error) {
	a, err := c.Inspect(ctx, ref, ropts...)
	if err != nil {
		return nil, err
	}
	in := &diffInput{manifest: a.Manifest, lineage: map[string]lineageValue{}}
	ann := a.Manifest.Annotations
	in.side = DiffSide{Ref: a.Ref, Digest: a.Digest, Version: ann[oci.AnnotationVersion], Created: ann[oci.AnnotationCreated]}
	set := func(field string, v any, source string) {
		if s, ok := v.(string); ok && s == "" {
			return
		}
		if v == nil {
			return
		}
		in.lineage[field] = lineageValue{v, source}
	}
	for field, key := range map[string]string{"inputDigest": oci.AnnotationInputDigest, "commit": oci.AnnotationRevision, "source": oci.AnnotationSource, "specDigest": oci.AnnotationSpecDigest, "framework": "dev.mlship.framework", "runURL": oci.AnnotationRunURL} {
		set(field, ann[key], "annotation")
	}
	if cfg := a.Config; cfg != nil {
		for k, v := range map[string]string{"architecture": cfg.Config.Architecture, "format": cfg.Config.Format, "precision": cfg.Config.Precision, "quantization": cfg.Config.Quantization, "paramSize": cfg.Config.ParamSize} {
			set("config."+k, v, "config")
		}
	}
	repo, _, _ := strings.Cut(a.Ref, "@")
	if l, ok := CardLayer(a.Manifest); ok && l.Size <= card.MaxSize {
		b, err := c.Blob(ctx, repo, l.Digest, card.MaxSize, ropts...)
		if err != nil {
			return nil, fmt.Errorf("reading the model card of %s: %w", ref, err)
		}
		cd, err := card.Parse(b)
		if err != nil {
			in.notes = append(in.notes, "model card unreadable: "+err.Error())
		} else if l := cd.Meta.MLShip; l != nil {
			in.side.Card = true
			setCardLineage(set, l)
		}
	} else {
		in.notes = append(in.notes, "no "+card.FileName+": lineage from the manifest and attestations only")
	}
	if !strings.HasPrefix(a.Ref, oci.LayoutPrefix) {
		opts := SignOptions(ctx, r, false)
		if sts, err := sign.Statements(ctx, a.Ref, attest.EvalType, opts...); err != nil {
			in.notes = append(in.notes, "reading eval attestations: "+oci.Redact(err).Error())
		} else {
			var raw []json.RawMessage
			for _, st := range sts {
				ev, err := attest.ParseEvalPredicate(st.Predicate)
				if err != nil {
					continue
				}
				raw = append(raw, st.Predicate)
				if in.ev == nil || ev.EvaluatedAt >= in.ev.EvaluatedAt {
					in.ev = ev
				}
			}
			in.side.Verified, _, in.side.Verification = verifyEval(ctx, a.Ref, raw, pol, opts)
		}
		if sts, err := sign.Statements(ctx, a.Ref, attest.ProvenanceType, opts...); err == nil && len(sts) > 0 {
			setProvenance(set, sts[len(sts)-1].Predicate)
		}
	}
	in.side.Eval = in.ev != nil
	in.examples, err = readExamples(ctx, c, repo, a.Manifest, examplesFile, m, ropts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	return in, nil
}

func setCardLineage(set func(string, any, string), l *card.Lineage) {
	set("inputDigest", l.InputDigest, "card")
	set("code", l.Code, "card")
	set("commit", l.Commit, "card")
	set("specDigest", l.SpecDigest, "card")
	set("runner", l.Runner, "card")
	if l.Seed != nil {
		set("seed", *l.Seed, "card")
	}
	for k, v := range l.Datasets {
		set("datasets."+k, v, "card")
	}
	for k, v := range l.Hyperparameters {
		set("hyperparameters."+k, normalize(v), "card")
	}
	for k, v := range l.Toolchain {
		set("toolchain."+k, v, "card")
	}
}

// normalize makes YAML and JSON numbers compare equal (200 == 200.0).
func normalize(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	}
	return v
}

// setProvenance reads the builder (the workflow that built it) and the
// resolved dependencies of an SLSA provenance predicate.
func setProvenance(set func(string, any, string), raw json.RawMessage) {
	var p struct {
		BuildDefinition struct {
			ResolvedDependencies []struct {
				URI    string            `json:"uri"`
				Name   string            `json:"name"`
				Digest map[string]string `json:"digest"`
			} `json:"resolvedDependencies"`
		} `json:"buildDefinition"`
		RunDetails struct {
			Builder struct {
				ID string `json:"id"`
			} `json:"builder"`
		} `json:"runDetails"`
	}
	if json.Unmarshal(raw, &p) != nil {
		return
	}
	set("builder", p.RunDetails.Builder.ID, "provenance")
	for _, d := range p.BuildDefinition.ResolvedDependencies {
		if g := d.Digest["gitCommit"]; g != "" {
			set("provenance.source", d.URI+"@"+g, "provenance")
			continue
		}
		name := d.Name
		if name == "" {
			name = d.URI
		}
		for alg, h := range d.Digest {
			set("provenance.input."+name, alg+":"+h, "provenance")
		}
	}
}

func diffFiles(a, b *oci.Manifest) ([]FileChange, int) {
	type f struct {
		d    oci.Descriptor
		role string
	}
	index := func(m *oci.Manifest) map[string]f {
		out := map[string]f{}
		for _, l := range m.Layers {
			p := oci.LayerPath(l)
			if p == "" {
				p = l.Digest
			}
			role, _, _ := oci.ParseLayerMediaType(l.MediaType)
			out[p] = f{l, string(role)}
		}
		return out
	}
	ia, ib := index(a), index(b)
	paths := map[string]bool{}
	for p := range ia {
		paths[p] = true
	}
	for p := range ib {
		paths[p] = true
	}
	out := []FileChange{}
	same := 0
	for _, p := range sortedSet(paths) {
		x, okA := ia[p]
		y, okB := ib[p]
		fc := FileChange{Path: p}
		if okA {
			fc.DigestA, fc.SizeA, fc.Role = x.d.Digest, &x.d.Size, x.role
		}
		if okB {
			fc.DigestB, fc.SizeB, fc.Role = y.d.Digest, &y.d.Size, y.role
		}
		switch {
		case !okA:
			fc.Change = ChangeAdded
		case !okB:
			fc.Change = ChangeRemoved
		case x.d.Digest != y.d.Digest:
			fc.Change = ChangeChanged
		default:
			same++
			continue
		}
		out = append(out, fc)
	}
	return out, same
}

func diffMetrics(a, b *diffInput, m *spec.Model) ([]MetricDelta, []string) {
	var notes []string
	if a.ev == nil || b.ev == nil {
		notes = append(notes, "metrics need an eval attestation on both sides: attest the eval result (mlship attest --eval)")
	}
	names := map[string]bool{}
	dirs := map[string]string{}
	for _, s := range []*diffInput{a, b} {
		if s.ev == nil {
			continue
		}
		for k := range s.ev.Metrics {
			names[k] = true
		}
		for k, th := range s.ev.Thresholds {
			if th.Direction != "" {
				dirs[k] = th.Direction
			}
		}
	}
	if m != nil && m.Eval != nil {
		for k, mm := range m.Eval.Metrics {
			if mm.Direction != "" {
				dirs[k] = mm.Direction
			}
		}
	}
	bs := bootstrapSettings(m, b.ev)
	if (a.examples == nil) != (b.examples == nil) {
		notes = append(notes, "per-example results on one side only: no confidence intervals")
	}
	out := []MetricDelta{}
	for _, k := range sortedSet(names) {
		d := MetricDelta{Metric: k, Direction: dirs[k]}
		if a.ev != nil {
			if v, ok := a.ev.Metrics[k]; ok {
				d.A = &v
			}
		}
		if b.ev != nil {
			if v, ok := b.ev.Metrics[k]; ok {
				d.B = &v
			}
		}
		d.Verdict = "missing"
		if d.A != nil && d.B != nil {
			delta := *d.B - *d.A
			d.Delta = &delta
			d.Verdict = verdict(delta, d.Direction)
		}
		if a.examples != nil && b.examples != nil {
			cur, base := eval.Pair(b.examples, a.examples, k)
			if len(cur) > 0 {
				if ci, err := eval.PairedBootstrap(cur, base, bs.Samples, bs.Confidence, bs.Seed); err == nil {
					d.CI = &ci
				}
			}
		}
		out = append(out, d)
	}
	return out, notes
}

func diffLineage(a, b map[string]lineageValue) []LineageDelta {
	fields := map[string]bool{}
	for k := range a {
		fields[k] = true
	}
	for k := range b {
		fields[k] = true
	}
	out := []LineageDelta{}
	for _, k := range sortedSet(fields) {
		x, okA := a[k]
		y, okB := b[k]
		d := LineageDelta{Field: k}
		if okA {
			d.A, d.Source = x.v, x.source
		}
		if okB {
			d.B, d.Source = y.v, y.source
		}
		d.Changed = okA != okB || fmt.Sprint(x.v) != fmt.Sprint(y.v)
		out = append(out, d)
	}
	return out
}
